package dev.streamtune.trainer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

class FeatureCacheTest {
  private static MultiLayerNetwork net;
  private static List<float[]> images;
  private static List<String> ids;
  private static INDArray truth;

  @TempDir
  Path dir;

  @BeforeAll
  static void data() {
    CacheFixture f = CacheFixture.make();
    net = f.net();
    images = f.images();
    ids = f.ids();
    truth = f.truth();
  }

  @Test
  void shouldComputeOnceAndAnswerFromMemoryAfterwards() {
    FeatureCache cache = new FeatureCache(dir, 1L << 30);

    FeatureCache.Lookup first = cache.features("m-v1-pool2", net, "pool2", ids, images, 28, 4);
    FeatureCache.Lookup second = cache.features("m-v1-pool2", net, "pool2", ids, images, 28, 4);

    assertThat(first.computed()).isEqualTo(10);
    assertThat(second.memoryHits()).isEqualTo(10);
    assertThat(second.computed()).isZero();
    assertThat(first.features().equalsWithEps(truth, 1e-6)).isTrue();
    assertThat(second.features().equalsWithEps(truth, 1e-6)).isTrue();
    assertThat(first.features().shape()).containsExactly(10, 3136);
  }

  @Test
  void shouldStayWithinItsMemoryBoundAndReadSpilledEntriesBack() {
    FeatureCache cache = new FeatureCache(dir, 3 * (3136 * 4 + 64));

    cache.features("m-v1-pool2", net, "pool2", ids, images, 28, 4);

    assertThat(cache.memoryEntries()).isEqualTo(3);
    assertThat(cache.memoryBytes()).isLessThanOrEqualTo(3 * (3136 * 4 + 64));
    assertThat(cache.spilled()).isEqualTo(7);
    FeatureCache.Lookup again = cache.features("m-v1-pool2", net, "pool2", ids, images, 28, 4);
    assertThat(again.computed()).isZero();
    assertThat(again.diskHits()).isGreaterThanOrEqualTo(7);
    assertThat(again.features().equalsWithEps(truth, 1e-6)).isTrue();
  }

  @Test
  void shouldRecomputeACorruptOrTruncatedEntryInsteadOfTrustingIt() throws Exception {
    FeatureCache cache = new FeatureCache(dir, 1L << 30);
    cache.features("m-v1-pool2", net, "pool2", ids, images, 28, 4);
    cache.clearMemory();
    Path flipped = cache.fileOf("m-v1-pool2", "sample-3");
    byte[] bytes = Files.readAllBytes(flipped);
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(flipped, bytes);
    Path truncated = cache.fileOf("m-v1-pool2", "sample-7");
    byte[] t = Files.readAllBytes(truncated);
    Files.write(truncated, Arrays.copyOf(t, t.length - 100));

    FeatureCache.Lookup l = cache.features("m-v1-pool2", net, "pool2", ids, images, 28, 4);

    assertThat(l.corrupt()).isEqualTo(2);
    assertThat(l.computed()).isEqualTo(2);
    assertThat(l.diskHits()).isEqualTo(8);
    assertThat(l.features().equalsWithEps(truth, 1e-6)).isTrue();
  }

  @Test
  void shouldNotAnswerForOneBackboneWithAnothersEntries() {
    FeatureCache cache = new FeatureCache(dir, 1L << 30);
    cache.features("m-v1-pool2", net, "pool2", ids, images, 28, 4);

    FeatureCache.Lookup other = cache.features("m-v2-pool1", net, "pool1", ids, images, 28, 4);

    assertThat(other.computed()).isEqualTo(10);
    assertThat(other.features().size(1)).isEqualTo(32 * 14 * 14);
  }

  @Test
  void shouldRejectAFileWrittenForAnotherSample() {
    byte[] bytes = FeatureCache.encode("m-v1-pool2", "sample-1", new float[] {1, 2, 3});

    assertThat(FeatureCache.decode(bytes, "m-v1-pool2", "sample-1")).containsExactly(1, 2, 3);
    assertThat(FeatureCache.decode(bytes, "m-v1-pool2", "sample-2")).isNull();
    assertThat(FeatureCache.decode(bytes, "m-v2-pool2", "sample-1")).isNull();
  }

  @Test
  void shouldKeyABackboneByModelVersionChecksumAndBoundary() {
    assertThat(FeatureCache.backboneKey("fashion", 3, "abcdef0123456789ffff", "pool2")).isEqualTo("fashion-v3-abcdef0123456789-pool2");
    assertThat(FeatureCache.backboneKey("a/b", 1, null, "fc")).isEqualTo("a_b-v1-nosha-fc");
  }
}
