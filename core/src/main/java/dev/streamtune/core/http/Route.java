package dev.streamtune.core.http;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;

/** A request handler; throws {@link HttpError} for a bad request. */
@FunctionalInterface
public interface Route {
  void handle(HttpExchange exchange) throws IOException;
}
