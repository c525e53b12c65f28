package dev.streamtune.evaluator.internal;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The live windowed accuracy per model version, as the gauge {@code streamtune.evaluator.accuracy{model,version}} and for
 * readers in the same process. Thread-safe.
 */
public final class LiveAccuracy {
  private final MeterRegistry registry;
  private final Map<String, AtomicReference<Double>> values = new ConcurrentHashMap<>();

  public LiveAccuracy(MeterRegistry registry) {
    this.registry = registry;
  }

  public void update(String model, int version, double accuracy) {
    values.computeIfAbsent(model + "/" + version, k -> {
      AtomicReference<Double> ref = new AtomicReference<>(Double.NaN);
      Gauge.builder("streamtune.evaluator.accuracy", ref, AtomicReference::get)
          .description("accuracy over the last outcomes of a model version (window: streamtune.evaluator.accuracy.window)")
          .tags("model", model, "version", Integer.toString(version)).register(registry);
      return ref;
    }).set(accuracy);
  }

  /** The last windowed accuracy of a version, NaN when unknown. */
  public double get(String model, int version) {
    AtomicReference<Double> ref = values.get(model + "/" + version);
    return ref == null ? Double.NaN : ref.get();
  }
}
