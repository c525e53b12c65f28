package dev.streamtune.standalone.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Drops the embedded broker's ERROR lines for one retriable condition that is no error: under Kafka's transactions v2, a
 * transactional producer's pipelined first batches can reach a partition before its batch of sequence 0, and the broker
 * refuses them with a retriable {@code OutOfOrderSequenceException} ("... transactions v2 idempotent producer with no
 * existing state", KAFKA-18202); the producer sends them again in order. Logged at ERROR by the broker's
 * {@code ReplicaManager}, it read like data loss in every demo; the cluster fault test proves nothing is lost or repeated.
 * Any other event passes.
 */
public final class RetriableSequenceErrorFilter extends Filter<ILoggingEvent> {
  static final String EXCEPTION = "org.apache.kafka.common.errors.OutOfOrderSequenceException";
  static final String MESSAGE = "transactions v2 idempotent producer with no existing state";

  @Override
  public FilterReply decide(ILoggingEvent event) {
    IThrowableProxy t = event.getThrowableProxy();
    if (t != null && EXCEPTION.equals(t.getClassName()) && t.getMessage() != null && t.getMessage().contains(MESSAGE)) {
      return FilterReply.DENY;
    }
    return FilterReply.NEUTRAL;
  }
}
