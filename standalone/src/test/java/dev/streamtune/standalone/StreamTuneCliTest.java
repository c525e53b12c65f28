package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class StreamTuneCliTest {
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private PrintStream oldErr;
  private PrintStream oldOut;

  @BeforeEach
  void capture() {
    oldErr = System.err;
    oldOut = System.out;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restore() {
    System.setErr(oldErr);
    System.setOut(oldOut);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void shouldListTheCommandsInHelp() {
    assertThat(StreamTuneCli.execute("--help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("demo", "pretrain", "serving", "evaluator", "trainer", "ingest",
        "broker", "load", "models");
  }

  @Test
  void shouldListEachServicesOwnSettingsWithDefaultsInItsHelp() {
    for (String service : new String[] {"ingest", "evaluator", "trainer", "serving"}) {
      out.reset();
      assertThat(StreamTuneCli.execute(service, "--help")).isZero();
      String help = out.toString(StandardCharsets.UTF_8);
      assertThat(help).as(service).contains("streamtune." + service + ".port").contains("-s streamtune." + service + ".port=");
      for (String other : new String[] {"ingest", "evaluator", "trainer", "serving"}) {
        if (!other.equals(service)) {
          assertThat(help).as(service + " --help").doesNotContain("streamtune." + other + ".");
        }
      }
    }
    out.reset();
    assertThat(StreamTuneCli.execute("settings")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("streamtune.trainer.cache.disk-max").contains("2000000000");
  }

  @Test
  void shouldNameThePackageWhenTheDataIsMissing() {
    assertThat(StreamTuneCli.execute("pretrain", "--data", "/nonexistent", "--store", "target/x")).isEqualTo(2);
    assertThat(err()).contains("dataset-fashion-mnist").contains("--data DIR").doesNotContain("Exception");
  }

  @Test
  void shouldStopOnABadSettingNamingTheKeyAndValue() {
    assertThat(StreamTuneCli.execute("serving", "--bootstrap", "localhost:1", "-s", "streamtune.serving.port=eighty"))
        .isEqualTo(2);
    assertThat(err()).contains("streamtune.serving.port='eighty'");
    assertThat(StreamTuneCli.execute("demo", "--corruption", "fog")).isEqualTo(2);
    assertThat(err()).contains("unknown corruption 'fog'");
    assertThat(StreamTuneCli.execute("eval", "--clean-stream", "60000")).isEqualTo(2);
    assertThat(err()).contains("--clean-stream").contains("100..50000");
  }

  @Test
  void shouldRefuseToPromoteAVersionTheStoreDoesNotHold() {
    java.nio.file.Path store = dev.streamtune.core.testing.TestData.tempDir("models-store");
    dev.streamtune.core.testing.TestModels.storeBase(new dev.streamtune.core.model.DirectoryModelStore(store), "fashion", 64);
    assertThat(StreamTuneCli.execute("models", "promote", "--store", store.toString(), "--bootstrap", "localhost:1",
        "--version", "7", "--reason", "test")).isEqualTo(2);
    assertThat(err()).contains("unknown version 7 of model 'fashion'").contains("[1]");
  }

  @Test
  void shouldRejectAnUnknownFlagWithOneLine() {
    assertThat(StreamTuneCli.execute("demo", "--no-such-flag")).isEqualTo(2);
    assertThat(err()).contains("Unknown option: '--no-such-flag'");
  }
}
