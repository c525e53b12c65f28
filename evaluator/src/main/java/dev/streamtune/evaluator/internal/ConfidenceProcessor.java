package dev.streamtune.evaluator.internal;

import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Prediction;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link ConfidenceMonitor} over the prediction stream keyed by model name; forwards DATA drift signals. The state is kept
 * per model version under the key {@code model/version}, so a prediction rewrites only its own version's state; when a version
 * starts, the state of the version {@link ModelMonitor#KEEP_VERSIONS} below it is deleted.
 */
public final class ConfidenceProcessor implements Processor<String, Prediction, String, DriftSignal> {
  private static final Logger log = LoggerFactory.getLogger(ConfidenceProcessor.class);
  private final ConfidenceMonitor monitor;
  private final String storeName;
  private final LiveAccuracy live;
  private final MeterRegistry registry;
  private ProcessorContext<String, DriftSignal> context;
  private MemoizedStore<ConfidenceMonitor.State> store;

  public ConfidenceProcessor(ConfidenceMonitor monitor, String storeName, LiveAccuracy live, MeterRegistry registry) {
    this.monitor = monitor;
    this.storeName = storeName;
    this.live = live;
    this.registry = registry;
  }

  @Override
  public void init(ProcessorContext<String, DriftSignal> context) {
    this.context = context;
    this.store = new MemoizedStore<>(context.<KeyValueStore<String, ConfidenceMonitor.State>>getStateStore(storeName));
  }

  @Override
  public void process(Record<String, Prediction> record) {
    Prediction p = record.value();
    String key = p.model() + "/" + p.version();
    ConfidenceMonitor.State state = store.get(key);
    if (state == null) {
      state = ConfidenceMonitor.State.initial(p.version());
      store.delete(p.model() + "/" + (p.version() - ModelMonitor.KEEP_VERSIONS));
    }
    ConfidenceMonitor.Update u = monitor.apply(state, p);
    store.put(key, u.state());
    if (u.test() != null) {
      live.test(p.model(), p.version(), dev.streamtune.evaluator.ConfidenceDrift.NAME, u.test());
    }
    u.drift().ifPresent(d -> {
      log.info("data drift on model={} version={}: {} D {} > {} after {} predictions (recent window since {})", d.model(),
          d.version(), d.detector(), String.format("%.3f", d.statistic()), String.format("%.3f", d.threshold()), d.window(),
          d.onset());
      EvaluatorMeters.drift(registry, d.model(), d.version(), d.detector()).increment();
      context.forward(record.withKey(d.model()).withValue(d));
    });
  }
}
