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
  private final MeterRegistry registry;
  private final java.util.Map<String, java.util.concurrent.atomic.AtomicReference<Double>> gauges =
      new java.util.concurrent.ConcurrentHashMap<>();
  private ProcessorContext<String, DriftSignal> context;
  private KeyValueStore<String, ConfidenceMonitor.State> store;

  public ConfidenceProcessor(ConfidenceMonitor monitor, String storeName, MeterRegistry registry) {
    this.monitor = monitor;
    this.storeName = storeName;
    this.registry = registry;
  }

  @Override
  public void init(ProcessorContext<String, DriftSignal> context) {
    this.context = context;
    this.store = context.getStateStore(storeName);
  }

  /** The last KS test per model version: D, the D it fires at, and its p-value (beside the supervised detectors' gauges). */
  private java.util.concurrent.atomic.AtomicReference<Double> gauge(String what, Prediction p) {
    return gauges.computeIfAbsent(what + "/" + p.model() + "/" + p.version(), k -> {
      java.util.concurrent.atomic.AtomicReference<Double> ref = new java.util.concurrent.atomic.AtomicReference<>(Double.NaN);
      io.micrometer.core.instrument.Gauge.builder("streamtune.evaluator.detector." + what, ref,
              java.util.concurrent.atomic.AtomicReference::get)
          .tags("model", p.model(), "version", Integer.toString(p.version()), "detector", dev.streamtune.evaluator.ConfidenceDrift.NAME)
          .register(registry);
      return ref;
    });
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
      gauge("statistic", p).set(u.test()[0]);
      gauge("threshold", p).set(u.test()[1]);
      gauge("pvalue", p).set(u.test()[2]);
    }
    u.drift().ifPresent(d -> {
      log.info("data drift on model={} version={}: {} D {} > {} after {} predictions (recent window since {})", d.model(),
          d.version(), d.detector(), String.format("%.3f", d.statistic()), String.format("%.3f", d.threshold()), d.window(),
          d.onset());
      registry.counter(EvaluatorMeters.DRIFT_SIGNALS, "model", d.model(), "detector", d.detector()).increment();
      context.forward(record.withKey(d.model()).withValue(d));
    });
  }
}
