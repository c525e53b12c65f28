package dev.streamtune.core.json;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The one JSON mapper of StreamTune: ISO-8601 instants, unknown fields ignored (minor versions may add fields). Thread-safe. */
public final class Json {
  public static final ObjectMapper MAPPER = new ObjectMapper()
      .registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      // accuracies are NaN when a set is empty
      .enable(com.fasterxml.jackson.core.JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS);

  private Json() {}

  /** Serialises a value to UTF-8 JSON bytes. */
  public static byte[] toBytes(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }

  /** Serialises a value to a pretty JSON string. */
  public static String toPrettyString(Object value) {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }

  /** Reads a value; throws {@link RecordFormatException} naming the type and the problem when the bytes are not such a value. */
  public static <T> T fromBytes(byte[] bytes, Class<T> type) {
    if (bytes == null) {
      throw new RecordFormatException("empty " + type.getSimpleName() + " record");
    }
    try {
      return MAPPER.readValue(bytes, type);
    } catch (IOException e) {
      String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().split("\n", 2)[0];
      throw new RecordFormatException("not a valid " + type.getSimpleName() + " record: " + msg, e);
    } catch (IllegalArgumentException e) {
      throw new RecordFormatException("invalid " + type.getSimpleName() + " record: " + e.getMessage(), e);
    }
  }
}
