package dev.streamtune.standalone.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.testing.TestData;
import dev.streamtune.standalone.StreamTuneCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code streamtune bench serving} with tiny settings: a real serving node, an embedded broker and real promotions, run to the
 * end. Asserts the rows and their counts, never a timing.
 */
class BenchServingCommandTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private PrintStream oldOut;
  private PrintStream oldErr;

  @BeforeEach
  void capture() {
    oldOut = System.out;
    oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restore() {
    System.setOut(oldOut);
    System.setErr(oldErr);
    System.out.print(out.toString(StandardCharsets.UTF_8));
  }

  /** The table rows of one serving path: the columns after the label, split on spaces. */
  private static List<String[]> rows(String output, String label) {
    return output.lines().filter(l -> l.startsWith(label + " ")).map(l -> l.substring(label.length()).trim().split("\\s+"))
        .toList();
  }

  @Test
  void shouldPrintTheRawBaselineAndEverySteadyAndSwapPhaseOfEveryPath() {
    int code = StreamTuneCli.execute("bench", "serving", "--data", TestData.dataDir().toString(), "--pretrain-images", "128",
        "--images", "32", "--batch-sizes", "1,4", "--concurrency", "1,3", "--duration", "0.4", "--warmup", "0.2",
        "--settle", "0.2", "--swap-every", "100", "--paths", "http,http-binary,grpc,in-process", "--images-per-request", "4",
        "--rounds", "1");

    String o = out.toString(StandardCharsets.UTF_8);
    assertThat(code).as("exit code; stderr: %s", err.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(o).contains("nproc ", "load average at start", "raw output() batch 1 ", "raw output() batch 4 ", "raw best:",
        "throughput ratio, http /predict png", "throughput ratio, in-process batcher", "load average at end");
    for (String label : List.of("http /predict png", "http v2 binary fp32 x4", "grpc infer raw fp32 x4", "in-process batcher")) {
      List<String[]> rows = rows(o.substring(0, o.indexOf("Where the CPU went")), label);
      // clients, phase, images/s, x raw, p50, p99, mean batch, errors, swaps/loads
      assertThat(rows).as(label).extracting(r -> r[0] + " " + r[1]).containsExactly("1 steady", "1 swaps", "3 steady", "3 swaps");
      for (String[] r : rows) {
        assertThat(Double.parseDouble(r[2])).as("%s images/s", label).isPositive();
        assertThat(r[7]).as("%s errors", label).isEqualTo("0");
        if (r[1].equals("swaps")) {
          String[] swaps = r[8].split("/");
          assertThat(Integer.parseInt(swaps[0])).as("%s promotions", label).isPositive();
          // at most one swap a second (swap.min-interval): in a short phase the newest promotion may be a version still loaded
          assertThat(Integer.parseInt(swaps[1])).as("%s loads from disk", label).isBetween(0, Integer.parseInt(swaps[0]));
        }
      }
      assertThat(o).contains("p99 during swaps / steady p99, " + label + ", 1 clients", "p99 during swaps / steady p99, " + label
          + ", 3 clients");
      // --rounds 1: raw, the path at the highest concurrency, raw again; the median of one ratio is that ratio
      assertThat(o).contains("round 1/1, " + label + ", 3 clients: raw ");
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("rounds, " + java.util.regex.Pattern.quote(label)
          + " at 3 clients against raw batch \\d+ on \\d+ thread\\(s\\), each against the raw runs either side: median "
          + "([0-9.]+)x of 1 \\(least ([0-9.]+)x, greatest ([0-9.]+)x; 0 errors\\)").matcher(o);
      assertThat(m.find()).as("rounds summary of %s in:%n%s", label, o).isTrue();
      assertThat(Double.parseDouble(m.group(1))).isPositive().isEqualTo(Double.parseDouble(m.group(2)))
          .isEqualTo(Double.parseDouble(m.group(3)));
      // where the CPU went: one row per phase, every component a number
      List<String[]> cpu = rows(o.substring(o.indexOf("Where the CPU went")), label);
      assertThat(cpu).as(label + " CPU rows").hasSize(4).allSatisfy(r -> assertThat(r).hasSize(2 + 10 + 2));
      assertThat(cpu).allSatisfy(r -> assertThat(Double.parseDouble(r[2])).as("inference CPU of %s", label).isPositive());
    }
    assertThat(o).contains("CPU per image, http v2 binary fp32 x4 (", "CPU per image, grpc infer raw fp32 x4 (", " superseded, ");
  }

  @Test
  void shouldRefuseAnUnknownPathNamingTheOption() {
    assertThat(StreamTuneCli.execute("bench", "serving", "--paths", "carrier-pigeon")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--paths", "'carrier-pigeon'");
  }
}
