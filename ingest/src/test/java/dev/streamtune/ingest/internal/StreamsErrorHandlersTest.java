package dev.streamtune.ingest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.kafka.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

class StreamsErrorHandlersTest {
  private static final byte[] KEY = "k-1".getBytes(StandardCharsets.UTF_8);
  private static final byte[] VALUE = "v".getBytes(StandardCharsets.UTF_8);
  private final Topics topics = Topics.withDefaultPrefix();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final Map<String, Object> configs = Map.of(StreamsErrorHandlers.METRICS_CONFIG, new IngestMetrics(registry, topics),
      StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.recordsRejected.name());

  @Test
  void shouldSendAnUndeserializableRecordToTheDeadLetterTopicCountItAndGoOn() {
    StreamsErrorHandlers.Deserialization handler = new StreamsErrorHandlers.Deserialization();
    handler.configure(configs);

    DeserializationExceptionHandler.Response r = handler.handleError(context(), new ConsumerRecord<>(topics.feedback.name(), 0,
        7L, KEY, VALUE), new IllegalArgumentException("bad bytes"));

    assertThat(r.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
    assertDeadLetter(r.deadLetterQueueRecords().get(0), "bad bytes");
    assertThat(registry.get("streamtune.ingest.stream.errors").tag("kind", "deserialization").counter().count()).isEqualTo(1);
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
  }

  private void assertDeadLetter(ProducerRecord<byte[], byte[]> dlq, String reason) {
    assertThat(dlq.topic()).isEqualTo(topics.recordsRejected.name());
    assertThat(dlq.key()).isEqualTo(KEY);
    assertThat(dlq.value()).isEqualTo(VALUE);
    assertThat(new String(dlq.headers().lastHeader(Topics.HEADER_REJECT_REASON).value(), StandardCharsets.UTF_8))
        .contains(reason);
    assertThat(new String(dlq.headers().lastHeader(Topics.HEADER_REJECT_TOPIC).value(), StandardCharsets.UTF_8))
        .isEqualTo(topics.feedback.name() + "-0@7");
    assertThat(new String(dlq.headers().lastHeader("annotator").value(), StandardCharsets.UTF_8)).isEqualTo("ann");
  }

  private ErrorHandlerContext context() {
    Headers headers = new RecordHeaders().add("annotator", "ann".getBytes(StandardCharsets.UTF_8));
    String topic = topics.feedback.name();
    return new ErrorHandlerContext() {
      @Override
      public String topic() {
        return topic;
      }

      @Override
      public int partition() {
        return 0;
      }

      @Override
      public long offset() {
        return 7;
      }

      @Override
      public Headers headers() {
        return headers;
      }

      @Override
      public String processorNodeId() {
        return "check-feedback";
      }

      @Override
      public TaskId taskId() {
        return new TaskId(0, 0);
      }

      @Override
      public long timestamp() {
        return 0;
      }

      @Override
      public byte[] sourceRawKey() {
        return KEY;
      }

      @Override
      public byte[] sourceRawValue() {
        return VALUE;
      }
    };
  }
}
