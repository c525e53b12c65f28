package dev.streamtune.standalone.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.testing.TestData;
import dev.streamtune.standalone.StreamTuneCli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs {@code streamtune eval --quick} end to end on real Fashion-MNIST, a base pretrained into a fresh store, real files. */
class EvalCommandIT {
  @Test
  void shouldWriteEveryScenarioAndBaselineRowWithAccuraciesInRange() throws Exception {
    Path dir = TestData.tempDir("eval-it");
    Path out = dir.resolve("docs");

    int rc = StreamTuneCli.execute("eval", "--quick", "--store", dir.resolve("store").toString(), "--work",
        dir.resolve("work").toString(), "--out", out.toString());

    assertThat(rc).isZero();
    String md = Files.readString(out.resolve("evaluation.md"));
    assertThat(md).contains("bin/streamtune eval --quick").contains("no GPU").doesNotContain("PARTIAL");
    List<String> scenarios = Backbone.CNN.scenarios();
    List<String[]> rows = rows(md, scenarios);
    for (String scenario : scenarios) {
      assertThat(md).contains("### " + scenario);
      for (String method : Row.METHODS) {
        boolean abrupt = List.of("night", "invert", "rot90", "blur").contains(scenario);
        if (scenario.equals("stationary") && method.equals(Row.ORACLE) || !abrupt && (List.of(Row.DEEPER, Row.EARLIER,
            Row.SCRATCH).contains(method) || Row.LABEL_CHOICES.contains(method) || method.equals(Row.PSEUDO))) {
          continue;
        }
        assertThat(rows).as(scenario + " / " + method).anyMatch(r -> r[0].equals(scenario) && r[2].equals(method));
      }
    }
    assertAccuraciesInRange(rows);
    // the quick run's label-efficiency curves (40 and 120 labels): every technique on every abrupt shift
    assertThat(md).contains("## Label efficiency").contains("half the labels of plain fine-tuning");
    for (String scenario : List.of("night", "invert", "rot90", "blur")) {
      for (var t : ScenarioRunner.TECHNIQUES) {
        assertThat(md).as(scenario + " / " + t.name()).containsPattern("\\| " + scenario + " \\| " + java.util.regex.Pattern
            .quote(t.name()) + " \\| 120 \\| ");
      }
    }
    assertThat(md).contains("| goal | measured | met |").containsPattern("\\*\\*(met|not met)\\*\\*");
    assertThat(out.resolve("evaluation").resolve("report.html")).exists();
  }

  @Test
  void shouldEvaluateTheRgbResidualGraphOnItsOwnFile() throws Exception {
    Path dir = TestData.tempDir("eval-rgb-it");
    Path out = dir.resolve("docs");

    int rc = StreamTuneCli.execute("eval", "--quick", "--backbone", "resnet", "--scenarios", "cast-blur", "-s",
        "streamtune.trainer.lower-rate-factor=0.05", "-s", "streamtune.trainer.replay-min=300", "--store",
        dir.resolve("store").toString(), "--work", dir.resolve("work").toString(), "--out", out.toString());

    assertThat(rc).isZero();
    assertThat(out.resolve("evaluation.md")).doesNotExist();
    String md = Files.readString(out.resolve("evaluation-resnet.md"));
    assertThat(md).contains("RGB residual graph").contains("--backbone resnet").contains("### cast-blur")
        .contains("fashion-rgb v1")
        // the trainer settings given with -s are the ones the fine-tunes and the replay ran with
        .contains("at x0.05").contains("at least 300");
    List<String[]> rows = rows(md, List.of("cast-blur"));
    for (String method : Row.METHODS) {
      if (method.equals(Row.EARLIER)) {
        assertThat(rows).as("a new head on an earlier stage: grey CNN only").noneMatch(r -> r[2].equals(method));
        continue;
      }
      assertThat(rows).as(method).anyMatch(r -> r[2].equals(method));
    }
    assertThat(rows).as("the graph's boundaries").anyMatch(r -> r[2].equals(Row.HEAD) && r[3].equals("fc"))
        .anyMatch(r -> r[2].equals(Row.DEEPER) && r[3].equals("block2"));
    assertAccuraciesInRange(rows);
    assertThat(out.resolve("evaluation-resnet").resolve("report.html")).exists();
  }

  private static List<String[]> rows(String md, List<String> scenarios) {
    // the results tables' rows (other tables, e.g. the estimates, also start with a scenario's name)
    return md.lines().filter(l -> l.startsWith("| ") && scenarios.contains(cells(l)[0])).map(EvalCommandIT::cells)
        .filter(c -> c.length >= EvalWriter.HEADER.size()).toList();
  }

  private static void assertAccuraciesInRange(List<String[]> rows) {
    assertThat(rows).isNotEmpty();
    for (String[] r : rows) {
      // new before, new after, oracle, clean before, clean after
      for (int i : new int[] {5, 6, 7, 9, 10}) {
        if (r[0].equals("stationary") && i == 7) {
          assertThat(r[i]).isEqualTo("n/a");
          continue;
        }
        assertThat(Double.parseDouble(r[i])).as(Arrays.toString(r) + " column " + i).isBetween(0.0, 1.0);
      }
    }
  }

  @Test
  void shouldRejectAnUnknownScenarioNamingTheOption() {
    assertThat(usageError("eval", "--quick", "--scenarios", "night,fog")).contains("--scenarios").contains("fog");
  }

  @Test
  void shouldRejectABadTrainerSettingNamingTheKey() {
    assertThat(usageError("eval", "--quick", "-s", "streamtune.trainer.lower-rate-factor=fast")).contains("-s")
        .contains("streamtune.trainer.lower-rate-factor");
  }

  /** Runs the command, which must end with a usage error (exit 2), and returns what it wrote to stderr. */
  private static String usageError(String... args) {
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    java.io.PrintStream old = System.err;
    System.setErr(new java.io.PrintStream(err, true));
    try {
      assertThat(StreamTuneCli.execute(args)).isEqualTo(2);
    } finally {
      System.setErr(old);
    }
    return err.toString();
  }

  private static String[] cells(String line) {
    String[] parts = line.substring(1, line.length() - 1).split("\\|");
    for (int i = 0; i < parts.length; i++) {
      parts[i] = parts[i].trim();
    }
    return parts;
  }
}
