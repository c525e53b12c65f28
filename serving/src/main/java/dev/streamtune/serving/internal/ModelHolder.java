package dev.streamtune.serving.internal;

import dev.streamtune.core.model.LoadedModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The model that answers new batches, and the versions kept loaded beside it. Swapping publishes a loaded, warmed model to the
 * inference worker, which reads the reference once per batch; a batch that already started keeps the model it read. The serving
 * version plus the {@code keepPrevious} versions served most recently before it stay loaded, so a request may pin one of them;
 * older ones are dropped (a request that already holds one still finishes on it). Thread-safe: readers see one immutable
 * snapshot.
 */
public final class ModelHolder {
  /** The serving model and the loaded ones by version, the serving one included. */
  private record Snapshot(LoadedModel current, Map<Integer, LoadedModel> loaded) {}

  private final AtomicReference<Snapshot> state = new AtomicReference<>(new Snapshot(null, Map.of()));
  private final int keepPrevious;

  /** Keeps only the serving version loaded. */
  public ModelHolder() {
    this(0);
  }

  /** @param keepPrevious how many versions served before the current one stay loaded (>= 0) */
  public ModelHolder(int keepPrevious) {
    if (keepPrevious < 0) {
      throw new IllegalArgumentException("keepPrevious must be >= 0, was " + keepPrevious);
    }
    this.keepPrevious = keepPrevious;
  }

  /** The model serving now, or null before the first one is loaded. */
  public LoadedModel current() {
    return state.get().current();
  }

  /** The version serving now, empty before the first one. */
  public OptionalInt version() {
    LoadedModel m = current();
    return m == null ? OptionalInt.empty() : OptionalInt.of(m.version());
  }

  /** A loaded version (the serving one or one kept), if loaded. */
  public Optional<LoadedModel> get(int version) {
    return Optional.ofNullable(state.get().loaded().get(version));
  }

  /** The loaded versions, ascending. */
  public List<Integer> loadedVersions() {
    List<Integer> v = new ArrayList<>(state.get().loaded().keySet());
    v.sort(null);
    return v;
  }

  /** How many versions stay loaded beside the serving one. */
  public int keepPrevious() {
    return keepPrevious;
  }

  /** True when {@link #retain} would keep one more previous version. */
  public boolean hasRoom() {
    return state.get().loaded().size() < keepPrevious + 1;
  }

  /**
   * Keeps {@code older} loaded as a version served before all those loaded now (so it is the first to go), when there is room
   * and it is not loaded yet; for a node that boots and loads the versions its peers kept.
   *
   * @return true when it was kept
   */
  public boolean retain(LoadedModel older) {
    Objects.requireNonNull(older, "older");
    while (true) {
      Snapshot s = state.get();
      if (s.current() == null || s.loaded().containsKey(older.version()) || s.loaded().size() >= keepPrevious + 1) {
        return false;
      }
      LinkedHashMap<Integer, LoadedModel> loaded = new LinkedHashMap<>();
      loaded.put(older.version(), older);
      loaded.putAll(s.loaded());
      if (state.compareAndSet(s, new Snapshot(s.current(), java.util.Collections.unmodifiableMap(loaded)))) {
        return true;
      }
    }
  }

  /**
   * Makes {@code next} the model of every later batch and keeps the previous ones up to the limit; returns the one it replaces
   * as serving, or null.
   */
  public LoadedModel swap(LoadedModel next) {
    Objects.requireNonNull(next, "next");
    while (true) {
      Snapshot s = state.get();
      // order of service, oldest first: the map iterates in insertion order, the serving one is re-inserted last
      LinkedHashMap<Integer, LoadedModel> loaded = new LinkedHashMap<>(s.loaded());
      loaded.remove(next.version());
      loaded.put(next.version(), next);
      while (loaded.size() > keepPrevious + 1) {
        loaded.remove(loaded.keySet().iterator().next());
      }
      if (state.compareAndSet(s, new Snapshot(next, java.util.Collections.unmodifiableMap(loaded)))) {
        return s.current();
      }
    }
  }
}
