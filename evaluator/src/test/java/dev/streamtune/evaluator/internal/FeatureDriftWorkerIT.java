package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestKafka;
import dev.streamtune.core.testing.TestModels;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.FeatureDrift;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The label-free feature check end to end on a real broker: served images on {@code inputs}, clean then shifted, give exactly
 * one {@code feature-ks} DATA signal on {@code drift} for the base model, after the shift; an input that is not an image goes
 * to {@code records.rejected} and the check goes on.
 */
class FeatureDriftWorkerIT {
  private static final Topics TOPICS = Topics.withDefaultPrefix();
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  private static EmbeddedKafkaBroker broker;
  private static String bootstrap;

  @BeforeAll
  static void startBroker() {
    broker = TestKafka.startWith(TOPICS);
    bootstrap = broker.bootstrapServers();
  }

  @AfterAll
  static void stopBroker() {
    broker.close();
  }

  @Test
  void shouldSignalDataDriftOnceTheServedInputsShift() throws Exception {
    Path store = TestData.tempDir("store");
    TestModels.storeBase(new DirectoryModelStore(store), "fashion", 1000);
    EvaluatorConfig cfg = EvaluatorConfig.from(Settings.of(Map.of("streamtune.bootstrap", bootstrap, "streamtune.store.dir",
        store.toString(), "streamtune.evaluator.application-id", "features-it", "streamtune.evaluator.features.sample-every", "1",
        "streamtune.evaluator.features.reference", "200", "streamtune.evaluator.features.recent", "100")));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FeatureDriftWorker worker = new FeatureDriftWorker(cfg, new DirectoryModelStore(store), registry, new LiveAccuracy(registry),
        Clock.systemUTC());
    Thread t = new Thread(worker, "features-it");
    t.start();
    try {
      float[][] images = TestData.test().images();
      try (KafkaProducer<String, byte[]> p = KafkaSupport.producer(bootstrap, "it-inputs", TOPICS.inputs)) {
        for (int i = 0; i < 400; i++) {
          p.send(new ProducerRecord<>(TOPICS.inputs.name(), "clean-" + i, Images.toPng(images[i], 28, 28)));
        }
        p.send(new ProducerRecord<>(TOPICS.inputs.name(), "not-an-image", "hello".getBytes(StandardCharsets.UTF_8)));
        p.flush();
        assertThat(drift(Duration.ofSeconds(8))).as("no signal on clean inputs").isEmpty();
        for (int i = 400; i < 700; i++) {
          float[] shifted = Corruption.parse("invert").apply(images[i], 28, i);
          p.send(new ProducerRecord<>(TOPICS.inputs.name(), "shifted-" + i, Images.toPng(shifted, 28, 28))).get(30,
              TimeUnit.SECONDS);
        }
      }
      List<DriftSignal> signals = drift(PATIENCE);
      assertThat(signals).hasSize(1);
      DriftSignal d = signals.get(0);
      assertThat(d.kind()).isEqualTo(DriftSignal.Kind.DATA);
      assertThat(d.detector()).isEqualTo(FeatureDrift.NAME);
      assertThat(d.version()).isEqualTo(1);
      assertThat(d.statistic()).isGreaterThan(d.threshold());
      assertThat(rejectedKeys()).contains("not-an-image");
      assertThat(registry.get("streamtune.evaluator.features.sampled").counter().count()).isGreaterThanOrEqualTo(600);
      // the last test is exported: its D against the critical D, its p-value and the recent inputs it compared (of the 100
      // in the window, those of a class with enough reference inputs)
      assertThat(registry.get("streamtune.evaluator.detector.window").tags("version", "1", "detector", FeatureDrift.NAME).gauge()
          .value()).isBetween(50.0, 100.0);
      assertThat(registry.get("streamtune.evaluator.detector.pvalue").tags("version", "1", "detector", FeatureDrift.NAME).gauge()
          .value()).isBetween(0.0, 1.0);
    } finally {
      worker.stop();
      t.join(10_000);
    }
  }

  /** Drift signals on the topic after waiting up to {@code wait} for the first one (and briefly for more). */
  private static List<DriftSignal> drift(Duration wait) {
    List<DriftSignal> out = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> r : readAll(TOPICS.drift.name(), wait)) {
      out.add(Json.fromBytes(r.value(), DriftSignal.class));
    }
    return out;
  }

  private static List<String> rejectedKeys() {
    return readAll(TOPICS.recordsRejected.name(), PATIENCE).stream().map(ConsumerRecord::key).toList();
  }

  private static List<ConsumerRecord<String, byte[]>> readAll(String topic, Duration wait) {
    return TestKafka.read(bootstrap, topic, wait, Duration.ofSeconds(3), r -> true);
  }
}
