package dev.streamtune.core.json;

/** A record that cannot be read: bad JSON, a missing or invalid field, or an unknown major schema version. */
public class RecordFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public RecordFormatException(String message) {
    super(message);
  }

  public RecordFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
