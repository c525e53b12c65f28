package dev.streamtune.core.kafka;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.ProcessingContext;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * The first label given to each prediction, so that a label counts once: a client that sends {@code POST /feedback} again
 * after its answer was lost (the label was written, the client could not know) writes a second {@code feedback} record with the
 * same prediction id, which would join the served input a second time in ingest and count a second outcome in the evaluator.
 *
 * <p>A window store of the Streams task (key = prediction id, value = first label, at the first label's timestamp) keeps each
 * first label for {@link #horizon(Duration, Duration)}: as long as a second label could still join the same prediction. Under
 * exactly-once the store and the output commit together, so a crash neither loses a first label nor lets a repeat through.
 * Not thread-safe: one per Streams task, as its store.
 */
public final class FeedbackLedger {
  /** What a label is to its prediction. */
  public enum Seen {
    /** The first label of the prediction: it counts. */
    FIRST,
    /** The same label again (a resent request): counted once already. */
    REPEAT,
    /** Another label for a prediction already labelled: the first label counts, this one does not. */
    CONFLICT
  }

  /** The verdict on one label and, unless it is the first, the label that counts. */
  public record Check(Seen seen, String firstLabel, Instant firstAt) {}

  private final WindowStore<String, String> store;
  private final Duration horizon;

  /**
   * @param context the processor's context, which holds the store
   * @param storeName the store made by {@link #store(String, Duration)}
   * @param horizon how far apart two labels of one prediction may be and still both count (the store's retention)
   */
  public FeedbackLedger(ProcessingContext context, String storeName, Duration horizon) {
    this.store = Objects.requireNonNull(context.getStateStore(storeName), storeName);
    this.horizon = horizon;
  }

  /**
   * The window over which two labels of one prediction would both join it: inputs and feedback join when their timestamps are
   * at most {@code joinWindow} apart, so two labels of one input may be {@code 2 × joinWindow} apart, plus the join's grace.
   */
  public static Duration horizon(Duration joinWindow, Duration grace) {
    return joinWindow.multipliedBy(2).plus(grace);
  }

  /** The store a ledger reads and writes, logged to a changelog topic so that it survives a crash. */
  public static StoreBuilder<WindowStore<String, String>> store(String name, Duration horizon) {
    return Stores.windowStoreBuilder(Stores.persistentWindowStore(name, horizon, horizon, false), Serdes.String(),
        Serdes.String());
  }

  /**
   * Records {@code label} for {@code predictionId} when it is the first within the horizon of {@code at}, and says which it is.
   */
  public Check check(String predictionId, String label, Instant at) {
    long ts = at.toEpochMilli();
    try (WindowStoreIterator<String> it = store.fetch(predictionId, Instant.ofEpochMilli(ts - horizon.toMillis()),
        Instant.ofEpochMilli(ts + horizon.toMillis()))) {
      if (it.hasNext()) {
        KeyValue<Long, String> first = it.next();
        Seen seen = first.value.equals(label) ? Seen.REPEAT : Seen.CONFLICT;
        return new Check(seen, first.value, Instant.ofEpochMilli(first.key));
      }
    }
    store.put(predictionId, label, ts);
    return new Check(Seen.FIRST, label, at);
  }
}
