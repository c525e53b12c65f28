package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.Candidate;
import dev.streamtune.core.records.Decision;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.ModelScore;
import dev.streamtune.core.records.Sample;
import dev.streamtune.core.records.TrainingSummary;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import dev.streamtune.trainer.internal.TrainerMeters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The trainer service against a real in-process KRaft broker, a real model store and real DL4J models: samples and drift
 * signals are written to the topics directly, candidates read back from {@code candidates}.
 */
class TrainerServiceIT {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final Instant T0 = Instant.parse("2026-03-01T00:00:00Z");
  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void start() {
    broker = EmbeddedKafkaBroker.builder().port(0).dataDir(null).build();
    broker.start();
  }

  @AfterAll
  static void stop() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldPublishAFailedTrainingOnACorruptCacheKeepTheChampionAndTrainAgainAfterwards() throws Exception {
    String model = "fails";
    Topics topics = new Topics("it-fail.");
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("store"));
    Manifest base = TestModels.storeBase(store, model, 2_000);
    Path cacheDir = TestData.tempDir("cache");
    try (TrainerService trainer = trainer(topics, store, model, cacheDir);
        KafkaProducer<String, Sample> samples = KafkaSupport.producer(broker.bootstrapServers(), "it-fail-s", topics.samples);
        KafkaProducer<String, DriftSignal> drift = KafkaSupport.producer(broker.bootstrapServers(), "it-fail-d", topics.drift);
        KafkaConsumer<String, byte[]> reader = reader(topics)) {
      sendTrain(samples, topics, "fail-", 20_000, 0, 400);
      awaitRunning(trainer);

      drift.send(new ProducerRecord<>(topics.drift.name(), model, signal(model, base.version()))).get();
      Candidate first = awaitCandidates(reader, 1).get(0);
      assertThat(first.failure()).isNull();
      assertThat(first.training().cachedFeatureHits()).isZero();

      // the cache holds 1 MB in memory, the rest of the ~320 entries went to disk: corrupt one spilled file
      Path spilled;
      try (Stream<Path> files = Files.walk(cacheDir)) {
        spilled = files.filter(f -> f.toString().endsWith(".f32")).findFirst().orElseThrow();
      }
      byte[] bytes = Files.readAllBytes(spilled);
      bytes[bytes.length / 2] ^= 0x10;
      Files.write(spilled, bytes);
      List<Integer> versionsBefore = store.versions(model);
      awaitIdle(trainer);

      drift.send(new ProducerRecord<>(topics.drift.name(), model, signal(model, base.version()))).get();
      Candidate failed = awaitCandidates(reader, 2).get(1);

      assertThat(failed.failure()).startsWith("corrupt-cache: ").contains("checksum");
      assertThat(failed.version()).isZero();
      assertThat(failed.storeUri()).isEmpty();
      assertThat(failed.parentVersion()).isEqualTo(base.version());
      assertThat(failed.training().samples()).isEqualTo(first.training().samples());
      assertThat(store.versions(model)).as("nothing stored for a failed training").isEqualTo(versionsBefore);
      assertThat(trainer.registry().counter(TrainerMeters.FAILURES, "model", model, "version", Integer.toString(base.version()),
          "reason", "corrupt-cache").count())
          .isEqualTo(1.0);
      assertThat(trainer.registry().counter(TrainerMeters.FAILURES, "model", model, "version",
          Integer.toString(base.version()), "reason", "nan-loss").count()).isZero();
      assertThat(trainer.state()).isEqualTo(ServiceState.RUNNING);
      awaitIdle(trainer);

      drift.send(new ProducerRecord<>(topics.drift.name(), model, signal(model, base.version()))).get();
      Candidate again = awaitCandidates(reader, 3).get(2);

      assertThat(again.failure()).as("the retrain after the failure").isNull();
      assertThat(again.version()).isGreaterThan(first.version());
      assertThat(again.training().cachedFeatureHits()).as("the recomputed entry is whole now").isEqualTo(
          again.training().samples());
      assertThat(store.load(model, again.version(), again.sha256()).network()).isNotNull();
      assertThat(trainer.state()).isEqualTo(ServiceState.RUNNING);
    }
  }

  @Test
  void shouldPseudoLabelServedInputsThatGotNoLabelAndSaySoInTheCandidate() throws Exception {
    String model = "pseudo";
    Topics topics = new Topics("it-pseudo.");
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("store"));
    Manifest base = TestModels.storeBase(store, model, 2_000);
    try (TrainerService trainer = trainer(topics, store, model, TestData.tempDir("cache"),
        Map.of(PseudoLabels.KEY, "0.3", PseudoLabels.PRECISION_KEY, "0.5"));
        KafkaProducer<String, Sample> samples = KafkaSupport.producer(broker.bootstrapServers(), "it-pseudo-s", topics.samples);
        KafkaProducer<String, byte[]> inputs = KafkaSupport.producer(broker.bootstrapServers(), "it-pseudo-i", topics.inputs);
        KafkaProducer<String, DriftSignal> drift = KafkaSupport.producer(broker.bootstrapServers(), "it-pseudo-d", topics.drift);
        KafkaConsumer<String, byte[]> reader = reader(topics)) {
      sendTrain(samples, topics, "pseudo-", 40_000, 0, 600);
      FashionMnist.Split train = TestData.train();
      // one served input was also labelled (a sample the trainer trains on, not held out): it trains with its label only
      String labelled = java.util.stream.IntStream.range(0, 600).mapToObj(i -> "pseudo-" + i)
          .filter(id -> !dev.streamtune.core.learn.Holdout.isHeldOut(id, 0.2)) // the default streamtune.holdout.share
          .findFirst().orElseThrow();
      for (int i = 0; i < 1_000; i++) {
        String id = i == 0 ? labelled : "served-" + i;
        inputs.send(new ProducerRecord<>(topics.inputs.name(), null, T0.plusMillis(1_000 + i).toEpochMilli(), id,
            Images.toPng(train.images()[45_000 + i], 28, 28))).get();
      }
      inputs.send(new ProducerRecord<>(topics.inputs.name(), null, T0.plusMillis(2_000).toEpochMilli(), "garbage",
          new byte[] {1, 2, 3})).get();
      awaitRunning(trainer);
      drift.send(new ProducerRecord<>(topics.drift.name(), model, signal(model, base.version()))).get();
      Candidate c = awaitCandidates(reader, 1).get(0);

      assertThat(c.failure()).isNull();
      String pseudo = c.training().pseudoLabels();
      assertThat(pseudo).as("the summary's pseudo-labels").isNotNull().contains("from 999 unlabelled inputs");
      int count = Integer.parseInt(pseudo.substring(0, pseudo.indexOf(' ')));
      assertThat(count).as(pseudo).isPositive();
      int labelledSamples = c.training().samplesByDomain().values().stream().mapToInt(Integer::intValue).sum();
      assertThat(c.training().samples()).as("labelled + pseudo-labelled").isEqualTo(labelledSamples + count);
      assertThat(trainer.registry().counter(TrainerMeters.PSEUDO_LABELS).count()).isEqualTo(count);
      assertThat(trainer.registry().counter(TrainerMeters.INPUTS_SKIPPED, "reason", "not an image of the model's input")
          .count()).isEqualTo(1.0);
    }
  }

  @Test
  void shouldRetryARejectedCandidateOnMoreNewSamples() throws Exception {
    String model = "retries";
    Topics topics = new Topics("it-retry.");
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("store"));
    Manifest base = TestModels.storeBase(store, model, 2_000);
    try (TrainerService trainer = trainer(topics, store, model, TestData.tempDir("cache"));
        KafkaProducer<String, Sample> samples = KafkaSupport.producer(broker.bootstrapServers(), "it-retry-s", topics.samples);
        KafkaProducer<String, DriftSignal> drift = KafkaSupport.producer(broker.bootstrapServers(), "it-retry-d", topics.drift);
        KafkaProducer<String, Decision> decisions = KafkaSupport.producer(broker.bootstrapServers(), "it-retry-g",
            topics.decisions);
        KafkaConsumer<String, byte[]> reader = reader(topics)) {
      sendTrain(samples, topics, "retry-", 40_000, 0, 300);
      awaitRunning(trainer);
      drift.send(new ProducerRecord<>(topics.drift.name(), model, signal(model, base.version()))).get();
      Candidate first = awaitCandidates(reader, 1).get(0);
      assertThat(first.failure()).isNull();
      awaitIdle(trainer);

      decisions.send(new ProducerRecord<>(topics.decisions.name(), model, reject(model, first.version(), base.version()))).get();
      // the retry waits for min-new-samples (200) more than the first candidate had
      sendTrain(samples, topics, "retry-", 40_000, 300, 450);
      Thread.sleep(2_000);
      assertThat(awaitCandidatesFor(reader, Duration.ofSeconds(1))).as("no retry on 150 more samples").hasSize(1);
      sendTrain(samples, topics, "retry-", 40_000, 450, 800);
      Candidate retry = awaitCandidates(reader, 2).get(1);

      assertThat(retry.failure()).isNull();
      assertThat(retry.parentVersion()).isEqualTo(base.version());
      assertThat(retry.version()).isGreaterThan(first.version());
      assertThat(retry.training().trigger()).isEqualTo(first.training().trigger());
      assertThat(retry.training().samplesByDomain().get("night")).as("new-domain samples")
          .isGreaterThanOrEqualTo(first.training().samplesByDomain().get("night") + 200);
      assertThat(trainer.registry().counter(TrainerMeters.REJECTIONS, "model", model, "version",
          Integer.toString(base.version()), "reaction", "retry").count())
          .isEqualTo(1.0);
    }
  }

  @Test
  void shouldRetryACandidateThatForgotAtOnceWithOneBlockLessUnfrozen() throws Exception {
    String model = "forgets";
    Topics topics = new Topics("it-forgot.");
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("store"));
    Manifest base = TestModels.storeBase(store, model, 2_000);
    // the freeze policy chooses (not pinned); "much data" from 1 new sample on makes its choice the deepest boundary
    Map<String, String> policy = Map.of("streamtune.trainer.freeze-boundary", "auto", "streamtune.trainer.freeze.small-data",
        "0", "streamtune.trainer.freeze.large-data", "1");
    try (TrainerService trainer = trainer(topics, store, model, TestData.tempDir("cache"), policy);
        KafkaProducer<String, Sample> samples = KafkaSupport.producer(broker.bootstrapServers(), "it-forgot-s", topics.samples);
        KafkaProducer<String, DriftSignal> drift = KafkaSupport.producer(broker.bootstrapServers(), "it-forgot-d", topics.drift);
        KafkaProducer<String, Decision> decisions = KafkaSupport.producer(broker.bootstrapServers(), "it-forgot-g",
            topics.decisions);
        KafkaConsumer<String, byte[]> reader = reader(topics)) {
      sendTrain(samples, topics, "forgot-", 40_000, 0, 300);
      awaitRunning(trainer);
      drift.send(new ProducerRecord<>(topics.drift.name(), model, signal(model, base.version()))).get();
      Candidate first = awaitCandidates(reader, 1).get(0);
      assertThat(first.failure()).isNull();
      assertThat(first.training().freezeBoundary()).isEqualTo("pool1");
      awaitIdle(trainer);

      // better on the new domain, worse on the earlier ones: it forgot; the retry needs no new sample
      decisions.send(new ProducerRecord<>(topics.decisions.name(), model, new Decision(Versioned.CURRENT, model,
          Decision.Verdict.REJECT, new ModelScore(first.version(), 0.80, 0.74), new ModelScore(base.version(), 0.50, 0.80), 300,
          300, "test", "forgets: guard accuracy drops 0.0600, more than twice the allowed 0.0200", T0))).get();
      Candidate retry = awaitCandidates(reader, 2).get(1);
      assertThat(retry.failure()).isNull();
      assertThat(retry.training().freezeBoundary()).as("one block less unfrozen").isEqualTo("pool2");
      assertThat(retry.training().freezeReason()).contains("forgot");
      assertThat(retry.training().samplesByDomain()).isEqualTo(first.training().samplesByDomain());
      awaitIdle(trainer);

      // forgetting again at pool2: head only next
      decisions.send(new ProducerRecord<>(topics.decisions.name(), model, new Decision(Versioned.CURRENT, model,
          Decision.Verdict.REJECT, new ModelScore(retry.version(), 0.78, 0.75), new ModelScore(base.version(), 0.50, 0.80), 300,
          300, "test", "forgets", T0))).get();
      Candidate third = awaitCandidates(reader, 3).get(2);
      assertThat(third.training().freezeBoundary()).isEqualTo("fc");
      assertThat(trainer.registry().counter(TrainerMeters.REJECTIONS, "model", model, "version",
          Integer.toString(base.version()), "reaction", "retry").count()).isEqualTo(2.0);
    }
  }

  @Test
  void shouldLetAStandbyTakeOverAdoptingTheCandidateOfTheActiveTrainer() throws Exception {
    String model = "standby";
    Topics topics = new Topics("it-standby.");
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("store"));
    Manifest base = TestModels.storeBase(store, model, 2_000);
    TrainerService first = trainer(topics, store, model, TestData.tempDir("cache"));
    awaitActive(first, true);
    try (TrainerService second = trainer(topics, store, model, TestData.tempDir("cache"));
        KafkaProducer<String, Sample> samples = KafkaSupport.producer(broker.bootstrapServers(), "it-standby-s", topics.samples);
        KafkaProducer<String, DriftSignal> drift = KafkaSupport.producer(broker.bootstrapServers(), "it-standby-d", topics.drift);
        KafkaProducer<String, Decision> decisions = KafkaSupport.producer(broker.bootstrapServers(), "it-standby-g",
            topics.decisions);
        KafkaConsumer<String, byte[]> reader = reader(topics)) {
      try (first) {
        sendTrain(samples, topics, "standby-", 40_000, 0, 300);
        awaitRunning(first);
        awaitRunning(second);
        assertThat(active(second)).as("one active trainer per model").isZero();
        drift.send(new ProducerRecord<>(topics.drift.name(), model, signal(model, base.version()))).get();
        Candidate c = awaitCandidates(reader, 1).get(0);
        assertThat(c.failure()).isNull();
        awaitIdle(first);
        Thread.sleep(1_000); // the standby reads the candidate
      }
      // the active trainer stopped: it left the group, the standby takes over and has nothing left to retrain for the signal
      awaitActive(second, true);
      assertThat(awaitCandidatesFor(reader, Duration.ofSeconds(3))).as("the signal was answered: no second retrain").hasSize(1);

      // a rejection of the first trainer's candidate is retried by the one that took over, on more samples
      Candidate c = seen.get(reader).get(0);
      decisions.send(new ProducerRecord<>(topics.decisions.name(), model, reject(model, c.version(), base.version()))).get();
      sendTrain(samples, topics, "standby-", 40_000, 300, 600);
      Candidate retry = awaitCandidates(reader, 2).get(1);
      assertThat(retry.parentVersion()).isEqualTo(base.version());
      assertThat(retry.version()).isGreaterThan(c.version());
      assertThat(second.registry().counter(TrainerMeters.REJECTIONS, "model", model, "version",
          Integer.toString(base.version()), "reaction", "retry").count())
          .isEqualTo(1.0);
    }
  }

  private static double active(TrainerService t) {
    return t.registry().get("streamtune.trainer.active").gauge().value();
  }

  private static void awaitActive(TrainerService t, boolean active) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while ((active(t) == 1) != active && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(active(t)).isEqualTo(active ? 1.0 : 0.0);
  }

  private static Decision reject(String model, int candidate, int champion) {
    return new Decision(Versioned.CURRENT, model, Decision.Verdict.REJECT, new ModelScore(candidate, 0.5, 0.8),
        new ModelScore(champion, 0.5, 0.8), 300, 300, "test", "gain on recent 0.0000 below the minimum 0.0200", T0);
  }

  @Test
  void shouldGrowTheHeadForAClassTheChampionHasNeverSeen() throws Exception {
    String model = "grows";
    Topics topics = new Topics("it-grow.");
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("store"));
    List<String> nine = FashionMnist.LABELS.subList(0, 9);
    Manifest base = store.save(model, nineClassCnn(), Networks.spec(28, nine, "pool2"), null, new TrainingSummary("test", 3_000,
        Map.of(), Map.of("clean", 3_000), T0, T0, 1, 64, "none", Networks.LAYERS, 1e-3, 0, Networks.device(), 0), Map.of());
    try (TrainerService trainer = trainer(topics, store, model, TestData.tempDir("cache"));
        KafkaProducer<String, Sample> samples = KafkaSupport.producer(broker.bootstrapServers(), "it-grow-s", topics.samples);
        KafkaProducer<String, DriftSignal> drift = KafkaSupport.producer(broker.bootstrapServers(), "it-grow-d", topics.drift);
        KafkaConsumer<String, byte[]> reader = reader(topics)) {
      // the new class ("Ankle boot", index 9 of Fashion-MNIST) arrives among the old ones
      sendTrain(samples, topics, "grow-", 30_000, 0, 800);
      awaitRunning(trainer);

      drift.send(new ProducerRecord<>(topics.drift.name(), model, signal(model, base.version()))).get();
      Candidate c = awaitCandidates(reader, 1).get(0);

      assertThat(c.failure()).isNull();
      LoadedModel grown = store.load(model, c.version(), c.sha256());
      List<String> ten = new ArrayList<>(nine);
      ten.add("Ankle boot");
      assertThat(grown.spec().labels()).as("old labels keep their index, the new one is appended").isEqualTo(ten);
      assertThat(HeadGrowth.labelCount(grown.network().multiLayer())).isEqualTo(10);
      assertThat(c.training().freezeReason()).contains("head grown from 9 to 10 labels (new: Ankle boot)");
      assertThat(c.training().samplesByClass()).containsKey("Ankle boot");
      FashionMnist.Split test = TestData.test();
      double boots = accuracyOn(grown.network().multiLayer(), test, 9);
      double sneakers = accuracyOn(grown.network().multiLayer(), test, 7);
      assertThat(boots).as("accuracy on the new class after one retrain").isGreaterThan(0.6);
      assertThat(sneakers).as("an old, similar class is still known").isGreaterThan(0.5);
      assertThat(trainer.registry().counter(TrainerMeters.HEAD_GROWTHS, "model", model, "version",
          Integer.toString(base.version())).count()).isEqualTo(1.0);
    }
  }

  /**
   * A label-free signal is a suspicion: labelled samples since its onset on which the champion does as well as before do not
   * arm it; once they show a drop (inverted images), the trainer retrains, and the candidate says which signal and onset.
   */
  @Test
  void shouldTrainOnALabelFreeSignalOnlyOnceLabelsConfirmADrop() throws Exception {
    String model = "suspect";
    Topics topics = new Topics("it-suspect.");
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("store"));
    Manifest base = TestModels.storeBase(store, model, 2_000);
    try (TrainerService trainer = trainer(topics, store, model, TestData.tempDir("cache"));
        KafkaProducer<String, Sample> samples = KafkaSupport.producer(broker.bootstrapServers(), "it-sus-s", topics.samples);
        KafkaProducer<String, DriftSignal> drift = KafkaSupport.producer(broker.bootstrapServers(), "it-sus-d", topics.drift);
        KafkaConsumer<String, byte[]> reader = reader(topics)) {
      sendTrain(samples, topics, "before-", 20_000, 0, 300);
      awaitRunning(trainer);
      Instant onset = T0.plusMillis(1_000);
      DriftSignal labelFree = new DriftSignal(Versioned.CURRENT, model, base.version(), DriftSignal.Kind.DATA, "confidence-ks",
          0.3, 0.2, 900, onset, onset.plusSeconds(5), Double.NaN, Double.NaN);
      drift.send(new ProducerRecord<>(topics.drift.name(), model, labelFree)).get();
      // clean labelled samples after the onset: the champion does as well as before, nothing to confirm
      sendTrain(samples, topics, "after-", 20_000, 1_000, 1_250);
      assertThat(awaitCandidatesFor(reader, Duration.ofSeconds(6))).as("no retrain on an unconfirmed suspicion").isEmpty();

      FashionMnist.Split train = TestData.train();
      for (int i = 1_250; i < 1_550; i++) {
        send(samples, topics, "inverted-" + i, FashionMnist.LABELS.get(train.labels()[20_000 + i]),
            Corruption.INVERT.apply(train.images()[20_000 + i], 28, i), i);
      }
      Candidate c = awaitCandidates(reader, 1).get(0);
      assertThat(c.failure()).isNull();
      assertThat(c.signal()).as("the candidate says which alarm it answers").isEqualTo(labelFree);
      assertThat(c.signal().onset()).isEqualTo(onset);
      assertThat(c.training().samplesByDomain()).isNotEmpty();
      String v = Integer.toString(base.version());
      for (String[] expected : new String[][] {{"suspected", "1"}, {"confirmed", "1"}, {"dismissed", "0"}}) {
        assertThat(trainer.registry().counter(TrainerMeters.SUSPICIONS, "model", model, "version", v, "outcome", expected[0])
            .count()).as(expected[0]).isEqualTo(Double.parseDouble(expected[1]));
      }
    }
  }

  private static TrainerService trainer(Topics topics, DirectoryModelStore store, String model, Path cacheDir) {
    return trainer(topics, store, model, cacheDir, Map.of());
  }

  private static TrainerService trainer(Topics topics, DirectoryModelStore store, String model, Path cacheDir,
      Map<String, String> overrides) {
    Map<String, String> s = new HashMap<>();
    s.put(CommonConfig.BOOTSTRAP, broker.bootstrapServers());
    s.put(CommonConfig.STORE_DIR, store.root().toString());
    s.put(CommonConfig.MODEL, model);
    s.put(CommonConfig.TOPIC_PREFIX, topics.prefix());
    s.put("streamtune.trainer.port", "0");
    s.put("streamtune.trainer.group-id", model + "-trainer");
    s.put("streamtune.trainer.min-new-samples", "200");
    s.put("streamtune.trainer.cooldown", "0s");
    s.put("streamtune.trainer.freeze-boundary", "pool2");
    s.put("streamtune.trainer.epochs", "3");
    s.put("streamtune.trainer.cache.dir", cacheDir.toString());
    s.put("streamtune.trainer.cache.max-mb", "1");
    s.putAll(overrides);
    TrainerService t = new TrainerService(TrainerConfig.from(Settings.of(s)));
    t.start();
    return t;
  }

  private static KafkaConsumer<String, byte[]> reader(Topics topics) {
    KafkaConsumer<String, byte[]> r = KafkaSupport.rawConsumer(broker.bootstrapServers(), topics.candidates.name() + "-reader",
        null);
    KafkaSupport.ensureTopics(broker.bootstrapServers(), topics, 1, (short) 1, Duration.ofSeconds(30));
    TopicPartition p = new TopicPartition(topics.candidates.name(), 0);
    r.assign(List.of(p));
    r.seekToBeginning(List.of(p));
    return r;
  }

  /** Train images {@code [offset + from, offset + to)} as samples {@code prefix + i}, i from {@code from}, at T0 + i ms. */
  private static void sendTrain(KafkaProducer<String, Sample> p, Topics topics, String prefix, int offset, int from, int to)
      throws Exception {
    FashionMnist.Split train = TestData.train();
    for (int i = from; i < to; i++) {
      send(p, topics, prefix + i, FashionMnist.LABELS.get(train.labels()[offset + i]), train.images()[offset + i], i);
    }
  }

  private static void send(KafkaProducer<String, Sample> p, Topics topics, String id, String label, float[] px, int i)
      throws Exception {
    Sample s = Sample.of(id, label, "night", "it", T0.plusMillis(i), Images.toPng(px, 28, 28));
    p.send(new ProducerRecord<>(topics.samples.name(), id, s)).get();
  }

  private static DriftSignal signal(String model, int version) {
    return new DriftSignal(Versioned.CURRENT, model, version, DriftSignal.Kind.PERFORMANCE, "page-hinkley", 60, 50, 500, T0,
        T0.plusSeconds(3600), 0.88, 0.6);
  }

  private static final Map<KafkaConsumer<?, ?>, List<Candidate>> seen = new HashMap<>();

  private static List<Candidate> awaitCandidates(KafkaConsumer<String, byte[]> reader, int n) throws InterruptedException {
    List<Candidate> out = seen.computeIfAbsent(reader, k -> new ArrayList<>());
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (out.size() < n && System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
        out.add(Json.fromBytes(r.value(), Candidate.class));
      }
    }
    assertThat(out).as("candidates published").hasSizeGreaterThanOrEqualTo(n);
    return out;
  }

  /** Candidates seen so far after polling for {@code d} more. */
  private static List<Candidate> awaitCandidatesFor(KafkaConsumer<String, byte[]> reader, Duration d) {
    List<Candidate> out = seen.computeIfAbsent(reader, k -> new ArrayList<>());
    long deadline = System.nanoTime() + d.toNanos();
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
        out.add(Json.fromBytes(r.value(), Candidate.class));
      }
    }
    return out;
  }

  /** Waits until the trainer has seen its retrain end: a drift signal sent during a retrain is ignored by design. */
  private static void awaitIdle(TrainerService t) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (t.registry().get("streamtune.trainer.retrain.active").gauge().value() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(t.registry().get("streamtune.trainer.retrain.active").gauge().value()).isZero();
  }

  private static void awaitRunning(TrainerService t) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (t.state() != ServiceState.RUNNING && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(t.state()).isEqualTo(ServiceState.RUNNING);
  }

  /** The CNN with 9 outputs, trained one epoch on 3,000 training images of the first 9 classes only. */
  private static MultiLayerNetwork nineClassCnn() {
    FashionMnist.Split train = TestData.train();
    MultiLayerNetwork net = Networks.cnn(28, 9, 1e-3, 42);
    List<Integer> picked = new ArrayList<>();
    for (int i = 0; picked.size() < 3_000; i++) {
      if (train.labels()[i] < 9) {
        picked.add(i);
      }
    }
    for (int from = 0; from < picked.size(); from += 64) {
      int m = Math.min(64, picked.size() - from);
      float[] px = new float[m * 784];
      var y = Nd4j.zeros(m, 9);
      for (int j = 0; j < m; j++) {
        int k = picked.get(from + j);
        System.arraycopy(train.images()[k], 0, px, j * 784, 784);
        y.putScalar(j, train.labels()[k], 1f);
      }
      net.fit(new DataSet(Nd4j.create(px, new long[] {m, 1, 28, 28}, 'c'), y));
    }
    return net;
  }

  /** Accuracy on the test images of one class. */
  private static double accuracyOn(MultiLayerNetwork net, FashionMnist.Split test, int label) {
    List<float[]> px = new ArrayList<>();
    for (int i = 0; i < test.size() && px.size() < 300; i++) {
      if (test.labels()[i] == label) {
        px.add(test.images()[i]);
      }
    }
    int[] pred = Networks.argMax(net.output(Images.batch(px, 28, 28)));
    int ok = 0;
    for (int p : pred) {
      ok += p == label ? 1 : 0;
    }
    return ok / (double) pred.length;
  }
}
