package dev.streamtune.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.testing.FakeErrorHandlerContext;
import dev.streamtune.core.testing.TestData;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

class StreamsErrorHandlersTest {
  private static final byte[] KEY = "k-1".getBytes(StandardCharsets.UTF_8);
  private static final byte[] VALUE = "v".getBytes(StandardCharsets.UTF_8);
  private final Topics topics = Topics.withDefaultPrefix();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final Map<String, Object> configs = configs();

  private Map<String, Object> configs() {
    Properties p = StreamsErrorHandlers.addTo(new Properties(), "test-svc", topics.recordsRejected, registry);
    Map<String, Object> m = new HashMap<>();
    p.forEach((k, v) -> m.put(k.toString(), v));
    return m;
  }

  @Test
  void shouldSendAnUndeserializableRecordToTheDeadLetterTopicCountItAndGoOn() {
    StreamsErrorHandlers.Deserialization handler = new StreamsErrorHandlers.Deserialization();
    handler.configure(configs);

    DeserializationExceptionHandler.Response r = handler.handleError(context(), new ConsumerRecord<>(topics.feedback.name(), 0,
        7L, KEY, VALUE), new IllegalArgumentException("bad bytes"));

    assertThat(r.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
    assertDeadLetter(r.deadLetterQueueRecords().get(0), "bad bytes");
    assertThat(errors("deserialization")).isEqualTo(1);
    assertThat(registry.get("streamtune.records.rejected").tag("topic", topics.feedback.name()).counter().count()).isEqualTo(1);
  }

  @Test
  void shouldSendTheSourceOfAFailedProcessingStepToTheDeadLetterTopicAndGoOn() {
    StreamsErrorHandlers.Processing handler = new StreamsErrorHandlers.Processing();
    handler.configure(configs);

    ProcessingExceptionHandler.Response r = handler.handleError(context(), new Record<>("k-1", "v", 0L),
        new IllegalStateException("bug"));

    assertThat(r.result()).isEqualTo(ProcessingExceptionHandler.Result.RESUME);
    assertDeadLetter(r.deadLetterQueueRecords().get(0), "bug");
    assertThat(errors("processing")).isEqualTo(1);
  }

  @Test
  void shouldSkipARecordTheBrokerRefusesAsTooLargeButFailOnAuthorizationAndRetryTransientErrors() {
    StreamsErrorHandlers.Production handler = new StreamsErrorHandlers.Production();
    handler.configure(configs);
    ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(topics.samples.name(), KEY, VALUE);

    ProductionExceptionHandler.Response tooLarge = handler.handleError(context(), out, new RecordTooLargeException("big"));
    assertThat(tooLarge.result()).isEqualTo(ProductionExceptionHandler.Result.RESUME);
    assertDeadLetter(tooLarge.deadLetterQueueRecords().get(0), "big");
    assertThat(handler.handleError(context(), out, new AuthorizationException("no")).result())
        .isEqualTo(ProductionExceptionHandler.Result.FAIL);
    assertThat(handler.handleError(context(), out, new NotLeaderOrFollowerException("moved")).result())
        .isEqualTo(ProductionExceptionHandler.Result.RETRY);
    assertThat(errors("production")).as("too large and authorization; a retry is no error").isEqualTo(2);
  }

  @Test
  void shouldDeadLetterTheWrittenRecordWhenStreamsHasNoSourceRecordAtHand() {
    StreamsErrorHandlers.Production handler = new StreamsErrorHandlers.Production();
    handler.configure(configs);
    byte[] big = new byte[2048];
    ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(topics.samples.name(), KEY, big);
    ErrorHandlerContext noSource = new FakeErrorHandlerContext(topics.feedback.name(), 0, 7, new RecordHeaders(),
        "to-samples", null, null);

    ProducerRecord<byte[], byte[]> dlq = handler.handleError(noSource, out, new RecordTooLargeException("big"))
        .deadLetterQueueRecords().get(0);

    assertThat(dlq.key()).as("never a null key and value: the data is kept").isEqualTo(KEY);
    assertThat(dlq.value()).isEqualTo(big);
    assertThat(new String(dlq.headers().lastHeader(Topics.HEADER_REJECT_REASON).value(), StandardCharsets.UTF_8))
        .contains("the source record was not at hand");
  }

  @Test
  void shouldRegisterTheErrorCountersAtZeroAndRefuseAServiceWithoutName() {
    assertThat(registry.find(StreamsErrorHandlers.ERRORS_METER).tag("service", "test-svc").counters()).hasSize(3)
        .allSatisfy(c -> assertThat(c.count()).isZero());
    assertThat(configs).containsEntry(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.recordsRejected.name())
        .containsEntry(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    assertThatThrownBy(() -> StreamsErrorHandlers.addTo(new Properties(), " ", topics.recordsRejected, registry))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("service");
  }

  @Test
  void shouldDeadLetterTheSourceOfARecordThatFailsInATopologyAndKeepProcessing() {
    StreamsBuilder b = new StreamsBuilder();
    b.stream(topics.inputs.name(), Consumed.with(Serdes.String(), Serdes.String()))
        .mapValues(v -> {
          if (v.equals("boom")) {
            throw new IllegalStateException("cannot handle " + v);
          }
          return v.toUpperCase(java.util.Locale.ROOT);
        })
        .to(topics.samplesRejected.name(), Produced.with(Serdes.String(), Serdes.String()));
    Properties p = KafkaSupport.streamsProps("handlers-test", "unused:9092", TestData.tempDir("streams"), (short) 1);
    StreamsErrorHandlers.addTo(p, "test-svc", topics.recordsRejected, registry);

    try (TopologyTestDriver d = new TopologyTestDriver(b.build(), p)) {
      TestInputTopic<String, String> in = d.createInputTopic(topics.inputs.name(), Serdes.String().serializer(),
          Serdes.String().serializer());
      TestOutputTopic<String, String> out = d.createOutputTopic(topics.samplesRejected.name(), Serdes.String().deserializer(),
          Serdes.String().deserializer());
      TestOutputTopic<String, String> dlq = d.createOutputTopic(topics.recordsRejected.name(), Serdes.String().deserializer(),
          Serdes.String().deserializer());
      in.pipeInput("a", "ok");
      in.pipeInput("b", "boom");
      in.pipeInput("c", "fine");

      assertThat(out.readValuesToList()).containsExactly("OK", "FINE");
      List<TestRecord<String, String>> dead = dlq.readRecordsToList();
      assertThat(dead).hasSize(1);
      assertThat(dead.get(0).key()).isEqualTo("b");
      assertThat(dead.get(0).value()).isEqualTo("boom");
      assertThat(new String(dead.get(0).headers().lastHeader(Topics.HEADER_REJECT_REASON).value(), StandardCharsets.UTF_8))
          .contains("cannot handle boom");
      assertThat(new String(dead.get(0).headers().lastHeader(Topics.HEADER_REJECT_TOPIC).value(), StandardCharsets.UTF_8))
          .isEqualTo(topics.inputs.name() + "-0@1");
      assertThat(new String(dead.get(0).headers().lastHeader(Topics.HEADER_REJECT_BY).value(), StandardCharsets.UTF_8))
          .as("the Streams application that rejected it").isEqualTo("handlers-test");
    }
    assertThat(errors("processing")).isEqualTo(1);
    assertThat(registry.get("streamtune.records.rejected").tag("topic", topics.inputs.name()).counter().count()).isEqualTo(1);
  }

  private double errors(String kind) {
    return registry.get(StreamsErrorHandlers.ERRORS_METER).tag("service", "test-svc").tag("kind", kind).counter().count();
  }

  private void assertDeadLetter(ProducerRecord<byte[], byte[]> dlq, String reason) {
    assertThat(dlq.topic()).isEqualTo(topics.recordsRejected.name());
    assertThat(dlq.key()).isEqualTo(KEY);
    assertThat(dlq.value()).isEqualTo(VALUE);
    assertThat(new String(dlq.headers().lastHeader(Topics.HEADER_REJECT_REASON).value(), StandardCharsets.UTF_8))
        .contains(reason);
    assertThat(new String(dlq.headers().lastHeader(Topics.HEADER_REJECT_TOPIC).value(), StandardCharsets.UTF_8))
        .isEqualTo(topics.feedback.name() + "-0@7");
    assertThat(new String(dlq.headers().lastHeader(Topics.HEADER_REJECT_BY).value(), StandardCharsets.UTF_8))
        .as("the service, where the configs name no application").isEqualTo("test-svc");
    assertThat(new String(dlq.headers().lastHeader("annotator").value(), StandardCharsets.UTF_8)).isEqualTo("ann");
  }

  private ErrorHandlerContext context() {
    return new FakeErrorHandlerContext(topics.feedback.name(), 0, 7, new RecordHeaders().add("annotator",
        "ann".getBytes(StandardCharsets.UTF_8)), "check-feedback", KEY, VALUE);
  }
}
