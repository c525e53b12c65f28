package dev.streamtune.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IngestConfigTest {
  @Test
  void shouldUseTheDocumentedDefaults() {
    IngestConfig c = IngestConfig.from(Settings.empty());

    assertThat(c.host()).isEqualTo("localhost");
    assertThat(c.port()).isEqualTo(8082);
    assertThat(c.applicationId()).isEqualTo("streamtune-ingest");
    assertThat(c.joinWindow()).isEqualTo(Duration.ofHours(1));
    assertThat(c.bodyMaxBytes()).isEqualTo(1 << 20);
    assertThat(c.imageMaxPixels()).isEqualTo(4096 * 4096);
    assertThat(Files.isDirectory(c.stateDir())).isTrue();
  }

  @Test
  void shouldReadEveryKey() {
    IngestConfig c = IngestConfig.from(Settings.of(Map.of(IngestConfig.HOST, "0.0.0.0", IngestConfig.PORT, "0",
        IngestConfig.APPLICATION_ID, "ingest-b", IngestConfig.JOIN_WINDOW, "15m", IngestConfig.BODY_MAX_BYTES, "512KiB",
        IngestConfig.STATE_DIR, "/tmp/x", IngestConfig.IMAGE_MAX_PIXELS, "1000000", IngestConfig.LABELS_ALLOW_NEW, "true",
        IngestConfig.LABELS_MAX_NEW, "5")));

    assertThat(c).isEqualTo(new IngestConfig(c.common(), "0.0.0.0", 0, "ingest-b", Duration.ofMinutes(15), 512 * 1024,
        Path.of("/tmp/x"), 1_000_000, true, 5));
  }

  @Test
  void shouldRejectNewLabelsUnlessAllowed() {
    IngestConfig c = IngestConfig.from(Settings.of(Map.of()));

    assertThat(c.allowNewLabels()).isFalse();
    assertThat(c.maxNewLabels()).isEqualTo(20);
    assertThatThrownBy(() -> IngestConfig.from(Settings.of(Map.of(IngestConfig.LABELS_ALLOW_NEW, "maybe"))))
        .hasMessageContaining(IngestConfig.LABELS_ALLOW_NEW).hasMessageContaining("maybe");
    assertThatThrownBy(() -> IngestConfig.from(Settings.of(Map.of(IngestConfig.LABELS_MAX_NEW, "-1"))))
        .hasMessageContaining(IngestConfig.LABELS_MAX_NEW);
  }

  @Test
  void shouldReadABodyLimitAsPlainBytesOrWithAUnit() {
    assertThat(body("65536")).isEqualTo(65536);
    assertThat(body("2MiB")).isEqualTo(2 << 20);
    assertThat(body("1MB")).isEqualTo(1_000_000);
    assertThat(body("10 kb")).isEqualTo(10_000);
  }

  @Test
  void shouldRejectBadValuesNamingTheKeyAndTheValue() {
    assertRejected(IngestConfig.PORT, "70000");
    assertRejected(IngestConfig.PORT, "http");
    assertRejected(IngestConfig.JOIN_WINDOW, "soon");
    assertRejected(IngestConfig.JOIN_WINDOW, "0s");
    assertRejected(IngestConfig.BODY_MAX_BYTES, "1GiB");
    assertRejected(IngestConfig.BODY_MAX_BYTES, "lots");
    assertRejected(IngestConfig.APPLICATION_ID, "my app");
    assertRejected(IngestConfig.IMAGE_MAX_PIXELS, "0");
  }

  private static int body(String v) {
    return IngestConfig.from(Settings.of(Map.of(IngestConfig.BODY_MAX_BYTES, v, IngestConfig.STATE_DIR, "/tmp/x")))
        .bodyMaxBytes();
  }

  private static void assertRejected(String key, String value) {
    assertThatThrownBy(() -> IngestConfig.from(Settings.of(Map.of(key, value, IngestConfig.STATE_DIR, "/tmp/x"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining(key).hasMessageContaining(value);
  }
}
