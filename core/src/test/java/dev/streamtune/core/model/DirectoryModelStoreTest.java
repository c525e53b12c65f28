package dev.streamtune.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class DirectoryModelStoreTest {
  @Test
  void shouldSaveVersionsInOrderAndLoadTheSameNetwork() throws Exception {
    Path root = TestData.tempDir("store");
    DirectoryModelStore store = new DirectoryModelStore(root);
    Manifest v1 = TestModels.storeBase(store, "fashion", 256);
    MultiLayerNetwork original = store.load("fashion", 1, v1.sha256()).network().multiLayer();
    Manifest v2 = store.save("fashion", original, v1.spec(), 1, v1.training(), java.util.Map.of("accuracy", 0.5));

    assertThat(store.versions("fashion")).containsExactly(1, 2);
    assertThat(v2.parent()).isEqualTo(1);
    assertThat(store.manifest("fashion", 2).orElseThrow().sha256()).isEqualTo(v2.sha256())
        .isEqualTo(DirectoryModelStore.sha256(root.resolve("fashion/2/model.zip")));
    assertThat(store.base("fashion").orElseThrow().version()).isEqualTo(1);
    assertThat(store.latest("fashion").orElseThrow().version()).isEqualTo(2);
    try (var s = Files.list(root.resolve("fashion"))) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".tmp"));
    }

    INDArray x = TestModels.dataSet(TestData.test(), 0, 8).getFeatures();
    assertThat(store.load("fashion", 2, null).network().output(x)).isEqualTo(original.output(x));
  }

  @Test
  void shouldRefuseAModelWhoseFileDoesNotMatchItsChecksum() throws Exception {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("store"));
    Manifest v1 = TestModels.storeBase(store, "fashion", 64);
    Files.write(store.dir("fashion", 1).resolve("model.zip"), new byte[] {1, 2, 3}, StandardOpenOption.APPEND);

    assertThatThrownBy(() -> store.load("fashion", 1, null)).isInstanceOf(ModelVerificationException.class)
        .hasMessageContaining("does not match the manifest");
    assertThatThrownBy(() -> store.load("fashion", 7, null)).isInstanceOf(ModelVerificationException.class)
        .hasMessageContaining("no version 7");
    assertThat(v1.spec().labels()).isEqualTo(FashionMnist.LABELS);
  }

  @Test
  void shouldNeverLeaveTheStoreWhateverTheModelName() {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("store"));
    for (String bad : new String[] {"../outside/fashion", "a/b", "..", "with\u0000nul", "", " fashion", ".hidden"}) {
      assertThatThrownBy(() -> store.versions(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("model name");
      assertThatThrownBy(() -> store.load(bad, 1, null)).as(bad).isInstanceOf(ModelVerificationException.class)
          .hasMessageContaining("model name");
    }
    assertThat(store.versions("fashion-rgb_2.v1")).isEmpty();
  }
}
