package dev.streamtune.standalone.bench;

import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.learn.ConfidenceCalibration;
import dev.streamtune.core.learn.KolmogorovSmirnov;
import dev.streamtune.core.learn.ShiftAwareEstimate;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.core.records.Outcome;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.evaluator.DriftDetectors;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.internal.ConfidenceMonitor;
import dev.streamtune.evaluator.internal.FeatureDriftMonitor;
import dev.streamtune.evaluator.internal.ModelMonitor;
import dev.streamtune.standalone.DataOption;
import dev.streamtune.trainer.Pretrainer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The drift detectors on the base model's real answers to served streams, as a client sends them: runs of one class (a
 * shelf, a batch of one product), the class of each run drawn at random, its length geometric. Every detector runs as the
 * evaluator runs it, with the evaluator's default settings: the supervised ones on the outcomes (every input labelled), the
 * label-free ones on the confidences ({@code confidence-ks}) and on the penultimate-layer features of every second input
 * ({@code feature-ks}). Reports false alarms per 100,000 stationary inputs, and for each shift the inputs from the shift to
 * the first alarm. Beside them, the confidence test the evaluator ran before it looked at classes (a plain two-sample KS at
 * alpha 0.001), on the same streams.
 */
@Command(name = "drift", mixinStandardHelpOptions = true,
    description = "False alarms per 100,000 stationary served inputs and detection delays of every detector, on the base "
        + "model's real answers to streams in class runs.")
public final class BenchDriftCommand implements Callable<Integer> {
  @Mixin
  DataOption data;

  @Option(names = "--store", paramLabel = "DIR", defaultValue = "streamtune-work/base",
      description = "model store holding the base (pretrained there when missing; default ${DEFAULT-VALUE})")
  Path store;

  @Option(names = "--model", defaultValue = "fashion", description = "model name (default ${DEFAULT-VALUE})")
  String model;

  @Option(names = "--stationary", defaultValue = "100000", description = "stationary inputs (default ${DEFAULT-VALUE})")
  int stationary;

  @Option(names = "--run-mean", defaultValue = "8", description = "mean length of a class run (default ${DEFAULT-VALUE})")
  double runMean;

  @Option(names = "--shifts", split = ",", defaultValue = "contrast,night,blur,invert,rot90",
      description = "shifts whose detection delay is measured (default ${DEFAULT-VALUE})")
  List<String> shifts;

  @Option(names = "--trials", defaultValue = "5", description = "streams per shift (default ${DEFAULT-VALUE})")
  int trials;

  @Option(names = "--seed", defaultValue = "7", description = "seed of the streams (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--estimate-window", defaultValue = "300", description = "the accuracy estimate's window of sampled inputs, "
      + "as streamtune.evaluator.estimate.window (default ${DEFAULT-VALUE})")
  int estimateWindow;

  /** The base model's answers to a pool of images: predicted class, confidence, right or not, penultimate features. */
  private record Answers(int[] predicted, double[] confidence, boolean[] right, int[] truth, float[][] features) {}

  /** Before the class-conditional test: a plain two-sample KS of confidences, reference 500, recent 200, every 50. */
  static final double PLAIN_ALPHA = 0.001;

  @Override
  public Integer call() {
    FashionMnist.Split train = FashionMnist.train(data.dir);
    FashionMnist.Split test = FashionMnist.test(data.dir);
    DirectoryModelStore models = new DirectoryModelStore(store);
    Manifest base = Pretrainer.ensureBase(models, model, train, Pretrainer.Options.defaults(), System.out::println);
    LoadedModel m = models.load(model, base.version(), base.sha256());
    Map<String, Answers> pools = new LinkedHashMap<>();
    pools.put("clean", answers(m, test, Corruption.NONE));
    for (String s : shifts) {
      pools.put(s, answers(m, test, Corruption.parse(s)));
    }
    EvaluatorConfig cfg = EvaluatorConfig.from(Settings.empty());
    DriftDetectors supervised = new DriftDetectors(DriftDetectors.KNOWN, cfg.drift().pageHinkley(), cfg.drift().ddm(),
        cfg.drift().adwin());
    System.out.printf(Locale.ROOT, "bench drift: base %s v%d (accuracy on the clean test split %.4f); class runs of mean "
        + "length %.0f; detectors with the evaluator's defaults (confidence-ks alpha %s per test every %d; feature-ks alpha %s "
        + "every %d sampled)%n", model, base.version(), accuracy(pools.get("clean")), runMean, cfg.confidence().alpha(),
        cfg.confidence().every(), cfg.features().alpha(), cfg.features().every());
    for (Map.Entry<String, Answers> e : pools.entrySet()) {
      System.out.printf(Locale.ROOT, "  %-9s accuracy %.4f, mean confidence %.3f%n", e.getKey(), accuracy(e.getValue()),
          Arrays.stream(e.getValue().confidence()).average().orElse(Double.NaN));
    }

    // stationary: one long clean stream
    int[] order = stream(test, new SplittableRandom(seed), stationary);
    Map<String, Integer> alarms = run(cfg, supervised, pools.get("clean"), pools.get("clean"), order, Integer.MAX_VALUE).falseAlarms;
    System.out.printf(Locale.ROOT, "%nfalse alarms on %,d stationary clean inputs in class runs (per 100,000)%n", stationary);
    alarms.forEach((d, n) -> System.out.printf(Locale.ROOT, "  %-22s %d  (%.1f per 100,000)%n", d, n, n * 1e5 / stationary));

    // shifts: clean, then shifted, in class runs
    System.out.printf(Locale.ROOT, "%ninputs from the shift to the first alarm (%d streams each: 3,000 clean, then up to 2,000 "
        + "shifted; every input labelled; - = none)%n", trials);
    List<String> names = new ArrayList<>(alarms.keySet());
    System.out.printf(Locale.ROOT, "  %-9s", "shift");
    names.forEach(n -> System.out.printf(Locale.ROOT, " %22s", n));
    System.out.println();
    for (String s : shifts) {
      Map<String, List<Integer>> delays = new LinkedHashMap<>();
      for (int t = 0; t < trials; t++) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + t + s.hashCode());
        int[] o = stream(test, rnd, 5_000);
        Result r = run(cfg, supervised, pools.get("clean"), pools.get(s), o, 3_000);
        r.delays.forEach((d, v) -> delays.computeIfAbsent(d, k -> new ArrayList<>()).add(v));
      }
      System.out.printf(Locale.ROOT, "  %-9s", s);
      for (String n : names) {
        List<Integer> v = delays.getOrDefault(n, List.of());
        System.out.printf(Locale.ROOT, " %22s", v.stream().map(x -> x < 0 ? "-" : Integer.toString(x)).toList().toString()
            .replace(" ", ""));
      }
      System.out.println();
    }
    estimates(m, train, test, pools, order);
    return 0;
  }

  /**
   * The evaluator's accuracy estimate before labels ({@link ShiftAwareEstimate}, as its {@code AccuracyEstimate} keeps it: a
   * reference of {@value #ESTIMATE_REFERENCE} held-out labelled images, a window of the last {@code --estimate-window} inputs
   * of every second one) on the same streams: on the stationary one, how often and how far the window reads the inputs as unlike
   * the reference, and the estimate's error against the window's true accuracy; on each shift, the estimate after two windows
   * of shifted inputs.
   */
  private void estimates(LoadedModel m, FashionMnist.Split train, FashionMnist.Split test, Map<String, Answers> pools,
      int[] stationaryOrder) {
    // held-out labelled images the base never trained on (train[55000, 55300): after its pretraining and validation images)
    int from = Math.min(55_000, train.size() - ESTIMATE_REFERENCE);
    Answers ref = answers(m, new FashionMnist.Split(Arrays.copyOfRange(train.images(), from, from + ESTIMATE_REFERENCE),
        Arrays.copyOfRange(train.labels(), from, from + ESTIMATE_REFERENCE)), Corruption.NONE);
    int classes = FashionMnist.LABELS.size();
    ShiftAwareEstimate fitted = ShiftAwareEstimate.fit(ref.confidence(), ref.right(), ref.truth(), ref.predicted(),
        ref.features(), classes, ConfidenceCalibration.DEFAULT_MAX_ECE);
    int every = EvaluatorConfig.from(Settings.empty()).features().sampleEvery();
    System.out.printf(Locale.ROOT, "%naccuracy estimate before labels (window of the last %d of every %d inputs; reference %d "
        + "held-out images, %s)%n", estimateWindow, every, ESTIMATE_REFERENCE, fitted);
    Window w = new Window(fitted, pools.get("clean"), estimateWindow);
    int windows = 0;
    int unlike = 0;
    double maxRatio = 0;
    double absError = 0;
    double maxError = 0;
    for (int i = 0; i < stationaryOrder.length; i += every) {
      w.add(stationaryOrder[i]);
      if (w.full()) {
        ShiftAwareEstimate.Estimate e = w.estimate();
        windows++;
        unlike += e.unfamiliar() ? 1 : 0;
        maxRatio = Math.max(maxRatio, e.distanceRatio());
        double err = Math.abs(e.estimate() - w.truth());
        absError += err;
        maxError = Math.max(maxError, err);
      }
    }
    System.out.printf(Locale.ROOT, "  stationary, %,d windows: held to the class prior in %d (%.2f %%), distance ratio at most "
        + "%.2f; |estimate - window's accuracy| mean %.1f, at most %.1f points%n", windows, unlike, 100.0 * unlike / windows,
        maxRatio, 100 * absError / windows, 100 * maxError);
    System.out.printf(Locale.ROOT, "  %-9s %8s %8s %10s %8s %10s %10s%n", "shift", "true", "estimate", "plain CBPE", "ratio",
        "error pts", "held");
    for (String s : shifts) {
      double truth = 0;
      double est = 0;
      double plain = 0;
      double ratio = 0;
      int held = 0;
      for (int t = 0; t < trials; t++) {
        // two windows' worth: the estimate is held to the class prior after a whole window read as unlike the reference
        int[] o = stream(test, new SplittableRandom(seed * 131 + t + s.hashCode()), 2 * estimateWindow * every);
        Window sw = new Window(fitted, pools.get(s), estimateWindow);
        for (int i = 0; i < o.length; i += every) {
          sw.add(o[i]);
        }
        ShiftAwareEstimate.Estimate e = sw.estimate();
        truth += sw.truth() / trials;
        est += e.estimate() / trials;
        plain += e.plain() / trials;
        ratio += e.distanceRatio() / trials;
        held += e.unfamiliar() ? 1 : 0;
      }
      System.out.printf(Locale.ROOT, "  %-9s %8.3f %8.3f %10.3f %8.2f %+10.1f %6d of %d%n", s, truth, est, plain, ratio,
          100 * (est - truth), held, trials);
    }
  }

  static final int ESTIMATE_REFERENCE = 300;

  /** The last sampled answers of a stream, as the evaluator's estimate keeps them, and their truth. */
  private static final class Window {
    private final ShiftAwareEstimate.Window window;
    private final Answers pool;
    private final boolean[] right;
    private int seen;

    Window(ShiftAwareEstimate fitted, Answers pool, int capacity) {
      this.pool = pool;
      this.window = new ShiftAwareEstimate.Window(capacity, capacity);
      this.right = new boolean[capacity];
      window.fit(fitted);
    }

    void add(int k) {
      right[seen++ % right.length] = pool.right()[k];
      window.add(pool.confidence()[k], pool.predicted()[k], pool.features()[k]);
    }

    boolean full() {
      return seen >= right.length;
    }

    ShiftAwareEstimate.Estimate estimate() {
      return window.estimate();
    }

    double truth() {
      int n = Math.min(seen, right.length);
      int ok = 0;
      for (int i = 0; i < n; i++) {
        ok += right[i] ? 1 : 0;
      }
      return ok / (double) n;
    }
  }

  /** Alarms before {@code shiftAt} per detector, and for each the inputs from the shift to its first alarm (-1: none). */
  private record Result(Map<String, Integer> falseAlarms, Map<String, Integer> delays) {}

  private Result run(EvaluatorConfig cfg, DriftDetectors supervised, Answers clean, Answers shifted, int[] order, int shiftAt) {
    Map<String, Integer> fa = new LinkedHashMap<>();
    Map<String, Integer> delay = new LinkedHashMap<>();
    ModelMonitor mm = new ModelMonitor(supervised, cfg.accuracyWindow());
    ModelMonitor.State ms = ModelMonitor.State.empty();
    ConfidenceMonitor cm = new ConfidenceMonitor(cfg.confidence());
    ConfidenceMonitor.State cs = ConfidenceMonitor.State.initial(1);
    FeatureDriftMonitor fm = null;
    PlainKs plain = new PlainKs();
    for (String d : supervised.names()) {
      fa.put(d, 0);
    }
    fa.put("confidence-ks", 0);
    fa.put("feature-ks", 0);
    fa.put("plain confidence KS", 0);
    fa.keySet().forEach(k -> delay.put(k, -1));
    Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    for (int i = 0; i < order.length; i++) {
      boolean after = i >= shiftAt;
      Answers a = after ? shifted : clean;
      int k = order[i];
      Instant at = t0.plusMillis(100L * i);
      String label = FashionMnist.LABELS.get(a.predicted()[k]);
      Prediction p = Prediction.of("p" + i, model, 1, List.of(new LabelProbability(label, a.confidence()[k])), 1.0, at);
      List<String> fired = new ArrayList<>();
      ModelMonitor.Update u = mm.apply(ms, Outcome.of(p, Feedback.of("p" + i, FashionMnist.LABELS.get(a.truth()[k]), "bench",
          at)));
      ms = u.state();
      u.drifts().forEach(d -> fired.add(d.detector()));
      ConfidenceMonitor.Update c = cm.apply(cs, p);
      cs = c.state();
      c.drift().ifPresent(d -> fired.add("confidence-ks"));
      if (i % cfg.features().sampleEvery() == 0) {
        if (fm == null) {
          fm = new FeatureDriftMonitor(cfg.features(), a.features()[k].length, model.hashCode());
          fm.reset(1);
        }
        fm.add(a.features()[k], a.predicted()[k], at).ifPresent(x -> fired.add("feature-ks"));
      }
      if (plain.add(a.confidence()[k])) {
        fired.add("plain confidence KS");
      }
      for (String d : fired) {
        if (!after) {
          fa.merge(d, 1, Integer::sum);
        } else if (delay.get(d) < 0) {
          delay.put(d, i - shiftAt + 1);
        }
      }
    }
    return new Result(fa, delay);
  }

  /** The confidence test the evaluator ran before it looked at classes, for comparison. */
  private static final class PlainKs {
    private final double[] reference = new double[500];
    private final double[] recent = new double[200];
    private int refFill;
    private int seen;
    private int since;

    boolean add(double c) {
      if (refFill < reference.length) {
        reference[refFill++] = c;
        return false;
      }
      recent[seen++ % recent.length] = c;
      if (seen < recent.length || ++since < 50) {
        return false;
      }
      since = 0;
      if (KolmogorovSmirnov.test(reference, recent).pValue() < PLAIN_ALPHA) {
        refFill = 0;
        seen = 0;
        return true;
      }
      return false;
    }
  }

  /** Image indices in class runs: a class drawn at random, then a geometric number of its images (mean {@link #runMean}). */
  private int[] stream(FashionMnist.Split pool, SplittableRandom rnd, int n) {
    List<List<Integer>> byClass = new ArrayList<>();
    for (int c = 0; c < FashionMnist.LABELS.size(); c++) {
      byClass.add(new ArrayList<>());
    }
    for (int i = 0; i < pool.size(); i++) {
      byClass.get(pool.labels()[i]).add(i);
    }
    int[] out = new int[n];
    int i = 0;
    while (i < n) {
      List<Integer> members = byClass.get(rnd.nextInt(byClass.size()));
      int run = 1;
      while (rnd.nextDouble() > 1 / runMean) {
        run++;
      }
      for (int r = 0; r < run && i < n; r++) {
        out[i++] = members.get(rnd.nextInt(members.size()));
      }
    }
    return out;
  }

  private static Answers answers(LoadedModel m, FashionMnist.Split split, Corruption c) {
    Preprocessor pre = Preprocessor.of(m.spec());
    int n = split.size();
    int[] predicted = new int[n];
    double[] conf = new double[n];
    boolean[] right = new boolean[n];
    float[][] features = new float[n][];
    for (int s = 0; s < n; s += 500) {
      int e = Math.min(n, s + 500);
      List<float[]> batch = new ArrayList<>(e - s);
      for (int i = s; i < e; i++) {
        batch.add(c == Corruption.NONE ? split.images()[i] : c.apply(split.images()[i], FashionMnist.SIDE, i));
      }
      INDArray x = pre.batch(batch);
      INDArray out = m.network().output(x);
      INDArray f = m.network().features(m.spec().embeddingLayer(), x);
      int[] arg = Networks.argMax(out);
      for (int i = s; i < e; i++) {
        predicted[i] = arg[i - s];
        conf[i] = out.getDouble(i - s, arg[i - s]);
        right[i] = arg[i - s] == split.labels()[i];
        features[i] = f.getRow(i - s).dup().toFloatVector();
      }
    }
    return new Answers(predicted, conf, right, split.labels(), features);
  }

  private static double accuracy(Answers a) {
    int ok = 0;
    for (boolean r : a.right()) {
      ok += r ? 1 : 0;
    }
    return ok / (double) a.right().length;
  }
}
