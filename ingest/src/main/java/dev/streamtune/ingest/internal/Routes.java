package dev.streamtune.ingest.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.http.HttpError;
import dev.streamtune.core.http.ServiceHttp;
import java.io.IOException;

/** Request checks shared by the ingest routes. */
final class Routes {
  private Routes() {}

  /** A context matches by prefix ({@code /samples} would take {@code /samplesX}); only the exact path is ours. */
  static void requirePath(HttpExchange ex, String path) {
    String p = ex.getRequestURI().getPath();
    if (!p.equals(path) && !p.equals(path + "/")) {
      throw HttpError.notFound("no such resource " + p + "; did you mean " + path + "?");
    }
  }

  /** Refuses a declared length over the limit before reading anything, then reads at most {@code maxBytes}. */
  static byte[] readBody(HttpExchange ex, int maxBytes) throws IOException {
    String declared = ex.getRequestHeaders().getFirst("Content-Length");
    if (declared != null) {
      try {
        if (Long.parseLong(declared.trim()) > maxBytes) {
          throw new HttpError(413, "request body of " + declared.trim() + " bytes is over the limit of " + maxBytes + " bytes");
        }
      } catch (NumberFormatException e) {
        throw HttpError.badRequest("invalid Content-Length '" + declared + "'");
      }
    }
    return ServiceHttp.readBody(ex, maxBytes);
  }
}
