package dev.streamtune.core.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.ServiceState;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The services' HTTP server against slow clients: they cannot hold its worker threads. */
class ServiceHttpTest {
  @Test
  void shouldCloseSlowClientsSoOthersAreAnswered() throws Exception {
    assertThat(System.getProperty(ServiceHttp.HTTP_MAX_REQUEST_SECONDS)).as("core's tests bound requests at 2 s").isEqualTo("2");
    try (ServiceHttp http = new ServiceHttp("test", "127.0.0.1", 0, 2,
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> ServiceState.RUNNING)) {
      http.route("/echo", ex -> {
        byte[] body = ServiceHttp.readBody(ex, 1 << 20);
        ServiceHttp.json(ex, 200, java.util.Map.of("bytes", body.length));
      });
      http.start();
      List<Socket> slow = new ArrayList<>();
      // more slow clients than worker threads: two stop in their headers, two in their body
      for (int i = 0; i < 4; i++) {
        Socket s = new Socket("127.0.0.1", http.port());
        String start = i % 2 == 0 ? "POST /echo HTTP/1.1\r\nHost: x\r\n"
            : "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc";
        s.getOutputStream().write(start.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        slow.add(s);
      }
      // the JDK server's timer (every second) closes connections older than the bound, queued ones too: the good request comes
      // 1.5 s after the slow ones, so the tick that cuts them (2-3 s) finds it younger than 2 s
      Thread.sleep(1_500);

      long t0 = System.nanoTime();
      HttpResponse<String> good = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + http.port() + "/echo")).timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString("hello")).build(),
          HttpResponse.BodyHandlers.ofString());
      double seconds = (System.nanoTime() - t0) / 1e9;

      assertThat(good.statusCode()).isEqualTo(200);
      assertThat(good.body()).contains("\"bytes\":5");
      assertThat(seconds).as("answered once the slow clients were cut, not after them").isLessThan(10);
      for (Socket s : slow) {
        s.setSoTimeout(10_000);
        try (InputStream in = s.getInputStream()) {
          assertThat(in.read()).as("the slow connection is closed").isEqualTo(-1);
        } catch (java.net.SocketException e) {
          // a reset is a close too
        }
        s.close();
      }
    }
  }

  @Test
  void shouldRequireTheBearerTokenOnServiceRoutesAndKeepMonitoringOpenAndReadOnly() throws Exception {
    String token = "s3cret-token-0123456789";
    try (ServiceHttp http = new ServiceHttp("test", "127.0.0.1", 0, 2,
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> ServiceState.RUNNING)) {
      http.route("/feedback", ex -> ServiceHttp.json(ex, 202, java.util.Map.of("status", "accepted")));
      http.requireBearerToken(token);
      http.start();
      HttpClient client = HttpClient.newHttpClient();
      java.util.function.Function<HttpRequest.Builder, HttpResponse<String>> send = b -> {
        try {
          return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      };
      URI feedback = URI.create("http://127.0.0.1:" + http.port() + "/feedback");
      URI metrics = URI.create("http://127.0.0.1:" + http.port() + "/metrics");

      HttpResponse<String> none = send.apply(HttpRequest.newBuilder(feedback).POST(HttpRequest.BodyPublishers.ofString("{}")));
      HttpResponse<String> wrong = send.apply(HttpRequest.newBuilder(feedback).header("Authorization", "Bearer guess-0123456789")
          .POST(HttpRequest.BodyPublishers.ofString("{}")));
      HttpResponse<String> right = send.apply(HttpRequest.newBuilder(feedback).header("Authorization", "Bearer " + token)
          .POST(HttpRequest.BodyPublishers.ofString("{}")));

      assertThat(none.statusCode()).isEqualTo(401);
      assertThat(none.body()).contains("\"error\"").contains("Bearer");
      assertThat(none.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
      assertThat(wrong.statusCode()).isEqualTo(403);
      assertThat(wrong.body()).contains("\"error\"").doesNotContain(token);
      assertThat(right.statusCode()).isEqualTo(202);
      assertThat(send.apply(HttpRequest.newBuilder(metrics).GET()).statusCode()).as("monitoring needs no token").isEqualTo(200);
      HttpResponse<String> post = send.apply(HttpRequest.newBuilder(metrics).POST(HttpRequest.BodyPublishers.ofString("x")));
      assertThat(post.statusCode()).isEqualTo(405);
      assertThat(post.body()).contains("use GET");
    }
  }

  @Test
  void shouldRefuseAShortTokenNamingTheKeyButNotTheValue() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.streamtune.core.config.CommonConfig.from(
        dev.streamtune.core.config.Settings.of(java.util.Map.of(dev.streamtune.core.config.CommonConfig.HTTP_TOKEN, "short1"))))
        .hasMessageContaining("streamtune.http.token").hasMessageNotContaining("short1");
    assertThat(dev.streamtune.core.config.CommonConfig.from(dev.streamtune.core.config.Settings.of(java.util.Map.of(
        dev.streamtune.core.config.CommonConfig.HTTP_TOKEN, "a-long-enough-token-1"))).toString())
        .doesNotContain("a-long-enough-token-1");
  }

  /** With a key store, every route answers HTTPS only (a client that trusts the certificate), and a bad store names the key. */
  @Test
  void shouldServeHttpsWithTheConfiguredKeyStore() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("tls");
    java.nio.file.Path store = dir.resolve("server.p12");
    Process keytool = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "streamtune", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
        "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(),
        "-storepass", "changeit-please", "-keypass", "changeit-please").redirectErrorStream(true).start();
    String out = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(keytool.waitFor()).as("keytool: %s", out).isZero();

    dev.streamtune.core.config.CommonConfig common = dev.streamtune.core.config.CommonConfig.from(
        dev.streamtune.core.config.Settings.of(java.util.Map.of(HttpTls.KEYSTORE, store.toString(), HttpTls.PASSWORD,
            "changeit-please")));
    try (ServiceHttp http = new ServiceHttp("test", "127.0.0.1", 0, 2, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
        () -> ServiceState.RUNNING, common.httpTls())) {
      http.start();
      java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
      try (InputStream in = java.nio.file.Files.newInputStream(store)) {
        trust.load(in, "changeit-please".toCharArray());
      }
      javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
          javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      HttpClient client = HttpClient.newBuilder().sslContext(ctx).connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + http.port() + "/health/ready"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("RUNNING");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + http.port() + "/health/ready")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString())).as("plain HTTP is not answered").isInstanceOf(java.io.IOException.class);
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.streamtune.core.config.CommonConfig.from(
        dev.streamtune.core.config.Settings.of(java.util.Map.of(HttpTls.KEYSTORE, store.toString(), HttpTls.PASSWORD,
            "wrong-password"))))
        .isInstanceOf(dev.streamtune.core.config.ConfigException.class).hasMessageContaining(HttpTls.KEYSTORE);
  }
}
