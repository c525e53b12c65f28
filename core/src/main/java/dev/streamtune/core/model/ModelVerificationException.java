package dev.streamtune.core.model;

/** A stored model that is missing, unreadable or does not match its checksum. */
public class ModelVerificationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelVerificationException(String message) {
    super(message);
  }

  public ModelVerificationException(String message, Throwable cause) {
    super(message, cause);
  }
}
