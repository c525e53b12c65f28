package dev.streamtune.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.ResNets;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IngestServiceTest {
  @Test
  void shouldValidateAsFashionMnistWhenTheStoreHoldsNoModel() {
    ModelSpec spec = IngestService.spec(config(TestData.tempDir("empty-store"), "100000"));
    assertThat(spec.labels()).isEqualTo(FashionMnist.LABELS);
    assertThat(spec.inputShape()).containsExactly(1, 28, 28);
  }

  @Test
  void shouldTakeTheSpecFromTheNewestStoredVersion() {
    Path store = TestData.tempDir("store");
    DirectoryModelStore s = new DirectoryModelStore(store);
    TestModels.storeBase(s, "fashion", 64);
    ModelSpec rgb = new ModelSpec(List.of(3, 16, 16), null, List.of("a", "b"), List.of("stem_conv", "head"), null, null,
        ModelSpec.Layout.NHWC, null, ModelSpec.Resize.STRETCH, null, null);
    assertThat(IngestService.spec(config(store, "100000")).labels()).isEqualTo(FashionMnist.LABELS);
    s.save("fashion", ResNets.build(3, 16, new int[] {4}, 4, 2, 1e-3, 1), new ModelSpec(List.of(3, 16, 16), null,
        List.of("a", "b"), List.of("stem_conv", "fc", "head"), null, null, null, null, ModelSpec.Resize.STRETCH, "fc", null),
        1, null, Map.of());

    ModelSpec spec = IngestService.spec(config(store, "100000"));
    assertThat(spec.inputShape()).containsExactly(3, 16, 16);
    assertThat(spec.network()).isEqualTo(ModelSpec.NetworkType.GRAPH);
    assertThat(spec.resize()).isEqualTo(ModelSpec.Resize.STRETCH);
    assertThat(rgb.layout()).isEqualTo(ModelSpec.Layout.NHWC);
  }

  @Test
  void shouldRefuseABadPixelLimitNamingTheKey() {
    assertThatThrownBy(() -> config(TestData.tempDir("store"), "0")).isInstanceOf(ConfigException.class)
        .hasMessageContaining(IngestConfig.IMAGE_MAX_PIXELS);
  }

  @Test
  void shouldBeStartingBeforeStartAndStoppedAfterClose() {
    IngestService service = new IngestService(config(TestData.tempDir("store"), "100000"));
    assertThat(service.state()).isEqualTo(ServiceState.STARTING);
    service.close();
    assertThat(service.state()).isEqualTo(ServiceState.STOPPED);
  }

  private static IngestConfig config(Path store, String maxPixels) {
    return IngestConfig.from(Settings.of(Map.of(CommonConfig.STORE_DIR, store.toString(), IngestConfig.IMAGE_MAX_PIXELS, maxPixels,
        IngestConfig.STATE_DIR, TestData.tempDir("state").toString())));
  }
}
