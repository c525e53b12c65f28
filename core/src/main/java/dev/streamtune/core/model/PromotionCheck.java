package dev.streamtune.core.model;

import dev.streamtune.core.records.Promotion;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one check every reader of {@code promotions} makes before it believes a promotion (the trainer, the gate, feature drift,
 * serving): the model name is valid, the version is in the store, and its sha256 is the one promoted. A refused promotion is
 * counted in {@value #REFUSED} by {@code reason} and logged once per record; the reader keeps the champion it had, so everyone
 * agrees with what serving really serves.
 */
public final class PromotionCheck {
  /**
   * Refused promotions, tagged {@code model} (the reader's own model), {@code reader} ({@code trainer}, {@code gate},
   * {@code features}, {@code serving}) and {@code reason} (a {@link Reason} tag).
   */
  public static final String REFUSED = "streamtune.promotions.refused";
  private static final Logger log = LoggerFactory.getLogger(PromotionCheck.class);

  /** Why a promotion was refused. */
  public enum Reason {
    BAD_NAME, NO_SUCH_VERSION, SHA256_MISMATCH;

    public String tag() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /** A refusal: the reason's kind and the words. */
  public record Refusal(Reason reason, String text) {}

  private final ModelStore store;
  private final MeterRegistry registry;
  private final String reader;

  /**
   * @param reader who reads, for the log line (e.g. {@code trainer})
   * @param model the reader's model: its refusal counters exist at 0 from the start
   */
  public PromotionCheck(ModelStore store, MeterRegistry registry, String reader, String model) {
    this.store = store;
    this.registry = registry;
    this.reader = reader;
    for (Reason r : Reason.values()) {
      registry.counter(REFUSED, "model", model, "reader", reader, "reason", r.tag());
    }
  }

  /** Why {@code p} cannot be believed, or empty when its version is in the store with the promoted sha256. */
  public static Optional<Refusal> refusal(ModelStore store, Promotion p) {
    return refusal(store, p.model(), p.version(), p.sha256());
  }

  /**
   * Why a version announced by a record ({@code promotions}, {@code candidates}) cannot be believed: the model name is invalid,
   * the store has no such version, or {@code sha256} is not the stored one; empty when it can.
   */
  public static Optional<Refusal> refusal(ModelStore store, String model, int version, String sha256) {
    try {
      ModelStore.checkName(model);
    } catch (IllegalArgumentException e) {
      return Optional.of(new Refusal(Reason.BAD_NAME, e.getMessage()));
    }
    Optional<Manifest> m = store.manifest(model, version);
    if (m.isEmpty()) {
      return Optional.of(new Refusal(Reason.NO_SUCH_VERSION, "the store has no version " + version + " of " + model));
    }
    if (!m.get().sha256().equalsIgnoreCase(sha256)) {
      return Optional.of(new Refusal(Reason.SHA256_MISMATCH, "sha256 " + sha256 + " is not that of the stored "
          + model + " v" + version + " (" + m.get().sha256() + ")"));
    }
    return Optional.empty();
  }

  /**
   * Whether {@code p} can be believed; a refusal is counted and logged.
   *
   * @param ownModel the reader's model (only its refusals are counted, so no tag takes a value from a record)
   */
  public boolean accept(Promotion p, String ownModel) {
    Optional<Refusal> r = refusal(store, p);
    if (r.isEmpty()) {
      return true;
    }
    if (p.model().equals(ownModel)) {
      registry.counter(REFUSED, "model", ownModel, "reader", reader, "reason", r.get().reason().tag()).increment();
    }
    log.warn("{} refuses the promotion of {} v{}: {}; keeps its champion", reader, p.model(), p.version(), r.get().text());
    return false;
  }
}
