package dev.streamtune.trainer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

class FeatureCacheDiskBoundTest {
  private static final String KEY = "m-v1-pool2";
  private static MultiLayerNetwork net;
  private static List<float[]> images;
  private static List<String> ids;
  private static INDArray truth;
  /** The size of one spilled file: every sample id here has the same length. */
  private static long fileBytes;

  @TempDir
  Path dir;

  @BeforeAll
  static void data() {
    CacheFixture f = CacheFixture.make();
    net = f.net();
    images = f.images();
    ids = f.ids();
    truth = f.truth();
    fileBytes = FeatureCache.encode(KEY, "sample-0", new float[3136]).length;
  }

  private static long filesOnDisk(Path dir) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.toString().endsWith(".f32")).count();
    }
  }

  @Test
  void shouldDeleteTheOldestSpilledFilesBeyondTheDiskBound() throws Exception {
    // memory holds one entry, so 9 of 10 entries spill; the disk holds 3 files
    FeatureCache cache = new FeatureCache(dir, 1, 3 * fileBytes);

    cache.features(KEY, net, "pool2", ids, images, 28, 4);

    assertThat(cache.spilled()).isEqualTo(9);
    assertThat(cache.diskEntries()).isEqualTo(3);
    assertThat(cache.diskBytes()).isEqualTo(3 * fileBytes);
    assertThat(cache.pruned()).isEqualTo(6);
    assertThat(filesOnDisk(dir)).isEqualTo(3);
    // entries leave memory oldest first, so the last three spilled are the newest files and the ones kept
    assertThat(cache.fileOf(KEY, "sample-0")).doesNotExist();
    assertThat(cache.fileOf(KEY, "sample-5")).doesNotExist();
    assertThat(cache.fileOf(KEY, "sample-6")).exists();
    assertThat(cache.fileOf(KEY, "sample-8")).exists();
  }

  @Test
  void shouldRecomputePrunedEntriesAndAnswerTheSame() {
    FeatureCache cache = new FeatureCache(dir, 1, 3 * fileBytes);
    cache.features(KEY, net, "pool2", ids, images, 28, 4);

    FeatureCache.Lookup again = cache.features(KEY, net, "pool2", ids, images, 28, 4);

    assertThat(again.corrupt()).isZero();
    assertThat(again.computed()).as("pruned entries").isGreaterThan(0);
    assertThat(again.hits() + again.computed()).isEqualTo(10);
    assertThat(again.features().equalsWithEps(truth, 1e-6)).isTrue();
    assertThat(cache.diskBytes()).isLessThanOrEqualTo(3 * fileBytes);
  }

  @Test
  void shouldCountAndPruneFilesLeftByAnEarlierProcess() throws Exception {
    FeatureCache first = new FeatureCache(dir, 1);
    first.features(KEY, net, "pool2", ids, images, 28, 4);
    assertThat(filesOnDisk(dir)).isEqualTo(9);

    FeatureCache restarted = new FeatureCache(dir, 1L << 30, 4 * fileBytes);
    FeatureCache.Lookup l = restarted.features(KEY, net, "pool2", ids, images, 28, 4);

    assertThat(filesOnDisk(dir)).isEqualTo(4);
    assertThat(restarted.diskBytes()).isEqualTo(4 * fileBytes);
    assertThat(l.diskHits()).isEqualTo(4);
    assertThat(l.computed()).isEqualTo(6);
    assertThat(l.features().equalsWithEps(truth, 1e-6)).isTrue();
  }
}
