package dev.streamtune.serving.internal;

import dev.streamtune.core.model.LoadedModel;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The model that answers new batches. Swapping publishes a loaded, warmed model to the inference worker, which reads the
 * reference once per batch; a batch that already started keeps the model it read. Thread-safe.
 */
public final class ModelHolder {
  private final AtomicReference<LoadedModel> current = new AtomicReference<>();

  /** The model serving now, or null before the first one is loaded. */
  public LoadedModel current() {
    return current.get();
  }

  /** The version serving now, empty before the first one. */
  public OptionalInt version() {
    LoadedModel m = current.get();
    return m == null ? OptionalInt.empty() : OptionalInt.of(m.version());
  }

  /** Makes {@code next} the model of every later batch; returns the one it replaces, or null. */
  public LoadedModel swap(LoadedModel next) {
    return current.getAndSet(Objects.requireNonNull(next, "next"));
  }
}
