package dev.streamtune.standalone.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.spi.FilterReply;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.junit.jupiter.api.Test;

class RetriableSequenceErrorFilterTest {
  private final Logger logger = new LoggerContext().getLogger("kafka.server.ReplicaManager");
  private final RetriableSequenceErrorFilter filter = new RetriableSequenceErrorFilter();

  private FilterReply decide(Throwable t) {
    return filter.decide(new LoggingEvent(Logger.class.getName(), logger, Level.ERROR, "Error processing append operation",
        t, null));
  }

  @Test
  void shouldDropOnlyTheRetriableFirstSequenceRefusalOfTransactionsV2() {
    assertThat(decide(new OutOfOrderSequenceException("Invalid sequence number for producer 11 at offset 7 in partition "
        + "streamtune.samples-0: 1 (incoming seq. number). Expected sequence 0 for transactions v2 idempotent producer with no "
        + "existing state."))).isEqualTo(FilterReply.DENY);
    assertThat(decide(new OutOfOrderSequenceException("Out of order sequence number for producer 1674 at offset 548171: 51 "
        + "(incoming seq. number), 49 (current end sequence number)"))).as("a real gap").isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide(new IllegalStateException("transactions v2 idempotent producer with no existing state")))
        .isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide(null)).isEqualTo(FilterReply.NEUTRAL);
  }
}
