package dev.streamtune.core.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.json.Json;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP face of a service: {@code /metrics} (Prometheus text), {@code /health/live}, {@code /health/ready} and the service's
 * own routes. Maps {@link HttpError} to its status with a JSON body naming the problem, and anything else to 500, in one place.
 */
public final class ServiceHttp implements AutoCloseable {
  /** The JDK HTTP server's switch for {@code TCP_NODELAY} on accepted connections. */
  public static final String HTTP_NODELAY = "sun.net.httpserver.nodelay";

  /**
   * The JDK HTTP server's bound, in seconds, on receiving a request (headers and body) and answering it: a connection that takes
   * longer is closed, and the worker thread it held is free again. Default {@value #DEFAULT_REQUEST_SECONDS}.
   */
  public static final String HTTP_MAX_REQUEST_SECONDS = "sun.net.httpserver.maxReqTime";
  /** The same bound on sending a response, in seconds (a client that does not read). Default {@value #DEFAULT_REQUEST_SECONDS}. */
  public static final String HTTP_MAX_RESPONSE_SECONDS = "sun.net.httpserver.maxRspTime";
  static final int DEFAULT_REQUEST_SECONDS = 30;

  static {
    // The JDK's HTTP server writes a response's headers and its body as two TCP segments. With Nagle's algorithm on (its
    // default), the body waits for the client's ACK of the headers, which a client delays by up to 40 ms: measured on loopback,
    // 45 ms p50 per request against 0.4 ms with TCP_NODELAY. The server reads the flag once, when the JVM makes its first HTTP
    // server, so it is set when this class loads, before any service's HTTP server starts; an operator's own -D setting wins.
    if (System.getProperty(HTTP_NODELAY) == null) {
      System.setProperty(HTTP_NODELAY, "true");
    }
    // Without a bound the JDK server waits forever for a request's headers and body, on a worker thread: a few slow (or
    // hostile) clients held every thread of a service. The server reads these once too; an operator's -D setting wins.
    for (String key : new String[] {HTTP_MAX_REQUEST_SECONDS, HTTP_MAX_RESPONSE_SECONDS}) {
      if (System.getProperty(key) == null) {
        System.setProperty(key, Integer.toString(DEFAULT_REQUEST_SECONDS));
      }
    }
  }

  private static final Logger log = LoggerFactory.getLogger(ServiceHttp.class);
  /** The readiness gauge every service exports: 1 while RUNNING, else 0. */
  public static final String READY = "streamtune.service.ready";
  private final HttpServer server;
  private final ExecutorService executor;
  private final MeterRegistry registry;
  private final String service;
  private volatile byte[] token;
  private volatile Supplier<String> cause = () -> null;

  /**
   * Binds the server (port 0 picks a free port) but does not start it.
   *
   * @param state supplies the service state for readiness
   */
  public ServiceHttp(String service, String host, int port, int threads, PrometheusMeterRegistry registry,
      Supplier<ServiceState> state) {
    this(service, host, port, threads, registry, state, null);
  }

  /**
   * Binds the server, HTTPS when {@code tls} is given (every route, {@code /metrics} and {@code /health} too), but does not
   * start it.
   *
   * @param tls the key store of the server's certificate, or null for plain HTTP
   * @throws dev.streamtune.core.config.ConfigException when the key store cannot be read or holds no key
   */
  public ServiceHttp(String service, String host, int port, int threads, PrometheusMeterRegistry registry,
      Supplier<ServiceState> state, HttpTls tls) {
    this.service = service;
    this.registry = registry;
    try {
      if (tls == null) {
        server = HttpServer.create(new InetSocketAddress(host, port), 256);
      } else {
        com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(new InetSocketAddress(host, port),
            256);
        https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls.context()));
        server = https;
      }
    } catch (BindException e) {
      throw new IllegalStateException(service + " cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new IllegalStateException(service + " cannot open HTTP on " + host + ":" + port, e);
    }
    AtomicInteger n = new AtomicInteger();
    executor = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, service + "-http-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    // 1 while the service is RUNNING: an alert on 0 (starting for long, or FAILED) needs no HTTP probe of its own
    io.micrometer.core.instrument.Gauge.builder(READY, state, st -> st.get() == ServiceState.RUNNING ? 1 : 0).tag("service", service)
        .description("1 while the service is ready (RUNNING), 0 while starting, failed or stopping").register(registry);
    // open to monitoring without a token, and read-only: GET (or HEAD) only
    add("/metrics", false, ex -> {
      requireGet(ex);
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      send(ex, 200, body);
    });
    add("/health/live", false, ex -> {
      requireGet(ex);
      json(ex, 200, Map.of("status", "UP"));
    });
    add("/health/ready", false, ex -> {
      requireGet(ex);
      ServiceState s = state.get();
      String why = s == ServiceState.FAILED ? cause.get() : null;
      json(ex, s == ServiceState.RUNNING ? 200 : 503, why == null ? Map.of("status", s.name())
          : Map.of("status", s.name(), "cause", why));
    });
  }

  /**
   * Requires {@code Authorization: Bearer <token>} on every route a service adds ({@code /metrics} and {@code /health/*} stay
   * open): none answers 401, another token 403, each with a JSON error. Null leaves the routes open. Call before
   * {@link #start()}.
   */
  public void requireBearerToken(String token) {
    this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
  }

  /** Where {@code /health/ready} finds why the service FAILED (e.g. {@code Lifecycle::cause}), said as {@code "cause"}. */
  public void reportCause(Supplier<String> cause) {
    this.cause = cause;
  }

  /** Adds a route for a path prefix; errors are mapped to JSON responses. */
  public void route(String path, Route route) {
    add(path, true, route);
  }

  private void add(String path, boolean guarded, Route route) {
    server.createContext(path, ex -> {
      try (ex) {
        try {
          if (guarded) {
            authorize(ex);
          }
          route.handle(ex);
        } catch (HttpError e) {
          registry.counter("streamtune.http.errors", "service", service, "status", String.valueOf(e.status())).increment();
          json(ex, e.status(), Map.of("error", e.getMessage()));
        } catch (RuntimeException e) {
          log.error("{} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
          registry.counter("streamtune.http.errors", "service", service, "status", "500").increment();
          json(ex, 500, Map.of("error", "internal error: " + e));
        }
      } catch (IOException e) {
        log.debug("client went away: {}", e.toString());
      }
    });
  }

  public void start() {
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Reads the body, refusing one over {@code maxBytes} with 413. */
  public static byte[] readBody(HttpExchange ex, int maxBytes) throws IOException {
    try (InputStream in = ex.getRequestBody()) {
      byte[] body = in.readNBytes(maxBytes + 1);
      if (body.length > maxBytes) {
        throw new HttpError(413, "request body over the limit of " + maxBytes + " bytes");
      }
      return body;
    }
  }

  private void authorize(HttpExchange ex) {
    byte[] expected = token;
    if (expected == null) {
      return;
    }
    String h = ex.getRequestHeaders().getFirst("Authorization");
    if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"streamtune\"");
      throw new HttpError(401, "this endpoint needs an Authorization: Bearer token");
    }
    // constant time: the comparison says nothing about how much of a guess was right
    if (!java.security.MessageDigest.isEqual(expected, h.substring(7).trim().getBytes(StandardCharsets.UTF_8))) {
      throw new HttpError(403, "the bearer token is not valid here");
    }
  }

  private static void requireGet(HttpExchange ex) {
    String m = ex.getRequestMethod();
    if (!m.equalsIgnoreCase("GET") && !m.equalsIgnoreCase("HEAD")) {
      ex.getResponseHeaders().set("Allow", "GET, HEAD");
      throw new HttpError(405, "method " + m + " not allowed here; use GET");
    }
  }

  /** Refuses a method other than the expected one with 405. */
  public static void requireMethod(HttpExchange ex, String method) {
    if (!ex.getRequestMethod().equalsIgnoreCase(method)) {
      throw new HttpError(405, "method " + ex.getRequestMethod() + " not allowed here; use " + method);
    }
  }

  public static void json(HttpExchange ex, int status, Object body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "application/json");
    send(ex, status, Json.toBytes(body));
  }

  /** Answers a body of another media type (e.g. an XML document), UTF-8. */
  public static void text(HttpExchange ex, int status, String contentType, String body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", contentType + "; charset=utf-8");
    send(ex, status, body.getBytes(StandardCharsets.UTF_8));
  }

  /** Answers a binary body of the given media type. */
  public static void bytes(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", contentType);
    send(ex, status, body);
  }

  private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  /** Parses the query string into a map (last value wins). */
  public static Map<String, String> query(HttpExchange ex) {
    String q = ex.getRequestURI().getRawQuery();
    Map<String, String> m = new java.util.HashMap<>();
    if (q == null || q.isEmpty()) {
      return m;
    }
    for (String part : q.split("&")) {
      int i = part.indexOf('=');
      String k = java.net.URLDecoder.decode(i < 0 ? part : part.substring(0, i), StandardCharsets.UTF_8);
      String v = i < 0 ? "" : java.net.URLDecoder.decode(part.substring(i + 1), StandardCharsets.UTF_8);
      m.put(k, v);
    }
    return m;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
