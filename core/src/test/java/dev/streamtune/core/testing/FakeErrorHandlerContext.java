package dev.streamtune.core.testing;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.processor.TaskId;

/**
 * The context Kafka Streams hands an error handler, for calling a handler directly in a test: the source record at
 * {@code topic-partition@offset} with its headers and raw key and value, in task 0_0.
 */
public record FakeErrorHandlerContext(String topic, int partition, long offset, Headers headers, String processorNodeId,
    byte[] sourceRawKey, byte[] sourceRawValue) implements ErrorHandlerContext {
  @Override
  public TaskId taskId() {
    return new TaskId(0, 0);
  }

  @Override
  public long timestamp() {
    return 0;
  }
}
