package dev.streamtune.evaluator.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * A processor's key-value store with the values it last read or wrote kept deserialized, for a state that is read and rewritten
 * on every record (a monitor's windows: 4–7 KB of JSON each, read and written 80+ times a second). Writes still go to the
 * store, so its changelog stays the state of record for exactly-once (the topology enables the store's cache, which sends
 * one changelog record per key per commit); reads after the first come from memory. Streams re-creates a task's processors
 * when it re-creates the task (rebalance, or an aborted transaction), so the memo never outlives the store's content it
 * mirrors. The stored values must be immutable (the monitors' states are). At most {@link #MAX_KEYS} keys are kept, least
 * recently used out first.
 */
final class MemoizedStore<V> {
  static final int MAX_KEYS = 64;
  private final KeyValueStore<String, V> store;
  private final Map<String, V> memo = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
      return size() > MAX_KEYS;
    }
  };

  MemoizedStore(KeyValueStore<String, V> store) {
    this.store = store;
  }

  V get(String key) {
    V v = memo.get(key);
    if (v == null) {
      v = store.get(key);
      if (v != null) {
        memo.put(key, v);
      }
    }
    return v;
  }

  void put(String key, V value) {
    store.put(key, value);
    memo.put(key, value);
  }

  void delete(String key) {
    store.delete(key);
    memo.remove(key);
  }
}
