package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.json.Json;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code prometheus} as a test's process: it scrapes the given targets every second and evaluates the alert rules of
 * {@code deploy/alerts.yml} every second; queries go through its HTTP API. {@code bin/setup-debian} installs it.
 */
final class RealPrometheus implements AutoCloseable {
  private final Process process;
  private final int port;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final long startedAt = System.currentTimeMillis();

  private RealPrometheus(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  static RealPrometheus start(Path dir, List<String> targets) throws IOException {
    assertThat(Path.of("/usr/bin/prometheus")).as("Debian's prometheus (bin/setup-debian installs it)").exists();
    Files.createDirectories(dir);
    Path data = Files.createTempDirectory(dir, "data-"); // a fresh database: nothing of an earlier run answers a query
    Path rules = Path.of(System.getProperty("streamtune.repo", "..")).resolve("deploy/alerts.yml").toAbsolutePath();
    Path config = dir.resolve("prometheus.yml");
    Files.writeString(config, "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        + "rule_files: ['" + rules + "']\n"
        + "scrape_configs:\n  - job_name: streamtune\n    static_configs: [{targets: ['" + String.join("', '", targets) + "']}]\n");
    int port = freePort();
    Process p = new ProcessBuilder("/usr/bin/prometheus", "--config.file=" + config, "--storage.tsdb.path=" + data,
        "--web.listen-address=127.0.0.1:" + port, "--log.level=warn").redirectErrorStream(true)
        .redirectOutput(dir.resolve("prometheus.log").toFile()).start();
    RealPrometheus prometheus = new RealPrometheus(p, port);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (prometheus.get("/-/ready").statusCode() == 200) {
          return prometheus;
        }
      } catch (IOException e) {
        // starting
      }
      sleep(200);
    }
    prometheus.close();
    throw new AssertionError("prometheus did not start: " + Files.readString(dir.resolve("prometheus.log")));
  }

  /** The values of an instant query at {@code time} (Unix seconds): one per series, NaN where the series' value is NaN. */
  List<Double> query(String expr, double time) throws IOException {
    JsonNode body = Json.MAPPER.readTree(get("/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8)
        + "&time=" + time).body());
    assertThat(body.path("status").asText()).as("query %s: %s", expr, body).isEqualTo("success");
    List<Double> out = new ArrayList<>();
    for (JsonNode series : body.path("data").path("result")) {
      out.add(Double.parseDouble(series.path("value").get(1).asText()));
    }
    return out;
  }

  /** The series of an instant query at {@code time} as {@code {labels}=value}, for a log line. */
  List<String> describe(String expr, double time) throws IOException {
    JsonNode body = Json.MAPPER.readTree(get("/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8)
        + "&time=" + time).body());
    List<String> out = new ArrayList<>();
    for (JsonNode series : body.path("data").path("result")) {
      JsonNode m = series.path("metric");
      StringBuilder labels = new StringBuilder();
      m.fieldNames().forEachRemaining(k -> {
        if (!k.equals("job")) {
          labels.append(labels.length() == 0 ? "" : ",").append(k).append('=').append(m.path(k).asText());
        }
      });
      out.add("{" + labels + "}=" + series.path("value").get(1).asText());
    }
    return out;
  }

  /** The last evaluation time (Unix seconds) at which every target was up: before the run's services closed. */
  double lastTimeAllUp() throws IOException {
    long seconds = Math.max(1, (System.currentTimeMillis() - startedAt) / 1000);
    JsonNode body = Json.MAPPER.readTree(get("/api/v1/query?query=" + URLEncoder.encode("min(up)[" + seconds + "s:1s]",
        StandardCharsets.UTF_8)).body());
    double last = -1;
    for (JsonNode series : body.path("data").path("result")) {
      for (JsonNode v : series.path("values")) {
        if (v.get(1).asText().equals("1")) {
          last = Math.max(last, v.get(0).asDouble());
        }
      }
    }
    assertThat(last).as("a moment when every service was up").isPositive();
    return last;
  }

  /** The alerts firing at {@code time}. */
  List<String> firing(double time) throws IOException {
    JsonNode body = Json.MAPPER.readTree(get("/api/v1/query?query=" + URLEncoder.encode("ALERTS{alertstate=\"firing\"}",
        StandardCharsets.UTF_8) + "&time=" + time).body());
    List<String> out = new ArrayList<>();
    for (JsonNode series : body.path("data").path("result")) {
      out.add(series.path("metric").path("alertname").asText());
    }
    return out;
  }

  private HttpResponse<String> get(String path) throws IOException {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30))
          .build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
