package dev.streamtune.core.metrics;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** Creates the Prometheus registry a service exports on {@code /metrics}, tagged with the service name; the meters services share. */
public final class Metrics {
  private Metrics() {}

  /**
   * The time to adapt: from the detection of a drift to each stage of its answer, tagged {@code model} and {@code stage}:
   * {@code candidate} (trained) and {@code verdict} (the gate's, recorded by the evaluator), {@code swap} (recorded by each
   * serving node when the promotion is served).
   */
  public static final String ADAPT = "streamtune.loop.adapt";

  /** The time-to-adapt histogram of one stage (buckets from 1 s to 6 h, so quantiles add up over nodes). */
  public static io.micrometer.core.instrument.Timer adapt(io.micrometer.core.instrument.MeterRegistry registry, String model,
      String stage) {
    return io.micrometer.core.instrument.Timer.builder(ADAPT).tags("model", model, "stage", stage)
        .description("from the detection of a drift to this stage of its answer").publishPercentileHistogram()
        .minimumExpectedValue(java.time.Duration.ofSeconds(1)).maximumExpectedValue(java.time.Duration.ofHours(6))
        .register(registry);
  }

  public static PrometheusMeterRegistry newRegistry(String service) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("service", service);
    new JvmMemoryMetrics().bindTo(registry);
    // pauses and allocation; its GC listener lives as long as the JVM, as a service's registry does
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    return registry;
  }
}
