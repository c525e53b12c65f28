package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/**
 * A trained candidate on {@code candidates}, keyed by model name; the files are in the model store at {@code storeUri}.
 *
 * <p>A retrain that failed is announced on the same topic as a <em>failed</em> candidate: {@code failure} says why (a bounded
 * reason first, e.g. {@code "nan-loss: fine-tune diverged ..."}), nothing was stored ({@code version} is 0, {@code storeUri} and
 * {@code sha256} are empty), and {@code training} holds what the retrain was given before it failed. Readers must never try to
 * load a failed candidate. {@code failure} was added in schema 1 without a major bump: records written before it read as
 * {@code null} (a successful candidate).
 *
 * @param version the stored version, or 0 for a failed candidate
 * @param storeUri where the version's files are, empty for a failed candidate
 * @param sha256 the checksum of the version's {@code model.zip}, empty for a failed candidate
 * @param parentVersion the version the candidate was trained from (the champion at the time)
 * @param training provenance of the training (of the attempt, for a failed candidate)
 * @param failure null for a trained candidate; for a failed retrain, the reason
 * @param driftAt when the drift signal this candidate answers was detected (the start of the time to adapt); null when it
 *     answers none, and in records written before the field (schema 1 without a major bump)
 * @param signal the drift signal this candidate answers: which alarm it was ({@code detector}, {@code kind}) and the onset the
 *     retrain took its new-domain samples from (the gate's recent and guard sets follow it too); null when it answers none,
 *     and in records written before the field
 */
public record Candidate(int schema, String model, int version, String storeUri, String sha256, int parentVersion,
    TrainingSummary training, Instant timestamp, String failure, Instant driftAt, DriftSignal signal) implements Versioned {
  public Candidate {
    Versioned.check(schema, "candidate");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(storeUri, "storeUri");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(training, "training");
    if (failure == null) {
      if (storeUri.isBlank() || sha256.isBlank()) {
        throw new IllegalArgumentException("a trained candidate needs a storeUri and a sha256 (only a failed one has none): "
            + "model " + model + " version " + version);
      }
    } else if (failure.isBlank()) {
      throw new IllegalArgumentException("failure must be null (trained) or a reason, was blank");
    }
  }

  /** A candidate without a drift signal. */
  public Candidate(int schema, String model, int version, String storeUri, String sha256, int parentVersion,
      TrainingSummary training, Instant timestamp, String failure) {
    this(schema, model, version, storeUri, sha256, parentVersion, training, timestamp, failure, null, null);
  }

  /** This candidate, answering drift signal {@code d} (its detection time starts the time to adapt). */
  public Candidate answering(DriftSignal d) {
    return new Candidate(schema, model, version, storeUri, sha256, parentVersion, training, timestamp, failure, d.detectedAt(),
        d);
  }

  /** A trained candidate, stored at {@code storeUri}. */
  public Candidate(int schema, String model, int version, String storeUri, String sha256, int parentVersion,
      TrainingSummary training, Instant timestamp) {
    this(schema, model, version, storeUri, sha256, parentVersion, training, timestamp, null);
  }

  /** The record of a retrain of {@code model} from {@code parentVersion} that failed for {@code reason}: nothing was stored. */
  public static Candidate failed(String model, int parentVersion, TrainingSummary training, Instant timestamp, String reason) {
    return new Candidate(Versioned.CURRENT, model, 0, "", "", parentVersion, training, timestamp, Objects.requireNonNull(reason,
        "reason"));
  }
}
