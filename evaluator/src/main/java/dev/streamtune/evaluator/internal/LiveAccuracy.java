package dev.streamtune.evaluator.internal;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The live windowed accuracy per model version, as the gauge {@code streamtune.evaluator.accuracy{model,version}} and for
 * readers in the same process; and each supervised detector's statistic against the threshold it fires at
 * ({@code streamtune.evaluator.detector.statistic}, {@code .threshold} and {@code .window}, tagged {@code model}, {@code version} and
 * {@code detector}). Thread-safe.
 */
public final class LiveAccuracy {
  private final MeterRegistry registry;
  private final BiConsumer<String, Integer> onVersion;
  private final Map<String, AtomicReference<Double>> values = new ConcurrentHashMap<>();
  private final Set<String> versions = ConcurrentHashMap.newKeySet();

  public LiveAccuracy(MeterRegistry registry) {
    this(registry, (model, version) -> {});
  }

  /** @param onVersion called once for each model version this process first sees served (to bind its counters at 0) */
  public LiveAccuracy(MeterRegistry registry, BiConsumer<String, Integer> onVersion) {
    this.registry = registry;
    this.onVersion = onVersion;
  }

  /** Says that {@code version} of {@code model} is being served: the first time, its counters are bound. */
  public void seen(String model, int version) {
    if (versions.add(model + "/" + version)) {
      onVersion.accept(model, version);
    }
  }

  public void update(String model, int version, double accuracy) {
    seen(model, version);
    values.computeIfAbsent(model + "/" + version, k -> {
      AtomicReference<Double> ref = new AtomicReference<>(Double.NaN);
      Gauge.builder(EvaluatorMeters.ACCURACY, ref, AtomicReference::get)
          .description("accuracy over the last outcomes of a model version (window: streamtune.evaluator.accuracy.window)")
          .tags("model", model, "version", Integer.toString(version)).register(registry);
      return ref;
    }).set(accuracy);
  }

  /** A detector's statistic after the last outcome of a model version, its threshold, and the outcomes it covers. */
  public void detector(String model, int version, String detector, double statistic, double threshold, double window) {
    seen(model, version);
    gauge("statistic", model, version, detector).set(statistic);
    gauge("threshold", model, version, detector).set(threshold);
    gauge("window", model, version, detector).set(window);
  }

  /**
   * A label-free test of a model version: {@code {statistic, the value it fires at, p-value, size of the recent window}}.
   */
  public void test(String model, int version, String detector, double[] test) {
    detector(model, version, detector, test[0], test[1], test[3]);
    gauge("pvalue", model, version, detector).set(test[2]);
  }

  private AtomicReference<Double> gauge(String what, String model, int version, String detector) {
    return values.computeIfAbsent(what + "/" + model + "/" + version + "/" + detector, k -> {
      AtomicReference<Double> ref = new AtomicReference<>(Double.NaN);
      Gauge.builder(EvaluatorMeters.DETECTOR + "." + what, ref, AtomicReference::get)
          .description(switch (what) {
            case "statistic" -> "a drift detector's statistic on a model version's stream";
            case "threshold" -> "the value of the statistic at which the detector signals drift";
            case "window" -> "the outcomes (supervised) or served inputs (label-free) the detector's statistic covers";
            default -> "the p-value of the detector's latest test";
          })
          .tags("model", model, "version", Integer.toString(version), "detector", detector).register(registry);
      return ref;
    });
  }

  /** The last windowed accuracy of a version, NaN when unknown. */
  public double get(String model, int version) {
    AtomicReference<Double> ref = values.get(model + "/" + version);
    return ref == null ? Double.NaN : ref.get();
  }
}
