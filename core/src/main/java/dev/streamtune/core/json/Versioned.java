package dev.streamtune.core.json;

/** A JSON record carrying a {@code schema} version. Readers accept their own major version and reject others. */
public interface Versioned {
  /** The current major schema version written by this code. */
  int CURRENT = 1;

  int schema();

  /** Checks a schema field in a compact constructor. */
  static int check(int schema, String type) {
    if (schema != CURRENT) {
      throw new IllegalArgumentException("unsupported " + type + " schema version " + schema + " (this reader knows " + CURRENT + ")");
    }
    return schema;
  }
}
