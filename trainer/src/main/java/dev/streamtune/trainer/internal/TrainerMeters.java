package dev.streamtune.trainer.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import java.util.Locale;

/**
 * The trainer's meters, by name. Loop-event counters carry {@code model} and {@code version}: the version a retrain started
 * from (the champion it fine-tunes, known before the retrain), so {@link #bindVersion} registers them at 0 as soon as that
 * version serves (at start, at each promotion) and Prometheus' {@code increase()} sees the first event. Every tag is bounded:
 * the trainer's own model, versions of its lineage, and fixed sets of outcomes, reasons and reactions.
 */
public final class TrainerMeters implements MeterBinder {
  /** Failed retrains, tagged {@code model}, {@code version} and {@code reason} (one of {@link FailureReason}'s tags). */
  public static final String FAILURES = "streamtune.trainer.failures";
  /** Rejected candidates of this trainer, tagged {@code model}, {@code version} and {@code reaction}. */
  public static final String REJECTIONS = "streamtune.trainer.rejected.candidates";
  /** Retrains, tagged {@code model}, {@code version} and {@code outcome} ({@link #RETRAIN_OUTCOMES}). */
  public static final String RETRAINS = "streamtune.trainer.retrains";
  /** How a retrain ended: a candidate, failed (nothing stored), interrupted (the trainer stopped). */
  public static final List<String> RETRAIN_OUTCOMES = List.of("candidate", "failed", "interrupted");
  /** How long retrains took, tagged {@code model}, {@code version} and {@code outcome}. */
  public static final String RETRAIN_DURATION = "streamtune.trainer.retrain.duration";
  /** Heads grown for classes the champion did not know, tagged {@code model} and {@code version}. */
  public static final String HEAD_GROWTHS = "streamtune.trainer.head.growths";
  /** Samples each retrain trained on (new-domain and replayed), tagged {@code model} and {@code version}. */
  public static final String RETRAIN_SAMPLES = "streamtune.trainer.retrain.samples";
  /** Layers each retrain trained (those above the freeze boundary), tagged {@code model} and {@code version}. */
  public static final String RETRAIN_LAYERS = "streamtune.trainer.retrain.layers";
  /**
   * Label-free drift signals on a served version, tagged {@code model}, {@code version} and {@code outcome}: {@code suspected}
   * (a new suspicion), {@code confirmed} (labels showed the drop: armed), {@code dismissed} (they did not, in time).
   */
  public static final String SUSPICIONS = "streamtune.trainer.suspicions";
  /** The outcomes of a suspicion. */
  public static final List<String> SUSPICION_OUTCOMES = List.of("suspected", "confirmed", "dismissed");
  /** Samples read into the replay buffer. */
  public static final String SAMPLES_BUFFERED = "streamtune.trainer.samples.buffered";
  /** Served inputs skipped for pseudo-labels (tag reason): no key or value, or not an image of the model's input. */
  public static final String INPUTS_SKIPPED = "streamtune.trainer.inputs.skipped";
  /** Pseudo-labelled served inputs that trained a candidate. */
  public static final String PSEUDO_LABELS = "streamtune.trainer.pseudo.labels";
  /** Frozen activations of retrains by {@code result}: hit, miss, corrupt. */
  public static final String FEATURE_CACHE = "streamtune.trainer.feature.cache";
  /** Gauges: buffered samples by {@code part} (recent, reservoir). */
  public static final String BUFFER_SAMPLES = "streamtune.trainer.buffer.samples";
  /** Gauges: bytes of cached frozen activations in memory, and spilled to disk. */
  public static final String CACHE_BYTES = "streamtune.trainer.feature.cache.bytes";
  public static final String CACHE_DISK_BYTES = "streamtune.trainer.feature.cache.disk.bytes";
  /** Gauge: 1 while a retrain runs. */
  public static final String RETRAIN_ACTIVE = "streamtune.trainer.retrain.active";
  /** Gauge: 1 on the model's active trainer, 0 on a standby, tagged {@code model}. */
  public static final String ACTIVE = "streamtune.trainer.active";

  /** The reactions to a rejected candidate that are counted. */
  private static final List<TriggerPolicy.Reaction> REACTIONS = List.of(TriggerPolicy.Reaction.RETRY,
      TriggerPolicy.Reaction.GIVEN_UP);

  private final String model;

  public TrainerMeters(String model) {
    this.model = model;
  }

  /** The counters that concern no version, at 0. */
  @Override
  public void bindTo(MeterRegistry registry) {
    registry.counter(SAMPLES_BUFFERED);
    for (String result : List.of("hit", "miss", "corrupt")) {
      registry.counter(FEATURE_CACHE, "result", result);
    }
  }

  /** Registers at 0 every loop-event meter of retrains from {@code version}. Idempotent. */
  public void bindVersion(MeterRegistry registry, int version) {
    for (String outcome : RETRAIN_OUTCOMES) {
      retrains(registry, model, version, outcome);
      retrainDuration(registry, model, version, outcome);
    }
    for (FailureReason r : FailureReason.values()) {
      failures(registry, model, version, r);
    }
    for (TriggerPolicy.Reaction r : REACTIONS) {
      rejections(registry, model, version, r);
    }
    headGrowths(registry, model, version);
    retrainSamples(registry, model, version);
    retrainLayers(registry, model, version);
    for (String outcome : SUSPICION_OUTCOMES) {
      suspicions(registry, model, version, outcome);
    }
  }

  public static Counter suspicions(MeterRegistry registry, String model, int version, String outcome) {
    return registry.counter(SUSPICIONS, "model", model, "version", Integer.toString(version), "outcome", outcome);
  }

  public static DistributionSummary retrainSamples(MeterRegistry registry, String model, int version) {
    return DistributionSummary.builder(RETRAIN_SAMPLES).tags("model", model, "version", Integer.toString(version))
        .description("samples a retrain trained on, new-domain and replayed").register(registry);
  }

  public static DistributionSummary retrainLayers(MeterRegistry registry, String model, int version) {
    return DistributionSummary.builder(RETRAIN_LAYERS).tags("model", model, "version", Integer.toString(version))
        .description("layers a retrain trained, above its freeze boundary").register(registry);
  }

  public static Counter retrains(MeterRegistry registry, String model, int version, String outcome) {
    return registry.counter(RETRAINS, "model", model, "version", Integer.toString(version), "outcome", outcome);
  }

  public static Timer retrainDuration(MeterRegistry registry, String model, int version, String outcome) {
    return registry.timer(RETRAIN_DURATION, "model", model, "version", Integer.toString(version), "outcome", outcome);
  }

  public static Counter failures(MeterRegistry registry, String model, int version, FailureReason reason) {
    return registry.counter(FAILURES, "model", model, "version", Integer.toString(version), "reason", reason.tag());
  }

  public static Counter rejections(MeterRegistry registry, String model, int version, TriggerPolicy.Reaction reaction) {
    return registry.counter(REJECTIONS, "model", model, "version", Integer.toString(version), "reaction",
        reaction.name().toLowerCase(Locale.ROOT));
  }

  public static Counter headGrowths(MeterRegistry registry, String model, int version) {
    return registry.counter(HEAD_GROWTHS, "model", model, "version", Integer.toString(version));
  }
}
