package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.learn.Holdout;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.Candidate;
import dev.streamtune.core.records.Decision;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Sample;
import dev.streamtune.core.records.TrainingSummary;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestKafka;
import dev.streamtune.core.testing.TestModels;
import dev.streamtune.evaluator.EvaluatorConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The gate on a real broker and store: a failed training on {@code candidates} is skipped without a verdict, a candidate that
 * cannot be scored is rejected with the reason and the gate goes on, and a candidate with a label the champion lacks is scored
 * (the champion answers those samples wrong) instead of crashing the gate.
 */
class GateWorkerIT {
  private static final Topics TOPICS = Topics.withDefaultPrefix();
  private static final Instant T0 = Instant.parse("2026-03-01T00:00:00Z");
  private static final Instant SHIFT = T0.plusSeconds(600);
  private static final TrainingSummary SUMMARY = new TrainingSummary("test", 1, Map.of(), Map.of(), T0, T0, 1, 64, "pool2",
      List.of("fc", "head"), 1e-3, 0.5, "cpu", 1);
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
  void shouldSkipAFailedTrainingAndScoreACandidateWithANewLabelAgainstAChampionWithout() throws Exception {
    Path storeDir = TestData.tempDir("store");
    DirectoryModelStore store = new DirectoryModelStore(storeDir);
    Manifest base = TestModels.storeBase(store, "fashion", 1_000);
    List<String> eleven = new ArrayList<>(FashionMnist.LABELS);
    eleven.add("Hat");
    Manifest grown = store.save("fashion", elevenClassCnn(), Networks.spec(28,
        eleven, "pool2"), base.version(), SUMMARY, Map.of());
    MultiLayerNetwork champion = store.load("fashion", base.version(), base.sha256()).network().multiLayer();
    // a candidate whose spec does not fit its network (28x28 images into a CNN built for 32x32): scoring it throws
    Manifest misfit = store.save("fashion", Networks.cnn(32, 10, 1e-3, 6), Networks.spec(28, FashionMnist.LABELS, "pool2"),
        base.version(), SUMMARY, Map.of());

    // held-out samples: 100 before the shift (guard), 120 old-class and 40 "Hat" ones after it (recent)
    FashionMnist.Split test = TestData.test();
    List<Sample> recent = new ArrayList<>();
    try (KafkaProducer<String, Sample> samples = KafkaSupport.producer(bootstrap, "gate-it-s", TOPICS.samples)) {
      int i = 0;
      int n = 0;
      while (n < 260) {
        String id = "held-" + i;
        if (Holdout.isHeldOut(id, 0.2)) {
          boolean after = n >= 100;
          String label = n >= 220 ? "Hat" : FashionMnist.LABELS.get(test.labels()[i]);
          Sample s = Sample.of(id, label, after ? "night" : "clean", "it", (after ? SHIFT : T0).plusMillis(n),
              Images.toPng(test.images()[i], 28, 28));
          samples.send(new ProducerRecord<>(TOPICS.samples.name(), id, s));
          if (after) {
            recent.add(s);
          }
          n++;
        }
        i++;
      }
    }
    try (KafkaProducer<String, DriftSignal> drift = KafkaSupport.producer(bootstrap, "gate-it-d", TOPICS.drift);
        KafkaProducer<String, Candidate> candidates = KafkaSupport.producer(bootstrap, "gate-it-c", TOPICS.candidates)) {
      drift.send(new ProducerRecord<>(TOPICS.drift.name(), "fashion", new DriftSignal(Versioned.CURRENT, "fashion",
          base.version(), DriftSignal.Kind.PERFORMANCE, "page-hinkley", 60, 50, 300, SHIFT, SHIFT, 0.8, 0.5))).get();
      candidates.send(new ProducerRecord<>(TOPICS.candidates.name(), "fashion", Candidate.failed("fashion", base.version(),
          SUMMARY, T0, "nan-loss: fine-tune diverged"))).get();
      // hostile model names: another model's candidate, for this gate (no path, tag or state takes the name)
      for (String hostile : List.of("../outside/fashion", "fa\u0000shion")) {
        candidates.send(new ProducerRecord<>(TOPICS.candidates.name(), "fashion", new Candidate(Versioned.CURRENT, hostile,
            grown.version(), "file:/x", grown.sha256(), base.version(), SUMMARY, T0))).get();
      }
      candidates.send(new ProducerRecord<>(TOPICS.candidates.name(), "fashion", new Candidate(Versioned.CURRENT, "fashion",
          misfit.version(), store.uri("fashion", misfit.version()), misfit.sha256(), base.version(), SUMMARY, T0))).get();
      candidates.send(new ProducerRecord<>(TOPICS.candidates.name(), "fashion", new Candidate(Versioned.CURRENT, "fashion",
          grown.version(), store.uri("fashion", grown.version()), grown.sha256(), base.version(), SUMMARY, T0))).get();
    }

    EvaluatorConfig cfg = EvaluatorConfig.from(Settings.of(Map.of("streamtune.bootstrap", bootstrap, "streamtune.store.dir",
        storeDir.toString(), "streamtune.evaluator.application-id", "gate-it")));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    GateWorker worker = new GateWorker(cfg, new DirectoryModelStore(storeDir), registry, Clock.systemUTC());
    Thread t = new Thread(worker, "gate-it");
    t.start();
    try {
      List<Decision> decisions = decisions(grown.version(), Duration.ofSeconds(90));

      assertThat(decisions).as("one verdict per trained candidate, none for the failed training").hasSize(2);
      Decision broken = decisions.get(0);
      assertThat(broken.candidate().version()).isEqualTo(misfit.version());
      assertThat(broken.verdict()).isEqualTo(Decision.Verdict.REJECT);
      assertThat(broken.reason()).startsWith("candidate could not be scored: ");
      Decision d = decisions.get(1);
      assertThat(d.candidate().version()).isEqualTo(grown.version());
      assertThat(d.recentSamples()).as("the 'Hat' samples are scored, not dropped").isEqualTo(160);
      assertThat(d.champion().recentAccuracy()).as("the champion answers every 'Hat' sample wrong")
          .isCloseTo(championAccuracy(champion, recent), org.assertj.core.data.Offset.offset(1e-9));
      String from = Integer.toString(base.version());
      assertThat(registry.get(EvaluatorMeters.GATE_FAILED_CANDIDATES).tags("model", "fashion", "version", from).counter().count())
          .isEqualTo(1.0);
      assertThat(registry.get(EvaluatorMeters.GATE_DECISIONS).tags("version", from, "verdict", "reject").counter().count())
          .as("both verdicts counted on the champion they challenged").isEqualTo(d.verdict() == Decision.Verdict.REJECT ? 2 : 1);
      // the last verdict's scores, as gauges: both models on the same samples
      assertThat(registry.get(EvaluatorMeters.GATE_ACCURACY).tags("role", "champion", "set", "recent").gauge().value())
          .isEqualTo(d.champion().recentAccuracy());
      assertThat(registry.get(EvaluatorMeters.GATE_ACCURACY).tags("role", "candidate", "set", "guard").gauge().value())
          .isEqualTo(d.candidate().guardAccuracy());
      assertThat(registry.get(EvaluatorMeters.GATE_CANDIDATE).gauge().value()).isEqualTo(grown.version());
      assertThat(registry.get(GateWorker.OTHER_MODELS).counter().count()).isEqualTo(2.0);
      assertThat(registry.getMeters()).as("no meter tagged with a name from a record")
          .noneMatch(m -> m.getId().getTags().stream().anyMatch(tag -> tag.getValue().contains("outside")
              || tag.getValue().contains("\u0000")));
    } finally {
      worker.stop();
      t.join(10_000);
    }
  }

  /** Right answers of a 10-label champion over all recent samples: a label it does not know is never right. */
  private static double championAccuracy(MultiLayerNetwork champion, List<Sample> recent) {
    List<float[]> px = new ArrayList<>();
    for (Sample s : recent) {
      px.add(Images.decode(s.image(), 28, 28));
    }
    int[] pred = Networks.argMax(champion.output(Images.batch(px, 28, 28)));
    int ok = 0;
    for (int i = 0; i < pred.length; i++) {
      ok += FashionMnist.LABELS.indexOf(recent.get(i).label()) == pred[i] ? 1 : 0;
    }
    assertThat(ok).as("the champion gets some old-class samples right").isPositive();
    return ok / (double) pred.length;
  }

  /** The CNN with 11 outputs (untrained: the gate's scoring, not its verdict, is under test). */
  private static MultiLayerNetwork elevenClassCnn() {
    return Networks.cnn(28, 11, 1e-3, 5);
  }

  /**
   * Final verdicts until the one on {@code version}, and any published within a second after it (a verdict on the failed
   * training would be).
   */
  private static List<Decision> decisions(int version, Duration wait) {
    return TestKafka.read(bootstrap, TOPICS.decisions.name(), wait, Duration.ofSeconds(1), r -> {
      Decision d = Json.fromBytes(r.value(), Decision.class);
      return d.candidate().version() == version && d.verdict() != Decision.Verdict.NOT_ENOUGH_DATA;
    }).stream().map(r -> Json.fromBytes(r.value(), Decision.class))
        .filter(d -> d.verdict() != Decision.Verdict.NOT_ENOUGH_DATA).toList();
  }
}
