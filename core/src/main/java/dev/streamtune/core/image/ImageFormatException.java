package dev.streamtune.core.image;

import java.util.Objects;

/**
 * An image that cannot be used: no bytes, not decodable, or the wrong size. {@link #kind()} says which, so callers map it to
 * their reason without reading the message; the message names the problem for a person.
 */
public class ImageFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What is wrong with the image. */
  public enum Kind {
    /** No bytes at all. */
    EMPTY,
    /** Bytes that no installed image reader decodes. */
    NOT_AN_IMAGE,
    /** A decodable image of another size than the model takes (and the model's resize policy is none). */
    WRONG_SIZE,
    /** An image whose header claims more pixels than allowed: refused before its pixels are decoded. */
    TOO_LARGE
  }

  private final Kind kind;

  public ImageFormatException(Kind kind, String message) {
    super(message);
    this.kind = Objects.requireNonNull(kind, "kind");
  }

  /** What is wrong with the image; never null. */
  public Kind kind() {
    return kind;
  }
}
