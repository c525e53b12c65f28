package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrainerConfigTest {
  @Test
  void shouldLetTheFreezePolicyChooseByDefault() {
    TrainerConfig c = TrainerConfig.from(Settings.empty());

    assertThat(c.freezeBoundary()).isEqualTo("auto");
    assertThat(c.freezePolicy().pinned()).isNull();
    assertThat(c.lowerRateFactor()).isEqualTo(0.1);
  }

  @Test
  void shouldKeepAPinnedBoundaryAndRateFactor() {
    TrainerConfig c = TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.freeze-boundary", "pool1",
        "streamtune.trainer.lower-rate-factor", "0.01")));

    FreezePlan p = c.freezePolicy().choose(10, 0.9, 0.9);

    assertThat(p.boundary()).isEqualTo("pool1");
    assertThat(p.lowerRateFactor()).isEqualTo(0.01);
  }

  @Test
  void shouldReplayAtTheRatioButNoFewerThanTheLeastCount() {
    TrainerConfig c = TrainerConfig.from(Settings.empty());

    assertThat(c.replayCount(200)).as("few labels: the floor").isEqualTo(TrainerConfig.DEFAULT_REPLAY_MIN);
    assertThat(c.replayCount(500)).as("the ratio").isEqualTo(3000);
    assertThat(c.replayCount(2000)).as("many labels: the cap").isEqualTo(TrainerConfig.DEFAULT_REPLAY_MAX);
    TrainerConfig off = TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.replay-ratio", "0")));
    assertThat(off.replayCount(500)).as("replay off stays off").isZero();
    TrainerConfig low = TrainerConfig.from(Settings.of(Map.of(TrainerConfig.REPLAY_MIN, "0")));
    assertThat(low.replayCount(500)).isEqualTo(3000);
    assertThat(low.replayCount(200)).as("the ratio alone").isEqualTo(1200);
    // augmented copies are new-domain samples too: mirror and shift triple them, and the replay with them, floor and cap included
    TrainerConfig augmented = TrainerConfig.from(Settings.of(Map.of(Augmentation.KEY, "mirror,shift")));
    assertThat(augmented.replayCount(200)).as("the floor's mix, 1 to 4").isEqualTo(3 * TrainerConfig.DEFAULT_REPLAY_MIN);
    assertThat(augmented.replayCount(500)).as("the ratio's mix").isEqualTo(9000);
    assertThat(augmented.replayCount(2000)).as("the cap's mix").isEqualTo(3 * TrainerConfig.DEFAULT_REPLAY_MAX);
    // the ratio of earlier releases, uncapped, still one setting away
    TrainerConfig uncapped = TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.replay-ratio", "2",
        TrainerConfig.REPLAY_MAX, "0")));
    assertThat(uncapped.replayCount(500)).as("the floor").isEqualTo(2000);
    assertThat(uncapped.replayCount(3000)).as("the ratio").isEqualTo(6000);
    assertThat(uncapped.replayCount(100_000)).as("no cap").isEqualTo(200_000);
    // a floor set above the default cap raises the cap with it instead of failing
    TrainerConfig highFloor = TrainerConfig.from(Settings.of(Map.of(TrainerConfig.REPLAY_MIN, "5000")));
    assertThat(highFloor.replayMax()).isEqualTo(5000);
    assertThat(highFloor.replayCount(2000)).isEqualTo(5000);
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of(TrainerConfig.REPLAY_MAX, "1000"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.REPLAY_MAX).hasMessageContaining("2000");
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of(TrainerConfig.REPLAY_MIN, "-1"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining(TrainerConfig.REPLAY_MIN);
  }

  @Test
  void shouldLeaveInterpolationOffUnlessSetAndNameTheKeyOfABadValue() {
    assertThat(TrainerConfig.from(Settings.empty()).interpolation().off()).isTrue();
    assertThat(TrainerConfig.from(Settings.of(Map.of(Interpolation.KEY, "0.98"))).interpolation().minAgreement())
        .isEqualTo(0.98);
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of(Interpolation.KEY, "1.5"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining(Interpolation.KEY).hasMessageContaining("1.5");
  }

  @Test
  void shouldRejectABoundaryThatIsNoLayerNameNamingTheKey() {
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.freeze-boundary", "conv 9!"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.trainer.freeze-boundary");
  }

  @Test
  void shouldRefuseToStartWithABoundaryTheStoredModelLacksListingItsLayers() {
    java.nio.file.Path store = dev.streamtune.core.testing.TestData.tempDir("trainer-boundary");
    dev.streamtune.core.testing.TestModels.storeBase(new dev.streamtune.core.model.DirectoryModelStore(store), "fashion", 64);
    TrainerConfig c = TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.freeze-boundary", "conv9",
        "streamtune.store.dir", store.toString(), "streamtune.bootstrap", "localhost:1")));
    assertThatThrownBy(() -> new TrainerService(c).start()).isInstanceOf(ConfigException.class)
        .hasMessageContaining("streamtune.trainer.freeze-boundary").hasMessageContaining("conv9")
        .hasMessageContaining("[conv1, pool1, conv2, pool2, fc, head]");
    TrainerConfig top = TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.freeze-boundary", "head",
        "streamtune.store.dir", store.toString(), "streamtune.bootstrap", "localhost:1")));
    assertThatThrownBy(() -> new TrainerService(top).start()).hasMessageContaining("leaves nothing to train");
  }

  @Test
  void shouldRejectALargeDataThresholdBelowTheSmallOne() {
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.freeze.small-data", "3000",
        "streamtune.trainer.freeze.large-data", "1000"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.trainer.freeze.large-data");
  }

  @Test
  void shouldBoundTheFeatureCacheOnDiskAt2GBByDefaultAndReadSizesWithUnits() {
    assertThat(TrainerConfig.from(Settings.empty()).cacheDiskMaxBytes()).isEqualTo(2_000_000_000L);
    assertThat(TrainerConfig.from(Settings.of(Map.of(TrainerConfig.CACHE_DISK_MAX, "512MiB"))).cacheDiskMaxBytes())
        .isEqualTo(512L << 20);
    assertThat(TrainerConfig.from(Settings.of(Map.of(TrainerConfig.CACHE_DISK_MAX, "3 gb"))).cacheDiskMaxBytes())
        .isEqualTo(3_000_000_000L);
    assertThat(TrainerConfig.from(Settings.of(Map.of(TrainerConfig.CACHE_DISK_MAX, "5000000"))).cacheDiskMaxBytes())
        .isEqualTo(5_000_000L);
  }

  @Test
  void shouldRejectADiskBoundThatIsNotASizeOrTooSmallNamingTheKey() {
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of(TrainerConfig.CACHE_DISK_MAX, "lots"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.trainer.cache.disk-max").hasMessageContaining("size");
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of(TrainerConfig.CACHE_DISK_MAX, "10KB"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.trainer.cache.disk-max")
        .hasMessageContaining("at least");
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of(TrainerConfig.CACHE_DISK_MAX, "99999999999TB"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.trainer.cache.disk-max");
  }
}
