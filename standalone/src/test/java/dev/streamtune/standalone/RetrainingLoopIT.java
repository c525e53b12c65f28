package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.standalone.demo.Demo;
import dev.streamtune.standalone.demo.DemoOptions;
import dev.streamtune.standalone.demo.DemoSummary;
import dev.streamtune.trainer.Pretrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The whole loop on a real embedded broker, real HTTP and real DL4J models: clean traffic, a shift, drift, a fine-tuned
 * candidate, the gate, the hot swap and better answers on the shifted domain. The demo's code path, at a smaller size.
 */
class RetrainingLoopIT {
  @Test
  void shouldDetectTheShiftRetrainPromoteAndServeABetterModel() throws IOException {
    Path work = Path.of(System.getProperty("streamtune.test.tmp", "target")).resolve("loop-it-work");
    // 2,500 clean labelled samples: ~20 % are held out, so the gate's guard set has ~500 samples and a 2-point guard drop
    // is a real one, not the noise of a small set
    // the services on known ports, scraped by a real Prometheus (Debian's) with the alert rules of deploy/
    Map<String, String> settings = new java.util.HashMap<>(Map.of("streamtune.trainer.min-new-samples", "800",
        "streamtune.trainer.cooldown", "5s"));
    List<String> targets = new ArrayList<>();
    for (String service : List.of("serving", "ingest", "evaluator", "trainer")) {
      int port = RealPrometheus.freePort();
      settings.put("streamtune." + service + ".port", String.valueOf(port));
      targets.add("localhost:" + port);
    }
    DemoOptions o = new DemoOptions(TestData.dataDir(), work, Corruption.CONTRAST, 2_500, 800, 12_000, 600, 0.8,
        Duration.ofMillis(300), 150, 4, new Pretrainer.Options(8_000, 1, 64, 1e-3, 42),
        // a rejected first candidate is retried on more samples (5 s cool-down here); the shifted stream lasts long enough
        settings, Duration.ofMinutes(8), 11, System.out::println);

    DemoSummary s;
    try (RealPrometheus prometheus = RealPrometheus.start(work.resolve("prometheus"), targets)) {
      s = Demo.run(o);
      assertPanelsAndAlertsOnARealPrometheus(prometheus);
    }

    assertThat(s.falseAlarms()).as("drift alarms before the shift").isZero();
    assertThat(s.driftSecondsAfterShift()).as("drift detected after the shift").isNotNull();
    assertThat(s.supervisedDriftSecondsAfterShift()).as("drift seen in the labelled error stream too").isNotNull();
    assertThat(s.candidate()).as("a candidate was trained").isNotNull();
    // the freeze policy picks the boundary; the backbone's first layer is never retrained and the head always is
    assertThat(s.candidate().layersTrained()).contains("head").doesNotContain("conv1");
    assertThat(s.gate().verdict()).as("the gate's last verdict: %s", s.gate()).isEqualTo("PROMOTE");
    assertThat(s.promotedVersion()).isEqualTo(s.candidate().version()).isGreaterThan(s.baseVersion());
    assertThat(s.servedAfter()).as("answers by the promoted version").isGreaterThan(300);
    assertThat(s.failedRequests()).isZero();
    // accuracy on the shifted domain after the swap beats before by more than chance could give (one-sided z > 3)
    assertThat(s.improvementZ()).isGreaterThan(3.0);
    assertThat(s.accuracyAfter()).isGreaterThan(s.shiftedAccuracyBefore() + 0.05);
    assertThat(s.loopClosed()).as(s.reason()).isTrue();
    assertDashboardsUseExportedMetrics(Path.of(s.runDirectory(), "metrics"));
    assertReportShowsTheRun(s);
  }

  /**
   * At the last moment every service was up (just before the demo closed them), every expression of every dashboard panel
   * returns data with a number in it, the drift alert fires and the alerts of a broken deployment do not.
   */
  private static void assertPanelsAndAlertsOnARealPrometheus(RealPrometheus prometheus) throws IOException {
    double at = prometheus.lastTimeAllUp();
    Path dashboards = Path.of(System.getProperty("streamtune.repo", "..")).resolve("grafana/dashboards");
    List<String> empty = new ArrayList<>();
    int panels = 0;
    try (Stream<Path> files = Files.list(dashboards)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
        for (com.fasterxml.jackson.databind.JsonNode panel : dev.streamtune.core.json.Json.MAPPER.readTree(f.toFile())
            .path("panels")) {
          for (com.fasterxml.jackson.databind.JsonNode target : panel.path("targets")) {
            String expr = target.path("expr").asText();
            panels++;
            List<Double> values = prometheus.query(expr, at);
            System.out.printf("prometheus: %s: %s%n", panel.path("title").asText(), prometheus.describe(expr, at));
            if (values.stream().noneMatch(Double::isFinite)) {
              empty.add(panel.path("title").asText() + ": " + expr + " -> " + values);
            }
          }
        }
      }
    }
    assertThat(panels).isGreaterThan(5);
    assertThat(empty).as("panels without data at the end of the run").isEmpty();
    List<String> firing = prometheus.firing(at);
    System.out.println("prometheus: alerts firing at the end of the run: " + firing);
    assertThat(firing).as("alerts firing").contains("StreamTuneDriftDetected")
        .doesNotContain("StreamTuneServiceDown", "StreamTuneServiceNotReady", "StreamTuneServingErrors", "StreamTuneRetrainFailed");
    // the base version's accuracy fell below the SLO after the shift: the alert was pending (it fires after 2 minutes below,
    // longer than this run's shifted phase; deploy/alerts-test.yml tests the firing)
    assertThat(prometheus.query("max_over_time(ALERTS{alertname=\"StreamTuneAccuracyBelowSLO\",version=\"1\"}[30m])", at))
        .as("accuracy below the SLO seen for v1 during the run").isNotEmpty();
  }

  /** The run's HTML report is there, its charts are real PNG images, and its verdicts table holds the promotion. */
  private static void assertReportShowsTheRun(DemoSummary s) throws IOException {
    assertThat(s.report()).as("report path in the summary").isNotNull();
    Path html = Path.of(s.report());
    assertThat(html).isEqualTo(Path.of(s.runDirectory(), "report", "report.html")).isRegularFile();
    List<Path> charts;
    try (Stream<Path> files = Files.list(html.getParent())) {
      charts = files.filter(p -> p.getFileName().toString().endsWith(".png")).toList();
    }
    assertThat(charts).as("charts beside the report").isNotEmpty();
    for (Path png : charts) {
      assertThat(ImageIO.read(png.toFile())).as(png + " decodes as an image").isNotNull();
    }
    assertThat(Files.readString(html)).contains("<img src=\"chart-1.png\"").contains("PROMOTE")
        .contains("v" + s.promotedVersion() + " promoted");
  }

  /** Every metric a Grafana panel queries was exported by a service during the run (scraped over HTTP at its end). */
  private static void assertDashboardsUseExportedMetrics(Path scrapes) throws IOException {
    StringBuilder exported = new StringBuilder();
    try (Stream<Path> files = Files.list(scrapes)) {
      for (Path f : files.toList()) {
        exported.append(Files.readString(f));
      }
    }
    Set<String> names = new TreeSet<>();
    Matcher line = Pattern.compile("(?m)^((?:streamtune|kafka)_[a-z0-9_]+)[{ ]").matcher(exported);
    while (line.find()) {
      names.add(line.group(1));
    }
    Path dashboards = Path.of(System.getProperty("streamtune.repo", "..")).resolve("grafana/dashboards");
    List<String> used = new ArrayList<>();
    try (Stream<Path> files = Files.list(dashboards)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
        Matcher m = Pattern.compile("streamtune_[a-z0-9_]+").matcher(Files.readString(f));
        while (m.find()) {
          used.add(m.group());
        }
      }
    }
    // the alert rules too (their own metric names, and the Kafka clients' lag)
    Path alerts = dashboards.getParent().getParent().resolve("deploy").resolve("alerts.yml");
    Matcher a = Pattern.compile("(?:streamtune|kafka)_[a-z0-9_]+").matcher(Files.readString(alerts));
    int fromAlerts = 0;
    while (a.find()) {
      used.add(a.group());
      fromAlerts++;
    }
    assertThat(fromAlerts).as("metric names in deploy/alerts.yml").isGreaterThan(10);
    assertThat(used).isNotEmpty();
    assertThat(used).allSatisfy(u -> assertThat(names).as("exported metrics").contains(u));
  }
}
