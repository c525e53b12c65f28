package dev.streamtune.core.image;

/** An image that cannot be used: not decodable, or the wrong size. The message names the problem. */
public class ImageFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ImageFormatException(String message) {
    super(message);
  }
}
