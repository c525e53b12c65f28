package dev.streamtune.standalone.eval;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.Network;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

/**
 * The evaluation's scenarios and the images each one uses. Image pools, fixed by the seed:
 * <ul>
 *   <li>train[0, 50000) (the base's own pretraining images): the clean samples that reach the trainer before a shift (its replay
 *       memory) and the oracle's clean source set;</li>
 *   <li>train[50000, 60000) (never seen by the base): the detectors' pre-shift stream and the new domain's labelled training
 *       samples;</li>
 *   <li>test[0, T): the new domain's reported accuracies, and test[0, C) (C = 5 T, at most 5000) the earlier domain's (the
 *       forgetting); test[5000, 5000+G): the gate's held-out recent and guard sets; test[8000, 8000+V): the oracle's
 *       early-stopping set. All corrupted the same way as the domain they stand for.</li>
 * </ul>
 */
final class Scenarios {
  /** Every scenario of either backbone ({@link Backbone#scenarios} says which runs on which). */
  static final List<String> ALL = List.of("night", "invert", "stationary", "gradual", "prior", "newclasses", "recurring",
      "rot90", "blur", "cast-blur");
  /** Classes held back from the 8-class base of the new-classes scenario: Bag and Ankle boot (label indices 8, 9). */
  static final int OLD_CLASSES = 8;
  /** The first TEST image of the gate's sets; the reported sets lie below it. */
  static final int GATE_FROM = 5000;
  /** The label-prior shift: these classes (T-shirt/top, Pullover, Coat, Shirt: the ones the base confuses) take 85 %. */
  static final int[] HEAVY = {0, 2, 4, 6};
  static final double HEAVY_SHARE = 0.85;

  /**
   * One scenario, ready to run.
   *
   * @param champion the network a retrain starts from (for new classes: the base with its head grown)
   * @param served the network serving when the shift comes: its errors feed the detectors, and it is "no adaptation"
   * @param earlier the labelled samples the trainer buffered before the onset, oldest first
   * @param streamBefore the labelled pre-shift stream the detectors see
   * @param fresh the first n labelled samples after the onset, in arrival order
   * @param testNew reported accuracy on the new domain; {@code testClean} on the earlier (clean) domain
   * @param oracleSource the source images the oracle trains on besides the new domain's labels, empty for no oracle
   * @param extraTests further reported test sets (name to images)
   */
  record Setup(String name, String shift, boolean abrupt, boolean expectShift, Network champion, String championKey,
      Network served, int classes, List<Labelled> earlier, List<Labelled> streamBefore, IntFunction<List<Labelled>> fresh,
      List<Labelled> testNew, List<Labelled> testClean, List<Labelled> gateRecent, List<Labelled> gateGuard,
      List<Labelled> validation, List<Labelled> oracleSource, Map<String, List<Labelled>> extraTests, String notes) {}

  private final FashionMnist.Split train;
  private final FashionMnist.Split test;
  private final EvalOptions o;
  private final Backbone backbone;
  private final long seed;
  private final int[] seenOrder;
  private final int[] unseenOrder;

  Scenarios(FashionMnist.Split train, FashionMnist.Split test, EvalOptions o, Backbone backbone, long seed) {
    this.train = train;
    this.test = test;
    this.o = o;
    this.backbone = backbone;
    this.seed = seed;
    this.seenOrder = shuffled(0, Math.min(50_000, train.size()), seed);
    this.unseenOrder = shuffled(50_000, train.size(), seed + 1);
    int need = o.streamBefore() + 2 * o.maxLabels();
    if (unseenOrder.length < need) {
      throw new IllegalArgumentException("the unseen pool train[50000,60000) has " + unseenOrder.length + " images, the sizes need "
          + need + " (stream-before + 2 x the largest label row)");
    }
  }

  /** Clean pretraining images [0, n) in the shuffled order: the replay memory and the oracle's source set draw from it. */
  List<Labelled> seenClean(int n, int maxClass) {
    List<Labelled> out = new ArrayList<>();
    for (int i = 0; i < seenOrder.length && out.size() < n; i++) {
      int k = seenOrder[i];
      if (train.labels()[k] < maxClass) {
        out.add(new Labelled("t" + k + "-none", backbone.image(train.images()[k], false, k, Corruption.NONE, 0),
            train.labels()[k]));
      }
    }
    return out;
  }

  /** Unseen train images from position {@code from} of the shuffled unseen pool, shifted by {@code c}. */
  List<Labelled> unseen(int from, int n, Corruption c, int maxClass) {
    List<Labelled> out = new ArrayList<>();
    for (int i = from; i < unseenOrder.length && out.size() < n; i++) {
      int k = unseenOrder[i];
      if (train.labels()[k] < maxClass) {
        out.add(shift("u", k, train, c));
      }
    }
    return out;
  }

  /** Test images [from, from+n) shifted by {@code c}. */
  List<Labelled> testSet(int from, int n, Corruption c, int maxClass) {
    return testSet(from, test.size(), n, c, maxClass);
  }

  /** Up to {@code n} TEST images of classes below {@code maxClass} from test[from, to), rendered by {@code c}. */
  private List<Labelled> testSet(int from, int to, int n, Corruption c, int maxClass) {
    List<Labelled> out = new ArrayList<>();
    for (int k = from; k < Math.min(to, test.size()) && out.size() < n; k++) {
      if (test.labels()[k] < maxClass) {
        out.add(shift("s", k, test, c));
      }
    }
    return out;
  }

  private Labelled shift(String split, int k, FashionMnist.Split s, Corruption c) {
    boolean isTest = split.equals("s");
    float[] px = backbone.image(s.images()[k], isTest, k, c, seed * 1_000_003L + k + (isTest ? 100_000 : 0));
    return new Labelled(split + k + "-" + c.id(), px, s.labels()[k]);
  }

  /**
   * The earlier domain's reported TEST images, the ones forgetting is measured on: {@link EvalOptions#cleanPerDomain} clean
   * images of classes below {@code maxClass} from test[0, {@value #GATE_FROM}), below the gate's sets. More than the new
   * domain's {@link EvalOptions#testPerDomain}: forgetting is a difference of about a point, paired on these images.
   */
  private List<Labelled> cleanTest(int maxClass) {
    return testSet(0, GATE_FROM, o.cleanPerDomain(), Corruption.NONE, maxClass);
  }

  /** Half clean, half shifted (interleaved) from test[8000, 8000+V): the oracle's early-stopping set. */
  private List<Labelled> validation(Corruption c, int maxClass) {
    List<Labelled> clean = testSet(8000, o.validation() / 2, Corruption.NONE, maxClass);
    List<Labelled> shifted = testSet(8000 + o.validation(), o.validation() - o.validation() / 2, c, maxClass);
    return interleave(clean, shifted);
  }

  /** An abrupt shift from clean to {@code c}. */
  Setup abrupt(Corruption c, Network base) {
    int sb = o.streamBefore();
    return new Setup(c.id(), "abrupt: clean -> " + c.id() + " (" + describe(c) + ")", true, true, base, "base", base, 10,
        seenClean(o.cleanStream(), 10), unseen(0, sb, Corruption.NONE, 10), n -> unseen(sb, n, c, 10),
        testSet(0, o.testPerDomain(), c, 10), cleanTest(10),
        testSet(GATE_FROM, o.gatePerSet(), c, 10), testSet(GATE_FROM, o.gatePerSet(), Corruption.NONE, 10), validation(c, 10),
        seenClean(o.oracleClean(), 10), Map.of(), "");
  }

  /** A gradual shift: the share of {@code c}-shifted images in the labelled stream rises linearly from 0 to 1 over n samples. */
  Setup gradual(Corruption c, Network base) {
    int sb = o.streamBefore();
    IntFunction<List<Labelled>> fresh = n -> {
      List<Labelled> clean = unseen(sb, n, Corruption.NONE, 10);
      List<Labelled> shifted = unseen(sb, n, c, 10);
      SplittableRandom r = new SplittableRandom(seed + 7);
      List<Labelled> out = new ArrayList<>(n);
      for (int i = 0; i < clean.size(); i++) {
        out.add(r.nextDouble() < (i + 1) / (double) n ? shifted.get(i) : clean.get(i));
      }
      return out;
    };
    return new Setup("gradual", "gradual: the share of " + c.id() + " (" + describe(c) + ") images rises linearly 0 -> 100 % over "
        + "the labelled samples after the onset; tested on 100 % " + c.id(), false, true, base, "base", base, 10,
        seenClean(o.cleanStream(), 10), unseen(0, sb, Corruption.NONE, 10), fresh, testSet(0, o.testPerDomain(), c, 10),
        cleanTest(10), testSet(GATE_FROM, o.gatePerSet(), c, 10),
        testSet(GATE_FROM, o.gatePerSet(), Corruption.NONE, 10), validation(c, 10), seenClean(o.oracleClean(), 10), Map.of(),
        "detection delay counted from the start of the ramp");
  }

  /**
   * A recurring domain A -> B -> A: the champion is StreamTune's model adapted to A ({@code adaptedToA}, trained on the largest
   * label row of A plus replay); B arrives; the table is about adapting to B, with A's accuracy on its return as an extra
   * column.
   */
  Setup recurring(Corruption a, Corruption b, Network adaptedToA) {
    int sb = o.streamBefore();
    int max = o.maxLabels();
    List<Labelled> earlier = new ArrayList<>(seenClean(o.cleanStream(), 10));
    List<Labelled> aLabels = unseen(sb, max, a, 10);
    earlier.addAll(aLabels);
    List<Labelled> oracle = new ArrayList<>(seenClean(o.oracleClean(), 10));
    oracle.addAll(aLabels);
    Map<String, List<Labelled>> extra = new LinkedHashMap<>();
    extra.put("A=" + a.id() + " on return", testSet(0, o.testPerDomain(), a, 10));
    return new Setup("recurring", "recurring: clean -> A=" + a.id() + " (adapted, promoted) -> B=" + b.id() + " -> A returns",
        false, true, adaptedToA, "adapted-" + a.id(), adaptedToA, 10, earlier, unseen(0, sb, a, 10),
        n -> unseen(sb + max, n, b, 10), testSet(0, o.testPerDomain(), b, 10), cleanTest(10),
        testSet(GATE_FROM, o.gatePerSet(), b, 10), testSet(GATE_FROM, o.gatePerSet(), Corruption.NONE, 10), validation(b, 10), oracle,
        extra, "champion = StreamTune's " + a.id() + " model (freeze policy, " + max + " " + a.id() + " labels + replay); the "
        + "buffer holds clean + " + a.id() + " samples; the oracle trains on clean + " + max + " " + a.id() + " + the " + b.id()
        + " labels");
  }

  /** Clean images whose class frequencies change: {@link #HEAVY} classes take {@link #HEAVY_SHARE} of the stream. */
  Setup prior(Network base) {
    int sb = o.streamBefore();
    List<Labelled> pool = unseen(sb, unseenOrder.length, Corruption.NONE, 10);
    IntFunction<List<Labelled>> fresh = n -> resample(pool, n, seed + 11);
    List<Labelled> gateRecent = resample(testSet(GATE_FROM, 3000, Corruption.NONE, 10), o.gatePerSet(), seed + 12);
    List<Labelled> val = interleave(testSet(8000, o.validation() / 2, Corruption.NONE, 10),
        resample(testSet(8000 + o.validation(), 2000 - o.validation(), Corruption.NONE, 10), o.validation() - o.validation() / 2,
            seed + 13));
    return new Setup("prior", "label-prior shift: clean images, classes T-shirt/top, Pullover, Coat, Shirt take 85 % of the "
        + "stream (2.5 % each for the other six)", false, true, base, "base", base, 10, seenClean(o.cleanStream(), 10),
        unseen(0, sb, Corruption.NONE, 10), fresh, resample(testSet(0, GATE_FROM, Corruption.NONE, 10), o.testPerDomain(),
            seed + 14),
        cleanTest(10), gateRecent, testSet(GATE_FROM, o.gatePerSet(), Corruption.NONE, 10), val,
        seenClean(o.oracleClean(), 10), Map.of(), "'clean' accuracy is on the uniform prior");
  }

  /** Two classes appear that the 8-class base never saw; the retrain starts from the base with its head grown to 10. */
  Setup newClasses(Network base8, Network grown) {
    int sb = o.streamBefore();
    Map<String, List<Labelled>> extra = new LinkedHashMap<>();
    extra.put("new classes only", filter(testSet(0, o.testPerDomain() * 5, Corruption.NONE, 10), 8, o.testPerDomain() / 2));
    return new Setup("newclasses", "new classes: Bag and Ankle boot appear (about 20 % of the stream) after a base that knows "
        + "8 classes", false, true, grown, "base8-grown", base8, 10, seenClean(o.cleanStream(), OLD_CLASSES),
        unseen(0, sb, Corruption.NONE, OLD_CLASSES), n -> unseen(sb, n, Corruption.NONE, 10),
        testSet(0, o.testPerDomain(), Corruption.NONE, 10), cleanTest(OLD_CLASSES),
        testSet(GATE_FROM, o.gatePerSet(), Corruption.NONE, 10), testSet(GATE_FROM, o.gatePerSet(), Corruption.NONE, OLD_CLASSES),
        validation(Corruption.NONE, 10), seenClean(o.oracleClean(), OLD_CLASSES), extra,
        "new domain = all 10 classes; 'clean' = the 8 old classes; the head grows with HeadGrowth.grow (old weights kept)");
  }

  /** No shift at all: must raise no alarm and promote nothing (the retrain rows are forced, to test the gate on noise). */
  Setup stationary(Network base) {
    int sb = o.streamBefore();
    return new Setup("stationary", "stationary control: clean before and after", false, false, base, "base", base, 10,
        seenClean(o.cleanStream(), 10), unseen(0, sb, Corruption.NONE, 10), n -> unseen(sb, n, Corruption.NONE, 10),
        testSet(0, o.testPerDomain(), Corruption.NONE, 10), cleanTest(10),
        testSet(GATE_FROM, o.gatePerSet(), Corruption.NONE, 10), testSet(GATE_FROM, o.gatePerSet(), Corruption.NONE, 10),
        validation(Corruption.NONE, 10), List.of(), Map.of(),
        "no alarm means StreamTune would not retrain: the retrain rows are forced, to show the gate does not promote noise; "
            + "no oracle");
  }

  private List<Labelled> resample(List<Labelled> pool, int n, long s) {
    List<List<Labelled>> byClass = new ArrayList<>();
    for (int c = 0; c < 10; c++) {
      byClass.add(new ArrayList<>());
    }
    pool.forEach(x -> byClass.get(x.label()).add(x));
    int[] next = new int[10];
    SplittableRandom r = new SplittableRandom(s);
    List<Labelled> out = new ArrayList<>(n);
    while (out.size() < n) {
      double u = r.nextDouble();
      int c;
      if (u < HEAVY_SHARE) {
        c = HEAVY[(int) (u / HEAVY_SHARE * HEAVY.length)];
      } else {
        int[] light = {1, 3, 5, 7, 8, 9};
        c = light[Math.min(5, (int) ((u - HEAVY_SHARE) / (1 - HEAVY_SHARE) * light.length))];
      }
      List<Labelled> l = byClass.get(c);
      if (next[c] >= l.size()) {
        if (l.isEmpty()) {
          throw new IllegalStateException("no images of class " + c + " to resample from");
        }
        // drawn with replacement once a class is used up (only with tiny pools)
        next[c] = 0;
      }
      out.add(l.get(next[c]++));
    }
    return out;
  }

  private static List<Labelled> filter(List<Labelled> xs, int minClass, int n) {
    return xs.stream().filter(x -> x.label() >= minClass).limit(n).toList();
  }

  private static List<Labelled> interleave(List<Labelled> a, List<Labelled> b) {
    List<Labelled> out = new ArrayList<>(a.size() + b.size());
    for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
      if (i < a.size()) {
        out.add(a.get(i));
      }
      if (i < b.size()) {
        out.add(b.get(i));
      }
    }
    return out;
  }

  static String describe(Corruption c) {
    return switch (c) {
      case NONE -> "unchanged";
      case NIGHT -> "x*0.4 + N(0, 0.15)";
      case INVERT -> "1 - x";
      case BLUR -> "Gaussian blur sigma 1.5";
      case CONTRAST -> "0.5 + (x-0.5)*0.3 + N(0, 0.08), fog";
      case ROT90 -> "rotated 90 degrees clockwise";
      case CAST_BLUR -> "warm colour cast (R x1.1, B x0.8), blur sigma 1";
    };
  }

  private static int[] shuffled(int from, int to, long seed) {
    int n = Math.max(0, to - from);
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = from + i;
    }
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
