package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The alert rules under {@code deploy/} are valid and do what their unit tests say: {@code promtool test rules} on
 * {@code deploy/alerts-test.yml} (each alert fires on its story and stays quiet just short of it), and {@code promtool check
 * config} on the Prometheus configuration that loads them. promtool comes with Debian's {@code prometheus} package, which
 * {@code bin/setup-debian} installs.
 */
class AlertRulesTest {
  private static final Path DEPLOY = Path.of(System.getProperty("streamtune.repo", "..")).resolve("deploy");

  @Test
  void shouldPassTheAlertRulesUnitTests() throws Exception {
    assertThat(promtool("test", "rules", "alerts-test.yml")).contains("SUCCESS");
  }

  @Test
  void shouldLoadTheRulesFromThePrometheusConfiguration() throws Exception {
    assertThat(promtool("check", "config", "prometheus.yml")).contains("SUCCESS").contains("alerts.yml");
  }

  private static String promtool(String... args) throws Exception {
    assertThat(Path.of("/usr/bin/promtool")).as("promtool (Debian's prometheus package: bin/setup-debian installs it)")
        .exists();
    String[] cmd = new String[args.length + 1];
    cmd[0] = "/usr/bin/promtool";
    System.arraycopy(args, 0, cmd, 1, args.length);
    Process p = new ProcessBuilder(cmd).directory(DEPLOY.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("promtool %s:%n%s", String.join(" ", args), out).isZero();
    return out;
  }
}
