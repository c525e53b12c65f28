package dev.streamtune.serving.internal;

import dev.streamtune.core.http.HttpTls;
import io.grpc.BindableService;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolConfig;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolNames;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.grpc.netty.shaded.io.netty.handler.ssl.JdkSslContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serving's gRPC server (Netty): one service on its own port, with the limits and guards of serving's HTTP server: a fixed
 * pool of threads, messages of at most the request body limit (a larger one is refused by gRPC with
 * {@code RESOURCE_EXHAUSTED}), the bearer token every call must carry as {@code authorization: Bearer ...} when one is
 * configured ({@code UNAUTHENTICATED} without it, {@code PERMISSION_DENIED} with another), and TLS from the HTTP key store when
 * one is configured. {@link #start()} binds, {@link #close()} lets calls in flight finish for a few seconds, then cuts them.
 */
public final class GrpcEndpoint implements AutoCloseable {
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final long DRAIN_SECONDS = 5;

  private final Server server;
  private final ExecutorService executor;
  private final int configuredPort;

  /**
   * @param port the port to bind (0: a free one)
   * @param threads threads answering calls
   * @param maxMessageBytes the largest request message accepted
   * @param token the bearer token calls must carry, or null for none
   * @param tls the key store of the certificate to serve TLS with, or null for plain text
   */
  public GrpcEndpoint(BindableService service, String host, int port, int threads, int maxMessageBytes, String token,
      HttpTls tls) {
    this.configuredPort = port;
    AtomicInteger n = new AtomicInteger();
    this.executor = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "serving-grpc-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(host, port)).executor(executor)
        .maxInboundMessageSize(maxMessageBytes)
        .addService(token == null ? service.bindService() : ServerInterceptors.intercept(service, bearer(token)));
    if (tls != null) {
      b.sslContext(new JdkSslContext(tls.context(), false, null, IdentityCipherSuiteFilter.INSTANCE,
          new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
              ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
              ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2),
          ClientAuth.NONE, null, false));
    }
    this.server = b.build();
  }

  /** Checks every call's bearer token, in constant time, as the HTTP server does. */
  private static ServerInterceptor bearer(String token) {
    byte[] expected = token.getBytes(StandardCharsets.UTF_8);
    return new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        String h = headers.get(AUTHORIZATION);
        Status refused = null;
        if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
          refused = Status.UNAUTHENTICATED.withDescription("this service needs an authorization: Bearer token");
        } else if (!MessageDigest.isEqual(expected, h.substring(7).trim().getBytes(StandardCharsets.UTF_8))) {
          refused = Status.PERMISSION_DENIED.withDescription("the bearer token is not valid here");
        }
        if (refused != null) {
          call.close(refused, new Metadata());
          return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
      }
    };
  }

  /**
   * Binds the port and starts answering.
   *
   * @throws UncheckedIOException when the port cannot be bound
   */
  public void start() {
    try {
      server.start();
    } catch (IOException e) {
      executor.shutdownNow();
      throw new UncheckedIOException("gRPC cannot listen on port " + configuredPort + ": " + e.getMessage(), e);
    }
  }

  /** The port gRPC listens on (the free one picked when configured as 0), or -1 before {@link #start()}. */
  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(DRAIN_SECONDS, TimeUnit.SECONDS)) {
        server.shutdownNow().awaitTermination(DRAIN_SECONDS, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    } finally {
      executor.shutdownNow();
    }
  }
}
