package dev.streamtune.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The check every reader makes before it believes a promotion, on a real store with a real model. */
class PromotionCheckTest {
  private static Promotion promotion(String model, int version, String sha) {
    return new Promotion(Versioned.CURRENT, model, version, "file:/x", sha, "test", Instant.EPOCH);
  }

  @Test
  void shouldBelieveOnlyAStoredVersionWithItsSha256AndCountTheRest() {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("promotion-store"));
    Manifest base = TestModels.storeBase(store, "fashion", 500);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    PromotionCheck check = new PromotionCheck(store, registry, "trainer", "fashion");
    for (PromotionCheck.Reason r : PromotionCheck.Reason.values()) {
      assertThat(refused(registry, r)).as("present at 0 from the start").isZero();
    }

    assertThat(check.accept(promotion("fashion", base.version(), base.sha256()), "fashion")).isTrue();
    assertThat(check.accept(promotion("fashion", 99, base.sha256()), "fashion")).isFalse();
    assertThat(check.accept(promotion("fashion", base.version(), "00" + base.sha256().substring(2)), "fashion")).isFalse();
    assertThat(check.accept(promotion("../outside", base.version(), base.sha256()), "fashion")).isFalse();
    assertThat(check.accept(promotion("fa\u0000shion", base.version(), base.sha256()), "fashion")).isFalse();

    assertThat(PromotionCheck.refusal(store, promotion("fashion", 99, base.sha256())).orElseThrow().text())
        .isEqualTo("the store has no version 99 of fashion");
    assertThat(PromotionCheck.refusal(store, promotion("fashion", base.version(), "ab")).orElseThrow().text())
        .contains("sha256 ab is not that of the stored fashion v" + base.version());
    assertThat(refused(registry, PromotionCheck.Reason.NO_SUCH_VERSION)).isEqualTo(1.0);
    assertThat(refused(registry, PromotionCheck.Reason.SHA256_MISMATCH)).isEqualTo(1.0);
    assertThat(refused(registry, PromotionCheck.Reason.BAD_NAME)).as("another model's name is no tag value").isZero();
  }

  private static double refused(SimpleMeterRegistry registry, PromotionCheck.Reason r) {
    return registry.get(PromotionCheck.REFUSED).tags("model", "fashion", "reader", "trainer", "reason", r.tag()).counter()
        .count();
  }
}
