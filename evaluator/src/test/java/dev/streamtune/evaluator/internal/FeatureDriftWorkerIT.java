package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.learn.Holdout;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.LabellingRequest;
import dev.streamtune.core.records.Sample;
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
 * one {@code feature-ks} DATA signal on {@code drift} for the base model, after the shift; an input that is not an image is
 * skipped and counted (ingest rejects it) and the check goes on. The labelling queue rides on the same thread: it asks for labels of clean
 * inputs while nothing drifts, and once the alarm's onset is known, for the shifted ones first.
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
        "streamtune.evaluator.features.reference", "200", "streamtune.evaluator.features.recent", "100",
        "streamtune.evaluator.labelling.budget-per-minute", "600", "streamtune.evaluator.labelling.interval", "1s",
        "streamtune.evaluator.labelling.reference", "200")));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FeatureDriftWorker worker = new FeatureDriftWorker(cfg, new DirectoryModelStore(store), registry, new LiveAccuracy(registry),
        Clock.systemUTC());
    Thread t = new Thread(worker, "features-it");
    t.start();
    try {
      float[][] images = TestData.test().images();
      int[] labels = TestData.test().labels();
      double estimate;
      // labelled clean samples, of which the held-out ones calibrate the accuracy estimate
      int heldOut = 0;
      try (KafkaProducer<String, Sample> p = KafkaSupport.producer(bootstrap, "it-samples", TOPICS.samples)) {
        for (int i = 2_000; heldOut < AccuracyEstimate.REFERENCE; i++) {
          String id = "ref-" + i;
          heldOut += Holdout.isHeldOut(id, cfg.common().holdoutShare()) ? 1 : 0;
          p.send(new ProducerRecord<>(TOPICS.samples.name(), id, new Sample(Versioned.CURRENT, id,
              FashionMnist.LABELS.get(labels[i]), "clean", "test", java.time.Instant.now(), Images.toPng(images[i], 28, 28))));
        }
      }
      try (KafkaProducer<String, byte[]> p = KafkaSupport.producer(bootstrap, "it-inputs", TOPICS.inputs)) {
        for (int i = 0; i < 400; i++) {
          p.send(new ProducerRecord<>(TOPICS.inputs.name(), "clean-" + i, Images.toPng(images[i], 28, 28)));
        }
        p.send(new ProducerRecord<>(TOPICS.inputs.name(), "not-an-image", "hello".getBytes(StandardCharsets.UTF_8)));
        p.flush();
        assertThat(drift(Duration.ofSeconds(8))).as("no signal on clean inputs").isEmpty();
        // before any label of these inputs: the estimate of the champion's accuracy on them, against the truth
        estimate = registry.get(EvaluatorMeters.ACCURACY_ESTIMATE).tags("version", "1").gauge().value();
        assertThat(registry.get(EvaluatorMeters.ACCURACY_ESTIMATE_TRUSTED).tags("version", "1").gauge().value()).isEqualTo(1.0);
        double truth = TestModels.accuracy(new DirectoryModelStore(store).load("fashion", 1, null).network().multiLayer(),
            TestData.test(), 100, 400);
        assertThat(estimate).as("estimated accuracy on the last 300 clean inputs, true %.3f", truth).isCloseTo(truth,
            org.assertj.core.api.Assertions.within(0.08));
        assertThat(registry.get(EvaluatorMeters.ACCURACY_ESTIMATE_DISTANCE).tags("version", "1").gauge().value())
            .as("clean inputs lie as near the held-out reference as its samples lie to each other")
            .isLessThan(dev.streamtune.core.learn.ShiftAwareEstimate.UNFAMILIAR);
        // two windows' worth: the estimate is held to the class prior once its window has read unlike the reference for a
        // whole window in a row
        for (int i = 400; i < 400 + 2 * AccuracyEstimate.WINDOW; i++) {
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
      double shiftedTruth = accuracyOnInverted(store, 400 + AccuracyEstimate.WINDOW, 400 + 2 * AccuracyEstimate.WINDOW);
      int sent = 400 + 2 * AccuracyEstimate.WINDOW;
      long deadline = System.nanoTime() + PATIENCE.toNanos();
      while (registry.get("streamtune.evaluator.features.sampled").counter().count() < sent && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      double shiftedEstimate = registry.get(EvaluatorMeters.ACCURACY_ESTIMATE).tags("version", "1").gauge().value();
      double distance = registry.get(EvaluatorMeters.ACCURACY_ESTIMATE_DISTANCE).tags("version", "1").gauge().value();
      System.out.printf("accuracy estimate: clean %.3f, inverted %.3f (true %.3f, distance ratio %.2f)%n", estimate,
          shiftedEstimate, shiftedTruth, distance);
      // the inverted inputs lie far from the reference, so the estimate is held to the class prior: a model that answers most
      // of them as one class with confidence is right on at most that class's share
      assertThat(distance).isGreaterThan(dev.streamtune.core.learn.ShiftAwareEstimate.UNFAMILIAR);
      assertThat(shiftedEstimate).as("the plain confidence-based estimate read 0.68 here").isCloseTo(shiftedTruth,
          org.assertj.core.api.Assertions.within(0.10));
      // ...so once the drift is signalled the estimate says it is no longer to be trusted
      long until = System.nanoTime() + PATIENCE.toNanos();
      while (registry.get(EvaluatorMeters.ACCURACY_ESTIMATE_TRUSTED).tags("version", "1").gauge().value() != 0
          && System.nanoTime() < until) {
        Thread.sleep(200);
      }
      assertThat(registry.get(EvaluatorMeters.ACCURACY_ESTIMATE_TRUSTED).tags("version", "1").gauge().value()).isZero();
      // ingest is the inputs topic's rejecter: the worker skips the undecodable input and counts it
      assertThat(registry.counter(RejectedRecords.SKIPPED, "topic", TOPICS.inputs.name()).count()).isEqualTo(1);
      assertThat(registry.get("streamtune.evaluator.features.sampled").counter().count()).isGreaterThanOrEqualTo(sent);
      // the last test is exported: its D against the critical D, its p-value and the recent inputs it compared (of the 100
      // in the window, those of a class with enough reference inputs)
      assertThat(registry.get("streamtune.evaluator.detector.window").tags("version", "1", "detector", FeatureDrift.NAME).gauge()
          .value()).isBetween(50.0, 100.0);
      assertThat(registry.get("streamtune.evaluator.detector.pvalue").tags("version", "1", "detector", FeatureDrift.NAME).gauge()
          .value()).isBetween(0.0, 1.0);
      assertLabellingQueue(registry, d);
    } finally {
      worker.stop();
      t.join(10_000);
    }
  }

  /**
   * The queue asked for clean inputs while nothing drifted, and after the alarm for shifted ones, in the drift region; shifted
   * inputs are more novel than clean ones; every request carries the image as served and the champion's answer.
   */
  private static void assertLabellingQueue(SimpleMeterRegistry registry, DriftSignal alarm) throws Exception {
    Thread.sleep(3_000); // a few more rounds after the alarm
    List<LabellingRequest> requests = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> r : readAll(TOPICS.labellingRequests.name(), PATIENCE)) {
      LabellingRequest q = Json.fromBytes(r.value(), LabellingRequest.class);
      assertThat(q.predictionId()).isEqualTo(r.key());
      requests.add(q);
    }
    assertThat(requests).isNotEmpty();
    assertThat(registry.get(LabellingQueue.REQUESTS).tags("version", "1").counter().count()).as("published, some after the read").isGreaterThanOrEqualTo(requests.size());
    for (LabellingRequest q : requests) {
      assertThat(q.version()).isEqualTo(1);
      assertThat(q.topK()).hasSize(3);
      assertThat(q.priority()).isBetween(0.0, 3.0);
      assertThat(FashionMnist.LABELS).contains(q.predictedLabel());
      assertThat(Images.decode(q.image(), 28, 28)).hasSize(28 * 28);
    }
    List<LabellingRequest> clean = requests.stream().filter(q -> q.predictionId().startsWith("clean-")).toList();
    List<LabellingRequest> inDrift = requests.stream().filter(LabellingRequest::driftRegion).toList();
    assertThat(clean).as("requests while the traffic was clean").hasSizeGreaterThanOrEqualTo(20);
    assertThat(clean).noneMatch(LabellingRequest::driftRegion);
    assertThat(inDrift).as("requests after the alarm's onset " + alarm.onset()).isNotEmpty()
        .allMatch(q -> q.predictionId().startsWith("shifted-") && q.priority() >= 2);
    List<LabellingRequest> shifted = requests.stream().filter(q -> q.predictionId().startsWith("shifted-")
        && !Double.isNaN(q.novelty())).toList();
    double cleanNovelty = clean.stream().filter(q -> !Double.isNaN(q.novelty())).mapToDouble(LabellingRequest::novelty)
        .average().orElseThrow();
    double shiftedNovelty = shifted.stream().mapToDouble(LabellingRequest::novelty).average().orElseThrow();
    System.out.printf("labelling queue: %d requests (%d clean, %d shifted, %d in the drift region); mean novelty clean %.3f, "
        + "shifted %.3f%n", requests.size(), clean.size(), shifted.size(), inDrift.size(), cleanNovelty, shiftedNovelty);
    assertThat(shiftedNovelty).isGreaterThan(cleanNovelty + 0.1);
  }

  private static double accuracyOnInverted(Path store, int from, int to) {
    var net = new DirectoryModelStore(store).load("fashion", 1, null).network().multiLayer();
    float[][] images = TestData.test().images();
    int right = 0;
    for (int i = from; i < to; i++) {
      float[] x = Corruption.parse("invert").apply(images[i], 28, i);
      int predicted = Networks.argMax(net.output(org.nd4j.linalg.factory.Nd4j.create(x, new long[] {1, 1, 28, 28}, 'c')))[0];
      right += predicted == TestData.test().labels()[i] ? 1 : 0;
    }
    return right / (double) (to - from);
  }

  /** Drift signals on the topic after waiting up to {@code wait} for the first one (and briefly for more). */
  private static List<DriftSignal> drift(Duration wait) {
    List<DriftSignal> out = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> r : readAll(TOPICS.drift.name(), wait)) {
      out.add(Json.fromBytes(r.value(), DriftSignal.class));
    }
    return out;
  }

  private static List<ConsumerRecord<String, byte[]>> readAll(String topic, Duration wait) {
    return TestKafka.read(bootstrap, topic, wait, Duration.ofSeconds(3), r -> true);
  }
}
