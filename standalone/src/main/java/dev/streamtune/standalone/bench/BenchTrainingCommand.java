package dev.streamtune.standalone.bench;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Networks;
import dev.streamtune.standalone.DataOption;
import dev.streamtune.trainer.FineTuner;
import dev.streamtune.trainer.FreezePlan;
import dev.streamtune.trainer.Pretrainer;
// the benchmark measures the trainer's cache itself (memory and disk hits against recomputing), below Retrainer's API
import dev.streamtune.trainer.internal.FeatureCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Times a fine-tune of the layers above the freeze boundary on the same samples two ways in one run: recomputing the frozen
 * backbone for every batch of every epoch, and training the small head network on frozen activations from the feature cache
 * (memory, then disk). Prints each time and the speed-up ratios, and the accuracy of each result on shifted test images so the
 * two can be seen to learn the same thing.
 */
@Command(name = "training", mixinStandardHelpOptions = true,
    description = "Time a head retrain from cached frozen activations against recomputing the backbone each epoch.")
public final class BenchTrainingCommand implements Callable<Integer> {
  @Mixin
  DataOption data;

  @Option(names = "--store", paramLabel = "DIR", description = "a model store whose base version is the champion; when absent, "
      + "a champion is pretrained on --pretrain-images clean images")
  Path store;

  @Option(names = "--model", defaultValue = "fashion", description = "model name in --store (default ${DEFAULT-VALUE})")
  String model;

  @Option(names = "--pretrain-images", defaultValue = "5000", description = "images to pretrain on without --store "
      + "(default ${DEFAULT-VALUE})")
  int pretrainImages;

  @Option(names = "--new", defaultValue = "1000", description = "new-domain samples (default ${DEFAULT-VALUE})")
  int newSamples;

  @Option(names = "--replay", defaultValue = "2000", description = "clean replay samples (default ${DEFAULT-VALUE})")
  int replaySamples;

  @Option(names = "--corruption", defaultValue = "night", description = "the shift: night, invert, blur, contrast, rot90 "
      + "(default ${DEFAULT-VALUE})")
  String corruption;

  @Option(names = "--boundary", defaultValue = "pool2", description = "freeze boundary (default ${DEFAULT-VALUE})")
  String boundary;

  @Option(names = "--epochs", defaultValue = "3", description = "epochs (default ${DEFAULT-VALUE})")
  int epochs;

  @Option(names = "--batch", defaultValue = "64", description = "batch size (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--rate", defaultValue = "1e-3", description = "head learning rate (default ${DEFAULT-VALUE})")
  double rate;

  @Option(names = "--lower-rate-factor", defaultValue = "0.1", description = "rate factor per conv block (default "
      + "${DEFAULT-VALUE})")
  double factor;

  @Option(names = "--repeats", defaultValue = "3", description = "timed rounds of each way; medians and bests are printed "
      + "(default ${DEFAULT-VALUE})")
  int repeats;

  @Option(names = "--cache-dir", paramLabel = "DIR", description = "where the cache spills (default: a new temporary directory)")
  Path cacheDir;

  @Override
  public Integer call() throws IOException {
    if (newSamples < 1 || replaySamples < 0 || epochs < 1 || batch < 1 || repeats < 1) {
      throw new IllegalArgumentException("--new, --epochs, --batch and --repeats must be >= 1 and --replay >= 0");
    }
    if (boundary.equals("none") || !Networks.LAYERS.contains(boundary) || boundary.equals("head")) {
      throw new IllegalArgumentException("--boundary must be a layer below the head, one of " + Networks.LAYERS.subList(0, 5)
          + ", was '" + boundary + "'");
    }
    Corruption shift = Corruption.parse(corruption);
    FashionMnist.Split train = FashionMnist.train(data.dir);
    FashionMnist.Split test = FashionMnist.test(data.dir);
    if (newSamples + replaySamples > 30_000) {
      throw new IllegalArgumentException("--new + --replay must be <= 30000");
    }
    System.out.println("load before: " + load() + ", cores " + Runtime.getRuntime().availableProcessors() + ", "
        + Networks.device());
    MultiLayerNetwork champion = champion(train);

    // the same samples for every run: new-domain images from train[30000..], clean replay from train[45000..]
    List<float[]> images = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    int[] labels = new int[newSamples + replaySamples];
    for (int i = 0; i < newSamples; i++) {
      images.add(shift.apply(train.images()[30_000 + i], FashionMnist.SIDE, i));
      ids.add("train-" + shift.id() + "-" + (30_000 + i));
      labels[i] = train.labels()[30_000 + i];
    }
    for (int i = 0; i < replaySamples; i++) {
      images.add(train.images()[45_000 + i]);
      ids.add("train-clean-" + (45_000 + i));
      labels[newSamples + i] = train.labels()[45_000 + i];
    }
    List<float[]> evalImages = new ArrayList<>();
    int[] evalLabels = new int[2_000];
    for (int i = 0; i < evalLabels.length; i++) {
      evalImages.add(shift.apply(test.images()[i], FashionMnist.SIDE, 1_000_000 + i));
      evalLabels[i] = test.labels()[i];
    }
    FreezePlan plan = new FreezePlan(boundary, rate, factor, "bench");
    Path dir = cacheDir != null ? cacheDir : Files.createTempDirectory("streamtune-bench-cache");
    FeatureCache cache = new FeatureCache(dir, 512L * 1024 * 1024);
    String key = FeatureCache.backboneKey(model, 1, null, boundary) + "-" + System.nanoTime();
    int n = labels.length;
    System.out.printf(Locale.ROOT, "champion accuracy on %s test images: %.3f; training on %d %s + %d clean samples, %d epochs, "
        + "batch %d, layers above %s at %s%n", shift.id(), Pretrainer.accuracy(champion, evalImages, evalLabels), newSamples,
        shift.id(), replaySamples, epochs, batch, boundary, FineTuner.layerRates(champion, plan));

    // warm-up (JIT, ND4J kernels, workspaces) on a slice, not timed
    int w = Math.min(n, 512);
    FineTuner.fineTune(champion, plan, 1, batch, images.subList(0, w), Arrays.copyOf(labels, w), FashionMnist.SIDE, 1);
    FineTuner.fineTuneFromFeatures(champion, plan, 1, batch, FineTuner.frozenActivations(champion, boundary,
        dev.streamtune.core.image.Images.batch(images.subList(0, w), FashionMnist.SIDE, FashionMnist.SIDE)),
        Arrays.copyOf(labels, w), FashionMnist.SIDE, 1);

    System.out.println("cache cold: computing the frozen activations once ...");
    long t0 = System.nanoTime();
    FeatureCache.Lookup cold = cache.features(key, champion, boundary, ids, images, FashionMnist.SIDE, 256);
    double coldExtractS = seconds(t0);
    FineTuner.Result coldResult = FineTuner.fineTuneFromFeatures(champion, plan, epochs, batch, cold.features(), labels,
        FashionMnist.SIDE, 7);
    double coldS = seconds(t0);

    // rounds interleave the three ways so that a burst of load from elsewhere hits them alike
    double[] recompute = new double[repeats];
    double[] warm = new double[repeats];
    double[] disk = new double[repeats];
    double[] recomputeCpu = new double[repeats];
    double[] warmCpu = new double[repeats];
    double[] diskCpu = new double[repeats];
    FineTuner.Result full = null;
    FineTuner.Result warmResult = null;
    FineTuner.Result diskResult = null;
    int hits = 0;
    int diskHits = 0;
    for (int r = 0; r < repeats; r++) {
      System.out.printf(Locale.ROOT, "round %d/%d: recomputing the backbone every batch ...%n", r + 1, repeats);
      t0 = System.nanoTime();
      long c0 = cpuNanos();
      full = FineTuner.fineTune(champion, plan, epochs, batch, images, labels, FashionMnist.SIDE, 7);
      recompute[r] = seconds(t0);
      recomputeCpu[r] = (cpuNanos() - c0) / 1e9;

      System.out.printf(Locale.ROOT, "round %d/%d: from the cache in memory ...%n", r + 1, repeats);
      t0 = System.nanoTime();
      c0 = cpuNanos();
      FeatureCache.Lookup m = cache.features(key, champion, boundary, ids, images, FashionMnist.SIDE, 256);
      warmResult = FineTuner.fineTuneFromFeatures(champion, plan, epochs, batch, m.features(), labels, FashionMnist.SIDE, 7);
      warm[r] = seconds(t0);
      warmCpu[r] = (cpuNanos() - c0) / 1e9;
      hits = m.memoryHits();

      System.out.printf(Locale.ROOT, "round %d/%d: from the cache spilled to disk ...%n", r + 1, repeats);
      cache.clearMemory();
      t0 = System.nanoTime();
      c0 = cpuNanos();
      FeatureCache.Lookup d = cache.features(key, champion, boundary, ids, images, FashionMnist.SIDE, 256);
      diskResult = FineTuner.fineTuneFromFeatures(champion, plan, epochs, batch, d.features(), labels, FashionMnist.SIDE, 7);
      disk[r] = seconds(t0);
      diskCpu[r] = (cpuNanos() - c0) / 1e9;
      diskHits = d.diskHits();
    }

    System.out.println();
    System.out.printf(Locale.ROOT, "%-46s %9s %9s %12s %9s%n", "run (" + n + " samples x " + epochs + " epochs, " + repeats
        + " rounds)", "median s", "best s", "samples/s", "accuracy");
    row("recompute backbone every batch", recompute, n * epochs, full, evalImages, evalLabels);
    row(String.format(Locale.ROOT, "cache cold (extract %.2fs, %d computed)", coldExtractS, cold.computed()), new double[] {coldS},
        n * epochs, coldResult, evalImages, evalLabels);
    row("cache in memory (" + hits + " hits)", warm, n * epochs, warmResult, evalImages, evalLabels);
    row("cache from disk (" + diskHits + " hits)", disk, n * epochs, diskResult, evalImages, evalLabels);
    System.out.println();
    System.out.printf(Locale.ROOT, "speed-up of a later retrain, cache in memory: %.1fx (median), %.1fx (best)%n",
        median(recompute) / median(warm), min(recompute) / min(warm));
    System.out.printf(Locale.ROOT, "speed-up of a later retrain, cache on disk:   %.1fx (median), %.1fx (best)%n",
        median(recompute) / median(disk), min(recompute) / min(disk));
    System.out.printf(Locale.ROOT, "process CPU seconds (median): recompute %.2f, cache in memory %.2f, cache on disk %.2f; "
        + "CPU speed-up %.1fx (memory), %.1fx (disk)%n", median(recomputeCpu), median(warmCpu), median(diskCpu),
        median(recomputeCpu) / median(warmCpu), median(recomputeCpu) / median(diskCpu));
    System.out.printf(Locale.ROOT, "speed-up of the first retrain (cache cold):   %.1fx (median recompute / cold)%n",
        median(recompute) / coldS);
    if (cacheDir == null) {
      deleteTree(dir);
    }
    System.out.println("load after: " + load() + " (1-, 5-, 15-minute load averages on " + Runtime.getRuntime()
        .availableProcessors() + " cores)");
    return 0;
  }

  private MultiLayerNetwork champion(FashionMnist.Split train) {
    if (store != null) {
      DirectoryModelStore s = new DirectoryModelStore(store);
      var base = s.base(model).orElseThrow(() -> new IllegalArgumentException("no base version of '" + model + "' in " + store));
      LoadedModel m = s.load(model, base.version(), base.sha256());
      System.out.println("champion: " + model + " v" + m.version() + " from " + store);
      return m.network().multiLayer();
    }
    System.out.println("pretraining a champion on " + pretrainImages + " clean images (1 epoch) ...");
    MultiLayerNetwork net = Networks.cnn(FashionMnist.SIDE, FashionMnist.LABELS.size(), 1e-3, 42);
    int[] order = new int[pretrainImages];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    List<float[]> px = new ArrayList<>();
    int[] y = new int[pretrainImages];
    for (int i = 0; i < pretrainImages; i++) {
      px.add(train.images()[i]);
      y[i] = train.labels()[i];
    }
    return FineTuner.fineTune(net, FreezePlan.NOTHING, 1e-3, 1, 64, px, y, FashionMnist.SIDE, 42).network();
  }

  private static void row(String name, double[] s, long sampleEpochs, FineTuner.Result r, List<float[]> evalImages,
      int[] evalLabels) {
    System.out.printf(Locale.ROOT, "%-46s %9.2f %9.2f %12.0f %9.3f%n", name, median(s), min(s), sampleEpochs / median(s),
        Pretrainer.accuracy(r.network(), evalImages, evalLabels));
  }

  private static double median(double[] a) {
    double[] c = a.clone();
    Arrays.sort(c);
    return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
  }

  private static double min(double[] a) {
    return Arrays.stream(a).min().orElse(Double.NaN);
  }

  /** CPU time of this whole process (all threads, native BLAS/OpenMP ones included), or 0 when the JVM cannot say. */
  private static long cpuNanos() {
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return Math.max(0, os.getProcessCpuTime());
    }
    return 0;
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static String load() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }
}
