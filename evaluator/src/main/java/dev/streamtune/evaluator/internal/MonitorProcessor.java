package dev.streamtune.evaluator.internal;

import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Outcome;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs {@link ModelMonitor} per model over the outcome stream keyed by model name; forwards drift signals. */
public final class MonitorProcessor implements Processor<String, Outcome, String, DriftSignal> {
  private static final Logger log = LoggerFactory.getLogger(MonitorProcessor.class);
  private final ModelMonitor monitor;
  private final String storeName;
  private final LiveAccuracy live;
  private final MeterRegistry registry;
  private ProcessorContext<String, DriftSignal> context;
  private MemoizedStore<ModelMonitor.State> store;

  public MonitorProcessor(ModelMonitor monitor, String storeName, LiveAccuracy live, MeterRegistry registry) {
    this.monitor = monitor;
    this.storeName = storeName;
    this.live = live;
    this.registry = registry;
  }

  @Override
  public void init(ProcessorContext<String, DriftSignal> context) {
    this.context = context;
    this.store = new MemoizedStore<>(context.<KeyValueStore<String, ModelMonitor.State>>getStateStore(storeName));
  }

  @Override
  public void process(Record<String, Outcome> record) {
    Outcome o = record.value();
    ModelMonitor.State state = store.get(record.key());
    ModelMonitor.Update u = monitor.apply(state == null ? ModelMonitor.State.empty() : state, o);
    store.put(record.key(), u.state());
    String version = Integer.toString(o.version());
    registry.counter(EvaluatorMeters.OUTCOMES, "model", o.model(), "version", version, "correct",
        Boolean.toString(o.correct())).increment();
    live.update(o.model(), o.version(), u.version().windowAccuracy());
    u.statistics().forEach((detector, st) -> live.detector(o.model(), o.version(), detector, st[0], st[1], st[2]));
    u.drifts().forEach(d -> {
      log.info("drift on model={} version={}: {} statistic {} > {} after {} outcomes; window accuracy before onset {} now {}",
          d.model(), d.version(), d.detector(), String.format("%.2f", d.statistic()), d.threshold(), d.window(),
          String.format("%.3f", d.accuracyBefore()), String.format("%.3f", d.accuracyRecent()));
      EvaluatorMeters.drift(registry, d.model(), d.version(), d.detector()).increment();
      context.forward(record.withValue(d));
    });
  }
}
