package dev.streamtune.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServingConfigTest {
  @Test
  void shouldRunOneInferenceWorkerPerCoreOnlyWhenOpenMpRunsOneThreadPerCaller() {
    assertThat(ServingConfig.workers(Settings.empty(), null, 8)).isEqualTo(1);
    assertThat(ServingConfig.workers(Settings.empty(), "4", 8)).isEqualTo(1);
    assertThat(ServingConfig.workers(Settings.empty(), "1", 8)).isEqualTo(8);
    assertThat(ServingConfig.workers(Settings.of(Map.of("streamtune.serving.workers", "AUTO")), " 1 ", 2)).isEqualTo(2);
    assertThat(ServingConfig.workers(Settings.of(Map.of("streamtune.serving.workers", "3")), null, 8)).isEqualTo(3);
    assertThatThrownBy(() -> ServingConfig.workers(Settings.of(Map.of("streamtune.serving.workers", "0")), null, 2))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.workers").hasMessageContaining("'0'");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.workers", "many"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.workers").hasMessageContaining("many");
  }

  @Test
  void shouldUseTheDocumentedDefaults() {
    ServingConfig c = ServingConfig.from(Settings.empty());

    assertThat(c.host()).isEqualTo("0.0.0.0");
    assertThat(c.port()).isEqualTo(8081);
    assertThat(c.grpcPort()).isEqualTo(8085);
    assertThat(c.grpcEnabled()).isTrue();
    assertThat(c.batchMax()).isEqualTo(32);
    assertThat(c.batchWait()).isEqualTo(Duration.ofMillis(2));
    assertThat(c.queueMax()).isEqualTo(1024);
    assertThat(c.topK()).isEqualTo(3);
    assertThat(c.bodyMaxBytes()).isEqualTo(1 << 20);
    assertThat(c.httpThreads()).isEqualTo(32);
    assertThat(c.versionsKeep()).isEqualTo(2);
    assertThat(c.common().model()).isEqualTo("fashion");
    assertThat(c.shadow()).isEqualTo(new ServingConfig.Shadow(0.1, 16, 500, Duration.ofSeconds(10)));
    assertThat(c.shadow().enabled()).isTrue();
  }

  @Test
  void shouldReadTheShadowSettingsAndTurnShadowScoringOffAtShareZero() {
    ServingConfig c = ServingConfig.from(Settings.of(Map.of("streamtune.serving.shadow.share", "0.5",
        "streamtune.serving.shadow.queue.max", "2", "streamtune.serving.shadow.summary.inputs", "20",
        "streamtune.serving.shadow.summary.interval", "250ms")));

    assertThat(c.shadow()).isEqualTo(new ServingConfig.Shadow(0.5, 2, 20, Duration.ofMillis(250)));
    assertThat(ServingConfig.from(Settings.of(Map.of("streamtune.serving.shadow.share", "0"))).shadow().enabled()).isFalse();
  }

  @Test
  void shouldRejectABadShadowSettingNamingTheKeyAndTheValue() {
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.shadow.share", "1.5"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.shadow.share").hasMessageContaining("1.5");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.shadow.share", "some"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.shadow.share").hasMessageContaining("some");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.shadow.queue.max", "0"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.shadow.queue.max");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.shadow.summary.inputs", "-3"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.shadow.summary.inputs")
        .hasMessageContaining("-3");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.shadow.summary.interval", "10ms"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.shadow.summary.interval")
        .hasMessageContaining("10ms");
  }

  @Test
  void shouldReadEverySetting() {
    ServingConfig c = ServingConfig.from(Settings.of(Map.of("streamtune.bootstrap", "broker:9093", "streamtune.store.dir", "/tmp/s",
        "streamtune.serving.host", "localhost", "streamtune.serving.port", "0", "streamtune.serving.batch.max", "8",
        "streamtune.serving.batch.wait", "5ms", "streamtune.serving.queue.max", "16", "streamtune.serving.topk", "5",
        "streamtune.serving.body.max-bytes", "4096", "streamtune.serving.http.threads", "4")));

    assertThat(c).extracting(ServingConfig::host, ServingConfig::port, ServingConfig::batchMax, ServingConfig::batchWait,
        ServingConfig::queueMax, ServingConfig::topK, ServingConfig::bodyMaxBytes, ServingConfig::httpThreads)
        .containsExactly("localhost", 0, 8, Duration.ofMillis(5), 16, 5, 4096, 4);
    assertThat(ServingConfig.from(Settings.of(Map.of("streamtune.serving.versions.keep", "0"))).versionsKeep()).isZero();
    assertThat(ServingConfig.from(Settings.of(Map.of("streamtune.serving.grpc-port", "0"))).grpcPort()).isZero();
    ServingConfig off = ServingConfig.from(Settings.of(Map.of("streamtune.serving.grpc-port", "-1")));
    assertThat(off.grpcEnabled()).isFalse();
    assertThat(c.common().bootstrap()).isEqualTo("broker:9093");
    assertThat(c.common().storeDir()).isEqualTo(Path.of("/tmp/s"));
  }

  @Test
  void shouldRejectBadValuesNamingTheKeyAndTheValue() {
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.port", "70000"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.port").hasMessageContaining("70000");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.grpc-port", "-2"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.grpc-port").hasMessageContaining("-2");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.grpc-port", "grpc"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.grpc-port").hasMessageContaining("grpc");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.grpc-port", "9000",
        "streamtune.serving.port", "9000")))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("streamtune.serving.grpc-port").hasMessageContaining("9000");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.batch.max", "0"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.batch.max").hasMessageContaining("'0'");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.batch.wait", "soon"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.batch.wait").hasMessageContaining("soon");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.batch.wait", "5s"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.batch.wait").hasMessageContaining("at most");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.queue.max", "many"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.queue.max").hasMessageContaining("many");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.versions.keep", "-1"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.versions.keep").hasMessageContaining("-1");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.serving.host", "a host"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.serving.host");
    assertThatThrownBy(() -> ServingConfig.from(Settings.of(Map.of("streamtune.bootstrap", "nohost"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.bootstrap");
  }
}
