package dev.streamtune.core.kafka;

import java.util.Objects;
import org.apache.kafka.common.serialization.Serde;

/**
 * A typed topic: name, key and value serdes, cleanup policy. Topic names appear nowhere else as literals.
 *
 * @param compacted true for {@code cleanup.policy=compact}
 */
public record Topic<K, V>(String name, Serde<K> keySerde, Serde<V> valueSerde, boolean compacted) {
  public Topic {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(keySerde, "keySerde");
    Objects.requireNonNull(valueSerde, "valueSerde");
  }
}
