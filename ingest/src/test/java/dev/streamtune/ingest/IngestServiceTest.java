package dev.streamtune.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IngestServiceTest {
  @Test
  void shouldValidateAgainstFashionMnistLabelsWhenTheStoreHoldsNoModel() {
    assertThat(IngestService.labels(config(TestData.tempDir("empty-store"), "28"))).isEqualTo(FashionMnist.LABELS);
  }

  @Test
  void shouldTakeTheLabelSetFromTheBaseModelAndRefuseAnotherImageSize() {
    Path store = TestData.tempDir("store");
    TestModels.storeBase(new DirectoryModelStore(store), "fashion", 64);

    assertThat(IngestService.labels(config(store, "28"))).isEqualTo(FashionMnist.LABELS);
    assertThatThrownBy(() -> IngestService.labels(config(store, "32"))).isInstanceOf(ConfigException.class)
        .hasMessageContaining(IngestConfig.IMAGE_SIDE).hasMessageContaining("takes 28x28");
  }

  @Test
  void shouldBeStartingBeforeStartAndStoppedAfterClose() {
    IngestService service = new IngestService(config(TestData.tempDir("store"), "28"));
    assertThat(service.state()).isEqualTo(ServiceState.STARTING);
    service.close();
    assertThat(service.state()).isEqualTo(ServiceState.STOPPED);
  }

  private static IngestConfig config(Path store, String side) {
    return IngestConfig.from(Settings.of(Map.of(CommonConfig.STORE_DIR, store.toString(), IngestConfig.IMAGE_SIDE, side,
        IngestConfig.STATE_DIR, TestData.tempDir("state").toString())));
  }
}
