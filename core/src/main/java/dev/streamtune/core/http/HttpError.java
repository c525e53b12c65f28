package dev.streamtune.core.http;

/** A request that cannot be answered: mapped to its status and a JSON body {@code {"error": message}} in one place. */
public class HttpError extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int status;

  public HttpError(int status, String message) {
    super(message);
    this.status = status;
  }

  public int status() {
    return status;
  }

  public static HttpError badRequest(String message) {
    return new HttpError(400, message);
  }

  public static HttpError notFound(String message) {
    return new HttpError(404, message);
  }
}
