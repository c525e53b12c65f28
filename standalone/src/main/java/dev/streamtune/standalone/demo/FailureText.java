package dev.streamtune.standalone.demo;

/** Reading a failed candidate's {@code failure} text, which starts with its bounded reason ({@code "nan-loss: ..."}). */
final class FailureText {
  private FailureText() {}

  /** The reason before the first colon, or the whole text when there is none. */
  static String reasonTag(String failure) {
    int colon = failure.indexOf(':');
    return colon > 0 ? failure.substring(0, colon) : failure;
  }
}
