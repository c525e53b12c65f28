package dev.streamtune.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.JsonSerde;
import dev.streamtune.core.kafka.FeedbackLedger;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.Sample;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.ingest.internal.IngestMetrics;
import dev.streamtune.ingest.internal.IngestStreamsConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IngestTopologyTest {
  private static final ModelSpec FASHION = Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS,
      Networks.DEFAULT_FREEZE_BOUNDARY);
  private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  private static byte[] png;
  private static byte[] png32;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private IngestConfig cfg;
  private Topics topics;
  private Topology topology;
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> raw;
  private TestInputTopic<String, byte[]> inputs;
  private TestInputTopic<String, byte[]> feedback;
  private TestOutputTopic<String, Sample> samples;
  private TestOutputTopic<String, byte[]> samplesRejected;
  private TestOutputTopic<String, byte[]> recordsRejected;

  @BeforeAll
  static void images() {
    png = Images.toPng(TestData.test().images()[0], 28, 28);
    png32 = Images.toPng(new float[32 * 32], 32, 32);
  }

  @BeforeEach
  void startDriver() {
    startDriver(Map.of());
  }

  private void startDriver(Map<String, String> extra) {
    Map<String, String> settings = new java.util.HashMap<>(Map.of(CommonConfig.STORE_DIR, TestData.tempDir("store").toString(),
        IngestConfig.STATE_DIR, TestData.tempDir("state").toString(), IngestConfig.JOIN_WINDOW, "1h"));
    settings.putAll(extra);
    cfg = IngestConfig.from(Settings.of(settings));
    topics = cfg.common().topics();
    topology = IngestTopology.build(cfg, FASHION, registry);
    driver = new TopologyTestDriver(topology, IngestStreamsConfig.properties(cfg, new IngestMetrics(registry, topics)), T0);
    StringSerializer keys = new StringSerializer();
    ByteArraySerializer bytes = new ByteArraySerializer();
    raw = driver.createInputTopic(topics.samplesRaw.name(), keys, bytes);
    inputs = driver.createInputTopic(topics.inputs.name(), keys, bytes);
    feedback = driver.createInputTopic(topics.feedback.name(), keys, bytes);
    samples = driver.createOutputTopic(topics.samples.name(), new StringDeserializer(),
        new JsonSerde<>(Sample.class).deserializer());
    samplesRejected = driver.createOutputTopic(topics.samplesRejected.name(), new StringDeserializer(), new ByteArrayDeserializer());
    recordsRejected = driver.createOutputTopic(topics.recordsRejected.name(), new StringDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void closeDriver() {
    driver.close();
  }

  // --- validation of samples.raw

  @Test
  void shouldTurnAValidLabelledPngIntoASampleOnSamples() {
    raw.pipeInput(new TestRecord<>("s-1", png, headers("Coat", "camera-2", "labelling"), T0));

    List<TestRecord<String, Sample>> out = samples.readRecordsToList();
    assertThat(out).hasSize(1);
    Sample s = out.get(0).value();
    assertThat(out.get(0).key()).isEqualTo("s-1");
    assertThat(s.id()).isEqualTo("s-1");
    assertThat(s.label()).isEqualTo("Coat");
    assertThat(s.domain()).isEqualTo("camera-2");
    assertThat(s.source()).isEqualTo("labelling");
    assertThat(s.timestamp()).isEqualTo(T0);
    assertThat(s.image()).isEqualTo(png);
    assertThat(samplesRejected.isEmpty()).isTrue();
    assertThat(count("streamtune.ingest.samples.accepted", "source", "labelling")).isEqualTo(1);
  }

  @Test
  void shouldMapANumericLabelToTheLabelName() {
    raw.pipeInput(new TestRecord<>("s-2", png, headers("3", null, null), T0));

    Sample s = samples.readValue();
    assertThat(s.label()).isEqualTo("Dress");
    assertThat(s.domain()).isEqualTo("unknown");
    assertThat(s.source()).isEqualTo("unknown");
  }

  @Test
  void shouldCountAnUnlistedSourceAsOther() {
    raw.pipeInput(new TestRecord<>("s-3", png, headers("Coat", null, "someone-s-script-42"), T0));

    assertThat(samples.readValue().source()).isEqualTo("someone-s-script-42");
    assertThat(count("streamtune.ingest.samples.accepted", "source", "other")).isEqualTo(1);
  }

  @Test
  void shouldRejectARecordThatIsNotAnImage() {
    byte[] hello = "hello".getBytes(StandardCharsets.UTF_8);
    assertRejected("s-4", hello, headers("Coat", null, null), "not-an-image", "not a decodable image");
  }

  @Test
  void shouldRejectAnImageOfTheWrongSize() {
    assertRejected("s-5", png32, headers("Coat", null, null), "wrong-size", "wrong image size 32x32");
  }

  @Test
  void shouldRejectARecordWithoutLabel() {
    assertRejected("s-6", png, headers(null, "camera-2", null), "missing-label", "missing label");
  }

  @Test
  void shouldRejectAnUnknownLabelNamingTheLabelAndTheSet() {
    String reason = assertRejected("s-7", png, headers("Unicorn", null, null), "unknown-label", "'Unicorn'");
    assertThat(reason).contains("Ankle boot").contains("T-shirt/top");
  }

  @Test
  void shouldAcceptNewLabelsWhenAllowedUpToTheLimit() {
    driver.close();
    startDriver(Map.of(IngestConfig.LABELS_ALLOW_NEW, "true", IngestConfig.LABELS_MAX_NEW, "1"));

    raw.pipeInput(new TestRecord<>("n-1", png, headers("Hat", null, null), T0));
    raw.pipeInput(new TestRecord<>("n-2", png, headers("Hat", null, null), T0));
    assertThat(samples.readValuesToList()).extracting(Sample::label).containsExactly("Hat", "Hat");

    String reason = assertRejected("n-3", png, headers("Scarf", null, null), "unknown-label", "'Scarf'");
    assertThat(reason).contains("at most 1 new names");
    raw.pipeInput(new TestRecord<>("n-4", png, headers("10", null, null), T0));
    raw.pipeInput(new TestRecord<>("n-5", png, headers("<script>", null, null), T0));
    assertThat(samplesRejected.readRecordsToList()).extracting(TestRecord::key).containsExactly("n-4", "n-5");
    assertThat(samples.isEmpty()).isTrue();
  }

  @Test
  void shouldRejectAClassIndexOutsideTheSet() {
    assertRejected("s-8", png, headers("10", null, null), "unknown-label", "'10'");
  }

  @Test
  void shouldRejectARecordWithoutSampleId() {
    assertRejected(null, png, headers("Coat", null, null), "missing-id", "missing sample id");
  }

  @Test
  void shouldKeepTheOriginalHeadersOnARejectedRecord() {
    raw.pipeInput(new TestRecord<>("s-9", png32, headers("Coat", "camera-9", "loader"), T0));

    Headers h = samplesRejected.readRecord().headers();
    assertThat(header(h, Topics.HEADER_LABEL)).isEqualTo("Coat");
    assertThat(header(h, Topics.HEADER_DOMAIN)).isEqualTo("camera-9");
    assertThat(header(h, Topics.HEADER_SOURCE)).isEqualTo("loader");
    assertThat(header(h, Topics.HEADER_REJECT_TOPIC)).startsWith(topics.samplesRaw.name() + "-0@");
  }

  @Test
  void shouldKeepValidatingAfterABadRecord() {
    raw.pipeInput(new TestRecord<>("bad", "hello".getBytes(StandardCharsets.UTF_8), headers("Coat", null, null), T0));
    raw.pipeInput(new TestRecord<>("good", png, headers("Bag", null, "loader"), T0.plusSeconds(1)));

    assertThat(samplesRejected.readKeyValue().key).isEqualTo("bad");
    Sample s = samples.readValue();
    assertThat(s.id()).isEqualTo("good");
    assertThat(s.label()).isEqualTo("Bag");
    assertThat(count("streamtune.ingest.samples.rejected", "reason", "not-an-image")).isEqualTo(1);
    assertThat(count("streamtune.ingest.samples.accepted", "source", "loader")).isEqualTo(1);
  }

  // --- inputs ⋈ feedback

  @Test
  void shouldJoinAnInputWithItsFeedbackIntoAFeedbackSample() {
    Instant labelled = T0.plus(Duration.ofMinutes(20));
    inputs.pipeInput("p-1", png, T0);
    feedback.pipeInput("p-1", Json.toBytes(Feedback.of("p-1", "Sneaker", "ann", labelled)), labelled);

    List<TestRecord<String, Sample>> out = samples.readRecordsToList();
    assertThat(out).hasSize(1);
    Sample s = out.get(0).value();
    assertThat(out.get(0).key()).isEqualTo("p-1");
    assertThat(s.id()).isEqualTo("p-1");
    assertThat(s.label()).isEqualTo("Sneaker");
    assertThat(s.domain()).isEqualTo("served");
    assertThat(s.source()).isEqualTo("feedback");
    assertThat(s.timestamp()).isEqualTo(labelled);
    assertThat(s.image()).isEqualTo(png);
    assertThat(count("streamtune.ingest.samples.accepted", "source", "feedback")).isEqualTo(1);
  }

  @Test
  void shouldMapAFeedbackClassIndexToTheLabelName() {
    inputs.pipeInput("p-2", png, T0);
    feedback.pipeInput("p-2", Json.toBytes(Feedback.of("p-2", "9", "ann", T0.plusSeconds(5))), T0.plusSeconds(5));

    assertThat(samples.readValue().label()).isEqualTo("Ankle boot");
  }

  @Test
  void shouldNotJoinFeedbackThatArrivesAfterTheJoinWindow() {
    Instant late = T0.plus(Duration.ofHours(2));
    inputs.pipeInput("p-3", png, T0);
    feedback.pipeInput("p-3", Json.toBytes(Feedback.of("p-3", "Coat", "ann", late)), late);

    assertThat(samples.isEmpty()).isTrue();
  }

  @Test
  void shouldRejectALabelThatMetNoInputOnceItsWindowClosedInsteadOfDroppingIt() {
    byte[] label = Json.toBytes(Feedback.of("p-20", "Coat", "ann", T0));
    feedback.pipeInput("p-20", label, T0);
    inputs.pipeInput("p-21", png, T0.plus(IngestConfig.DEFAULT_JOIN_WINDOW)); // the window is still open (grace)
    assertThat(recordsRejected.isEmpty()).isTrue();

    driver.advanceWallClockTime(Duration.ofSeconds(2)); // Kafka Streams looks for closed windows at most once a second
    inputs.pipeInput("p-20", png, T0.plus(IngestConfig.DEFAULT_JOIN_WINDOW).plus(IngestTopology.JOIN_GRACE).plusSeconds(1));

    TestRecord<String, byte[]> rejected = recordsRejected.readRecord();
    assertThat(rejected.key()).isEqualTo("p-20");
    assertThat(Json.fromBytes(rejected.value(), Feedback.class)).isEqualTo(Json.fromBytes(label, Feedback.class));
    assertThat(header(rejected.headers(), Topics.HEADER_REJECT_REASON)).contains("no served input", "'p-20'", "PT1H");
    assertThat(header(rejected.headers(), Topics.HEADER_REJECT_BY)).isEqualTo(cfg.applicationId());
    assertThat(samples.isEmpty()).as("the late input does not join the closed window").isTrue();
    assertThat(count("streamtune.ingest.feedback.rejected", "reason", "no-input")).isEqualTo(1);
    assertThat(count("streamtune.records.rejected", "topic", topics.feedback.name())).isEqualTo(1);
  }

  @Test
  void shouldNotRejectALabelThatJoinedWhenItsWindowCloses() {
    inputs.pipeInput("p-22", png, T0);
    feedback.pipeInput("p-22", Json.toBytes(Feedback.of("p-22", "Coat", "ann", T0.plusSeconds(1))), T0.plusSeconds(1));
    driver.advanceWallClockTime(Duration.ofSeconds(2));
    inputs.pipeInput("p-23", png, T0.plus(Duration.ofHours(3)));

    assertThat(samples.readRecordsToList()).extracting(r -> r.value().label()).containsExactly("Coat");
    assertThat(recordsRejected.isEmpty()).isTrue();
  }

  @Test
  void shouldGiveAShortWindowAGraceNoLongerThanItself() {
    assertThat(IngestTopology.grace(Duration.ofSeconds(20))).isEqualTo(Duration.ofSeconds(20));
    assertThat(IngestTopology.grace(Duration.ofHours(1))).isEqualTo(IngestTopology.JOIN_GRACE);
  }

  @Test
  void shouldNotJoinAnInputWithFeedbackForAnotherPrediction() {
    inputs.pipeInput("p-4", png, T0);
    feedback.pipeInput("p-5", Json.toBytes(Feedback.of("p-5", "Coat", "ann", T0)), T0);

    assertThat(samples.isEmpty()).isTrue();
  }

  @Test
  void shouldRejectUnreadableFeedbackAndStillJoinTheNextGoodOne() {
    byte[] bad = "{not json".getBytes(StandardCharsets.UTF_8);
    feedback.pipeInput("p-6", bad, T0);
    inputs.pipeInput("p-7", png, T0);
    feedback.pipeInput("p-7", Json.toBytes(Feedback.of("p-7", "Shirt", "ann", T0.plusSeconds(1))), T0.plusSeconds(1));

    TestRecord<String, byte[]> rejected = recordsRejected.readRecord();
    assertThat(rejected.key()).isEqualTo("p-6");
    assertThat(rejected.value()).isEqualTo(bad);
    assertThat(header(rejected.headers(), Topics.HEADER_REJECT_REASON)).startsWith("not a valid Feedback record");
    assertThat(header(rejected.headers(), Topics.HEADER_REJECT_TOPIC)).startsWith(topics.feedback.name() + "-0@");
    assertThat(header(rejected.headers(), Topics.HEADER_REJECT_BY)).isEqualTo(cfg.applicationId());
    assertThat(recordsRejected.isEmpty()).isTrue();
    assertThat(samples.readValue().label()).isEqualTo("Shirt");
    assertThat(count("streamtune.ingest.feedback.rejected", "reason", "unreadable")).isEqualTo(1);
    assertThat(count("streamtune.records.rejected", "topic", topics.feedback.name())).isEqualTo(1);
  }

  @Test
  void shouldRejectFeedbackWithALabelOutsideTheSet() {
    inputs.pipeInput("p-8", png, T0);
    feedback.pipeInput("p-8", Json.toBytes(Feedback.of("p-8", "Unicorn", "ann", T0)), T0);

    assertThat(header(recordsRejected.readRecord().headers(), Topics.HEADER_REJECT_REASON)).contains("'Unicorn'");
    assertThat(samples.isEmpty()).isTrue();
    assertThat(count("streamtune.ingest.feedback.rejected", "reason", "unknown-label")).isEqualTo(1);
  }

  @Test
  void shouldRejectFeedbackKeyedByAnotherPredictionId() {
    feedback.pipeInput("p-9", Json.toBytes(Feedback.of("p-10", "Coat", "ann", T0)), T0);

    assertThat(header(recordsRejected.readRecord().headers(), Topics.HEADER_REJECT_REASON)).contains("'p-9'").contains("'p-10'");
    assertThat(count("streamtune.ingest.feedback.rejected", "reason", "id-mismatch")).isEqualTo(1);
  }

  @Test
  void shouldJoinAResentLabelOnceWhetherItArrivesBeforeOrAfterTheInput() {
    // a client that lost the answer to its POST /feedback sends it again: two records, one label
    feedback.pipeInput("p-11", Json.toBytes(Feedback.of("p-11", "Coat", "ann", T0)), T0);
    inputs.pipeInput("p-11", png, T0.plusSeconds(1));
    feedback.pipeInput("p-11", Json.toBytes(Feedback.of("p-11", "Coat", "ann", T0.plusSeconds(2))), T0.plusSeconds(2));
    feedback.pipeInput("p-11", Json.toBytes(Feedback.of("p-11", "4", "ann", T0.plusSeconds(3))), T0.plusSeconds(3));

    assertThat(samples.readRecordsToList()).extracting(r -> r.value().label()).containsExactly("Coat");
    assertThat(recordsRejected.isEmpty()).isTrue();
    assertThat(count(IngestMetrics.FEEDBACK_REPEATED)).isEqualTo(2);
    assertThat(count("streamtune.ingest.samples.accepted", "source", "feedback")).isEqualTo(1);
  }

  @Test
  void shouldRejectASecondDifferentLabelNamingTheOneThatCounts() {
    inputs.pipeInput("p-12", png, T0);
    feedback.pipeInput("p-12", Json.toBytes(Feedback.of("p-12", "Coat", "ann", T0.plusSeconds(1))), T0.plusSeconds(1));
    byte[] second = Json.toBytes(Feedback.of("p-12", "Shirt", "reviewer", T0.plusSeconds(9)));
    feedback.pipeInput("p-12", second, T0.plusSeconds(9));

    assertThat(samples.readRecordsToList()).extracting(r -> r.value().label()).containsExactly("Coat");
    TestRecord<String, byte[]> rejected = recordsRejected.readRecord();
    assertThat(rejected.value()).isEqualTo(second);
    assertThat(header(rejected.headers(), Topics.HEADER_REJECT_REASON)).contains("'p-12'", "'Coat'", "'Shirt'");
    assertThat(count("streamtune.ingest.feedback.rejected", "reason", "relabelled")).isEqualTo(1);
    assertThat(count(IngestMetrics.FEEDBACK_REPEATED)).isZero();
  }

  @Test
  void shouldCountALabelAgainOnceItCouldNoLongerJoinTheSameInput() {
    Instant later = T0.plus(FeedbackLedger.horizon(IngestConfig.DEFAULT_JOIN_WINDOW, IngestTopology.JOIN_GRACE)).plusSeconds(1);
    feedback.pipeInput("p-13", Json.toBytes(Feedback.of("p-13", "Coat", "ann", T0)), T0);
    inputs.pipeInput("p-13", png, later);
    feedback.pipeInput("p-13", Json.toBytes(Feedback.of("p-13", "Shirt", "ann", later)), later);

    assertThat(samples.readRecordsToList()).extracting(r -> r.value().label()).containsExactly("Shirt");
    // the first label met no input within its window: rejected as such, not as relabelled
    assertThat(recordsRejected.readRecordsToList()).extracting(r -> header(r.headers(), Topics.HEADER_REJECT_REASON))
        .singleElement().asString().startsWith("no served input for prediction 'p-13'");
  }

  @Test
  void shouldRejectAnInputWithoutPredictionIdInsteadOfDroppingIt() {
    inputs.pipeInput((String) null, png, T0);

    TestRecord<String, byte[]> rejected = recordsRejected.readRecord();
    assertThat(rejected.value()).isEqualTo(png);
    assertThat(header(rejected.headers(), Topics.HEADER_REJECT_REASON)).contains("prediction id");
    assertThat(count("streamtune.ingest.inputs.rejected", "reason", "missing-id")).isEqualTo(1);
  }

  @Test
  void shouldRejectAnInputImageTheModelCannotTakeLikeASample() {
    byte[] bomb = Images.toPng(new float[1], 1, 1);
    // a PNG header claiming 20000 x 20000 pixels: refused from its header, before any decoding
    java.nio.ByteBuffer.wrap(bomb, 16, 8).putInt(20_000).putInt(20_000);
    inputs.pipeInput("p-20", "hello".getBytes(StandardCharsets.UTF_8), T0);
    inputs.pipeInput("p-21", png32, T0);
    inputs.pipeInput("p-22", bomb, T0);
    for (String id : List.of("p-20", "p-21", "p-22")) {
      feedback.pipeInput(id, Json.toBytes(Feedback.of(id, "Coat", "ann", T0.plusSeconds(1))), T0.plusSeconds(1));
    }

    assertThat(samples.isEmpty()).as("no sample from an image serving's model cannot take").isTrue();
    List<TestRecord<String, byte[]>> rejected = recordsRejected.readRecordsToList();
    assertThat(rejected).extracting(TestRecord::key).containsExactly("p-20", "p-21", "p-22");
    assertThat(rejected.get(2).value()).as("dead-lettered as it came").isEqualTo(bomb);
    assertThat(header(rejected.get(1).headers(), Topics.HEADER_REJECT_REASON)).contains("32x32");
    assertThat(count("streamtune.ingest.inputs.rejected", "reason", "not-an-image")).isEqualTo(1);
    assertThat(count("streamtune.ingest.inputs.rejected", "reason", "wrong-size")).isEqualTo(1);
    assertThat(count("streamtune.ingest.inputs.rejected", "reason", "too-large")).isEqualTo(1);
  }

  @Test
  void shouldJoinWithoutARepartitionTopicBecauseTheTopicsAreCoPartitioned() {
    assertThat(topology.describe().toString()).doesNotContain("repartition");
  }

  // --- helpers

  private String assertRejected(String key, byte[] value, Headers headers, String reasonTag, String reasonText) {
    raw.pipeInput(new TestRecord<>(key, value, headers, T0));

    List<TestRecord<String, byte[]>> out = samplesRejected.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(out.get(0).key()).isEqualTo(key);
    assertThat(out.get(0).value()).isEqualTo(value);
    String reason = header(out.get(0).headers(), Topics.HEADER_REJECT_REASON);
    assertThat(reason).contains(reasonText);
    assertThat(samples.isEmpty()).isTrue();
    assertThat(count("streamtune.ingest.samples.rejected", "reason", reasonTag)).isEqualTo(1);
    assertThat(registry.find("streamtune.ingest.samples.rejected").counters())
        .allSatisfy(c -> assertThat(c.count()).isEqualTo(c.getId().getTag("reason").equals(reasonTag) ? 1 : 0));
    return reason;
  }

  private double count(String name) {
    return registry.get(name).counter().count();
  }

  private double count(String name, String tag, String value) {
    return registry.get(name).tag(tag, value).counter().count();
  }

  private static Headers headers(String label, String domain, String source) {
    RecordHeaders h = new RecordHeaders();
    if (label != null) {
      h.add(Topics.HEADER_LABEL, label.getBytes(StandardCharsets.UTF_8));
    }
    if (domain != null) {
      h.add(Topics.HEADER_DOMAIN, domain.getBytes(StandardCharsets.UTF_8));
    }
    if (source != null) {
      h.add(Topics.HEADER_SOURCE, source.getBytes(StandardCharsets.UTF_8));
    }
    h.add(Topics.HEADER_CONTENT_TYPE, "image/png".getBytes(StandardCharsets.UTF_8));
    return h;
  }

  private static String header(Headers h, String name) {
    return h.lastHeader(name) == null ? null : new String(h.lastHeader(name).value(), StandardCharsets.UTF_8);
  }
}
