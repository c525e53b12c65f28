package dev.streamtune.core.json;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** Kafka serde for a JSON record type. A record that cannot be read raises {@link SerializationException} with the reason. */
public final class JsonSerde<T> implements Serde<T> {
  private final Class<T> type;

  public JsonSerde(Class<T> type) {
    this.type = type;
  }

  public Class<T> type() {
    return type;
  }

  @Override
  public Serializer<T> serializer() {
    return (topic, value) -> value == null ? null : Json.toBytes(value);
  }

  @Override
  public Deserializer<T> deserializer() {
    return (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      try {
        return Json.fromBytes(bytes, type);
      } catch (RecordFormatException e) {
        throw new SerializationException(e.getMessage(), e);
      }
    };
  }
}
