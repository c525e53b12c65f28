package dev.streamtune.standalone.eval;

import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.BatchNorms;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.learn.LabelPriority;
import dev.streamtune.trainer.FineTuner;
import dev.streamtune.trainer.FreezePlan;
import dev.streamtune.trainer.Interpolation;
import dev.streamtune.trainer.Retrainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The learning steps of the evaluation, each through the code the trainer uses: {@link Retrainer} (from cached frozen
 * activations when something is frozen), and the backbone's architecture trained from scratch for the scratch baseline and the
 * oracle (a graph's batch-norm statistics re-estimated after each epoch, as pretraining does). Not thread-safe: one evaluation
 * thread.
 */
final class Learner {
  static final int BATCH = 64;
  /** The fine-tunes' head rate and the grey CNN's rate from scratch. */
  static final double RATE = 1e-3;
  /** Epochs the oracle goes on without a better held-out accuracy before it stops (one noisy epoch does not stop it). */
  static final int ORACLE_PATIENCE = 2;
  /** The oracle's rate is multiplied by this after each epoch (the grey CNN; as pretraining's decay). */
  static final double ORACLE_DECAY = 0.7;
  /** Images that re-estimate a graph's batch-norm statistics after an epoch from scratch. */
  private static final int RECALIBRATION_IMAGES = 1024;

  /** A trained model and what it cost. */
  record Trained(Network net, String boundary, Map<String, Double> rates, double seconds, int epochs, String note) {}

  private final Retrainer retrainer;
  private final long seed;
  private final Backbone backbone;
  /** The evaluation's images as the backbone takes them (10 labels; the labels matter to no step here). */
  private final ModelSpec spec;
  private final Preprocessor pre;

  /**
   * A learner whose fine-tunes run {@code epochs} epochs, caching frozen activations under {@code cacheDir}, with distillation
   * at {@code distill}, {@code augmentation}'s copies of the new-domain samples, and each result moved back toward its parent
   * as {@code interpolation} allows.
   */
  Learner(Path cacheDir, int epochs, long seed, Backbone backbone, double distill,
      dev.streamtune.trainer.Augmentation augmentation, Interpolation interpolation) {
    this.retrainer = new Retrainer(cacheDir, 1024L * 1024 * 1024, 20L * 1000 * 1000 * 1000, epochs, BATCH, seed, distill,
        augmentation).with(interpolation);
    this.seed = seed;
    this.backbone = backbone;
    this.spec = backbone.spec(FashionMnist.LABELS);
    this.pre = Preprocessor.of(spec);
  }

  /** The fine-tunes' distillation weight. */
  double distill() {
    return retrainer.distill();
  }

  /** How far the fine-tunes move back toward their parent. */
  Interpolation interpolation() {
    return retrainer.interpolation();
  }

  /** The fine-tunes' augmentation. */
  dev.streamtune.trainer.Augmentation augmentation() {
    return retrainer.augmentation();
  }

  Backbone backbone() {
    return backbone;
  }

  /** The freeze boundaries of the backbone, top first (head only, dense top, deeper). */
  List<String> boundaries() {
    return spec.boundaries();
  }

  /** The predicted label index of each image. */
  int[] predict(Network net, List<Labelled> xs) {
    int[] out = new int[xs.size()];
    for (int s = 0; s < xs.size(); s += 500) {
      List<Labelled> part = xs.subList(s, Math.min(xs.size(), s + 500));
      int[] p = Networks.argMax(net.output(pre.batch(Labelled.images(part))));
      System.arraycopy(p, 0, out, s, p.length);
    }
    return out;
  }

  /** A network's answers: each image's top-class confidence, the class it was answered as, its embedding; the output width. */
  record Answers(double[] confidence, int[] predicted, float[][] embeddings, int classes) {}

  /** The network's answers on each image, the embedding read at the spec's embedding layer (as the evaluator reads it). */
  Answers answers(Network net, List<Labelled> xs) {
    double[] confidence = new double[xs.size()];
    int[] predicted = new int[xs.size()];
    float[][] embeddings = new float[xs.size()][];
    int classes = 0;
    for (int s = 0; s < xs.size(); s += 500) {
      List<Labelled> part = xs.subList(s, Math.min(xs.size(), s + 500));
      Network.Pass pass = net.featuresAndOutput(spec.embeddingLayer(), pre.batch(Labelled.images(part)));
      int[] p = Networks.argMax(pass.output());
      classes = (int) pass.output().size(1);
      for (int i = 0; i < part.size(); i++) {
        predicted[s + i] = p[i];
        confidence[s + i] = Math.min(1, Math.max(0, pass.output().getDouble(i, p[i])));
        embeddings[s + i] = pass.features().getRow(i).dup().toFloatVector();
      }
    }
    return new Answers(confidence, predicted, embeddings, classes);
  }

  /** How an arm of the labelling comparison chooses its labels among served images of the drift region. */
  enum Choice {
    /** what the labelling queue asks for there ({@link LabelPriority#selectBatch}: a uniform sample), i.e. random feedback */
    QUEUE,
    /** the n least sure answers (margin) */
    MARGIN,
    /** uncertain and diverse gradient embeddings ({@link LabelPriority#badge}) */
    BADGE,
    /**
     * weighted by the chance of having shifted, from the embedding's novelty against the images trained on (above the
     * reference's typical novelty: 0.9 π / f, below: 0.1 π / (1 − f), π = (f − 0.1) / 0.8 from the share f above)
     */
    NOVELTY
  }

  /** The {@code n} images of {@code pool} (all served after the shift) that {@code choice} asks labels for. */
  List<Labelled> choose(Choice choice, Network net, List<Labelled> reference, List<Labelled> pool, int n, long drawSeed) {
    String layer = spec.embeddingLayer();
    float[][] p = new float[pool.size()][];
    float[][] h = new float[pool.size()][];
    for (int s = 0; s < pool.size(); s += 500) {
      List<Labelled> part = pool.subList(s, Math.min(pool.size(), s + 500));
      Network.Pass pass = net.featuresAndOutput(layer, pre.batch(Labelled.images(part)));
      for (int i = 0; i < part.size(); i++) {
        p[s + i] = pass.output().getRow(i).dup().toFloatVector();
        h[s + i] = pass.features().getRow(i).dup().toFloatVector();
      }
    }
    Random rnd = new Random(drawSeed);
    List<Integer> all = new ArrayList<>();
    for (int i = 0; i < pool.size(); i++) {
      all.add(i);
    }
    List<Integer> picked = switch (choice) {
      case QUEUE -> {
        boolean[] drift = new boolean[pool.size()];
        java.util.Arrays.fill(drift, true);
        yield java.util.Arrays.stream(LabelPriority.selectBatch(p, h, drift, n, drawSeed)).boxed().toList();
      }
      case MARGIN -> {
        all.sort(java.util.Comparator.comparingDouble((Integer i) -> -LabelPriority.uncertainty(p[i])));
        yield all.subList(0, n);
      }
      case BADGE -> LabelPriority.badge(p, h, all, n, rnd);
      case NOVELTY -> noveltyWeighted(net, reference, h, n, rnd);
    };
    List<Labelled> out = new ArrayList<>();
    for (int i : picked) {
      out.add(pool.get(i));
    }
    return out;
  }

  private List<Integer> noveltyWeighted(Network net, List<Labelled> reference, float[][] h, int n, Random rnd) {
    LabelPriority.Reference ref = new LabelPriority.Reference(reference.size(), Math.min(50, reference.size()), seed);
    INDArray f = net.featuresAndOutput(spec.embeddingLayer(), pre.batch(Labelled.images(reference))).features();
    for (int i = 0; i < reference.size(); i++) {
      ref.add(f.getRow(i).dup().toFloatVector());
    }
    double typical = ref.typical();
    int above = 0;
    double[] novelty = new double[h.length];
    for (int i = 0; i < h.length; i++) {
      novelty[i] = ref.novelty(h[i]);
      above += novelty[i] > typical ? 1 : 0;
    }
    double share = above / (double) h.length;
    double pi = Math.max(0, Math.min(1, (share - 0.1) / 0.8));
    double wAbove = pi > 0 ? 0.9 * pi / share : 1;
    double wBelow = pi > 0 && share < 1 ? 0.1 * pi / (1 - share) : 1;
    Integer[] order = new Integer[h.length];
    double[] key = new double[h.length];
    for (int i = 0; i < h.length; i++) {
      order[i] = i;
      key[i] = Math.log(rnd.nextDouble()) / Math.max(1e-3, novelty[i] > typical ? wAbove : wBelow);
    }
    java.util.Arrays.sort(order, java.util.Comparator.comparingDouble((Integer i) -> -key[i]));
    return java.util.Arrays.asList(order).subList(0, n);
  }

  /** Which of {@code xs} the network answers right. */
  boolean[] correct(Network net, List<Labelled> xs) {
    return correct(predict(net, xs), xs);
  }

  static boolean[] correct(int[] predicted, List<Labelled> xs) {
    boolean[] ok = new boolean[xs.size()];
    for (int i = 0; i < ok.length; i++) {
      ok[i] = predicted[i] == xs.get(i).label();
    }
    return ok;
  }

  static double accuracy(boolean[] ok) {
    int k = 0;
    for (boolean b : ok) {
      k += b ? 1 : 0;
    }
    return ok.length == 0 ? Double.NaN : k / (double) ok.length;
  }

  /**
   * Fine-tunes the champion as the trainer does: frozen activations from the feature cache (keyed by the champion's backbone and
   * the boundary) and {@link Retrainer}; the whole network on images when nothing is frozen. Samples {@code replayFrom..} of
   * {@code train} are the replayed ones (distilled toward the champion when the learner distils).
   */
  Trained fineTune(Network champion, String championKey, FreezePlan plan, List<Labelled> train, int replayFrom) {
    Technique own = new Technique("own", retrainer.distill(), retrainer.augmentation(),
        dev.streamtune.trainer.PseudoLabels.Options.OFF, retrainer.interpolation());
    return fineTune(own, champion, championKey, plan, train, replayFrom, List.of());
  }

  /**
   * A classifier on an earlier stage: the champion's layers up to {@code boundary} (frozen, as they are) with a new dense layer
   * ({@code fc}, 128) and output ({@code head}) in place of everything above, trained from the frozen activations by the same
   * recipe (replay, distillation toward the champion on the replayed samples). The field's advice for a new domain far from
   * the old one: the early features are generic, the later ones specific to the old domain. Grey CNN only (null for a graph).
   */
  Trained earlierHead(Network champion, String championKey, String boundary, double rate, List<Labelled> train, int replayFrom) {
    if (champion.type() != ModelSpec.NetworkType.MULTI_LAYER) {
      return null;
    }
    long start = System.nanoTime();
    org.deeplearning4j.nn.multilayer.MultiLayerNetwork base = champion.multiLayer();
    int b = Networks.layerIndex(base, boundary);
    org.deeplearning4j.nn.conf.NeuralNetConfiguration.ListBuilder list = new org.deeplearning4j.nn.conf.NeuralNetConfiguration
        .Builder().seed(seed).updater(new org.nd4j.linalg.learning.config.Adam(rate))
        .weightInit(org.deeplearning4j.nn.weights.WeightInit.XAVIER).list();
    for (int i = 0; i <= b; i++) {
      list.layer(base.getLayer(i).conf().getLayer().clone());
    }
    list.layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().name("fc").nOut(128)
        .activation(org.nd4j.linalg.activations.Activation.RELU).build());
    list.layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
        org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MCXENT).name("head")
        .nOut(base.getLayer(base.getnLayers() - 1).conf().getLayer() instanceof
            org.deeplearning4j.nn.conf.layers.BaseOutputLayer o ? o.getNOut() : 10)
        .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build());
    org.deeplearning4j.nn.multilayer.MultiLayerNetwork net = new org.deeplearning4j.nn.multilayer.MultiLayerNetwork(
        list.setInputType(org.deeplearning4j.nn.conf.inputs.InputType.convolutional(spec.height(), spec.width(),
            spec.channels())).build());
    net.init();
    for (int i = 0; i <= b; i++) {
      for (Map.Entry<String, INDArray> p : base.getLayer(i).paramTable().entrySet()) {
        net.getLayer(i).setParam(p.getKey(), p.getValue().dup());
      }
    }
    FreezePlan plan = new FreezePlan(boundary, rate, 0.1, "a new classifier on " + boundary);
    String key = Retrainer.backboneKey(championKey + "-" + backbone.id() + "-s" + seed, 0, null, boundary);
    FineTuner.Result r = retrainer.retrain(champion, key, Network.of(net), spec, plan, Labelled.ids(train),
        Labelled.images(train), Labelled.labels(train), replayFrom, (lookup, ms) -> { });
    return new Trained(r.model(), boundary, r.layerRates(), seconds(start), r.epochs(), "new fc + head on " + boundary);
  }

  /**
   * A way to fine-tune with fewer labels, for the label-efficiency curves: the recipe's distillation weight, augmentation and
   * pseudo-labels (off: {@link dev.streamtune.trainer.PseudoLabels.Options#OFF}).
   */
  record Technique(String name, double distill, dev.streamtune.trainer.Augmentation augmentation,
      dev.streamtune.trainer.PseudoLabels.Options pseudo, Interpolation interpolation) {}

  /**
   * {@link #fineTune} with {@code t}'s recipe, pseudo-labelling {@code unlabelled} (served new-domain images without a label)
   * when the technique does; the note says what the pseudo-labelling took (without pseudo-labels: where the frozen
   * activations came from).
   */
  Trained fineTune(Technique t, Network champion, String championKey, FreezePlan plan, List<Labelled> train, int replayFrom,
      List<Labelled> unlabelled) {
    long start = System.nanoTime();
    String key = Retrainer.backboneKey(championKey + "-" + backbone.id() + "-s" + seed, 0, null, plan.boundary());
    Retrainer.PseudoResult r = retrainer.with(t.distill(), t.augmentation()).with(t.interpolation())
        .retrainWithPseudoLabels(champion, key, champion, spec, plan, Labelled.ids(train), Labelled.images(train),
            Labelled.labels(train), replayFrom, Labelled.ids(unlabelled), Labelled.images(unlabelled), t.pseudo(),
            (lookup, ms) -> { });
    String note = r.selection() != null ? r.selection().describe() : !t.pseudo().off() ? "no pseudo-labels"
        : r.result().cachedFeatureHits() == null ? "trained on images"
        : r.result().cachedFeatureHits() + "/" + train.size() + " frozen activations from the cache";
    if (r.selection() != null && r.selection().count() > 0) {
      int right = 0;
      for (int k = 0; k < r.selection().count(); k++) {
        right += r.selection().labels()[k] == unlabelled.get(r.selection().indices()[k]).label() ? 1 : 0;
      }
      note += String.format(java.util.Locale.ROOT, "; %.1f%% of them right", 100.0 * right / r.selection().count());
    }
    if (r.result().interpolation() != null) {
      note += "; interpolated " + r.result().interpolation();
    }
    return new Trained(r.result().model(), plan.boundary(), r.result().layerRates(), seconds(start), r.result().epochs(), note);
  }

  /** The same architecture from a fresh initialisation, trained on {@code train} for {@code epochs} epochs. */
  Trained scratch(int classes, List<Labelled> train, int epochs) {
    long start = System.nanoTime();
    Network net = backbone.fresh(classes, seed);
    Random rnd = new Random(seed);
    for (int e = 0; e < epochs; e++) {
      epoch(net, train, classes, rnd);
    }
    return new Trained(net, FreezePlan.NOTHING, Map.of("all", backbone.rate()), seconds(start), epochs, "from scratch, " + epochs
        + " epochs");
  }

  /**
   * The oracle: what all the data at hand can reach when trained to convergence. The same architecture starts from the serving
   * model's weights ({@code from}: converged on the source domain, trained on nothing the oracle does not see) with a fresh
   * optimiser at the backbone's rate, and every layer trains on all labelled data of every domain, one epoch at a time, until
   * its accuracy on {@code validation} has not improved for {@link #ORACLE_PATIENCE} epochs (or {@code maxEpochs}); the best
   * epoch's weights are kept. {@code epochs} of the result counts the epochs run.
   */
  Trained oracle(Network from, int classes, List<Labelled> train, List<Labelled> validation, int maxEpochs,
      java.util.function.Consumer<String> log) {
    long start = System.nanoTime();
    Network net = warmCopy(from);
    double startAcc = accuracy(correct(net, validation));
    log.accept(String.format("    oracle start (the serving model's weights): held-out accuracy %.4f", startAcc));
    Random rnd = new Random(seed);
    double best = -1;
    INDArray bestParams = null;
    int bestEpoch = 0;
    int e = 0;
    while (e < maxEpochs) {
      if (e >= 1 && net.type() == ModelSpec.NetworkType.MULTI_LAYER) {
        // the pretraining schedule: the rate decays per epoch after the first, so the last epochs settle
        net.multiLayer().setLearningRate(backbone.rate() * Math.pow(ORACLE_DECAY, e));
      }
      epoch(net, train, classes, rnd);
      e++;
      double acc = accuracy(correct(net, validation));
      log.accept(String.format("    oracle epoch %d: held-out accuracy %.4f", e, acc));
      if (acc > best) {
        best = acc;
        bestParams = net.params().dup();
        bestEpoch = e;
      } else if (e - bestEpoch >= ORACLE_PATIENCE) {
        break;
      }
    }
    net.setParams(bestParams);
    if (net.type() == ModelSpec.NetworkType.GRAPH) {
      recalibrate(net, train);
    }
    return new Trained(net, FreezePlan.NOTHING, Map.of("all", backbone.rate()), seconds(start), e,
        "from the serving model's weights (held-out " + String.format("%.4f", startAcc) + "), every layer on " + train.size()
            + " images, " + e + " epochs run" + (e == maxEpochs && bestEpoch == e ? " (the cap: it was still improving)" : "")
            + ", best epoch " + bestEpoch + " kept (held-out " + String.format("%.4f", best) + ")");
  }

  /** A network of {@code from}'s own architecture with its weights, a fresh optimiser and every layer at the backbone's rate. */
  private Network warmCopy(Network from) {
    if (from.type() == ModelSpec.NetworkType.GRAPH) {
      org.deeplearning4j.nn.graph.ComputationGraph g =
          new org.deeplearning4j.nn.graph.ComputationGraph(from.graph().getConfiguration().clone());
      g.init();
      g.setParams(from.params().dup());
      g.setLearningRate(backbone.rate());
      return Network.of(g);
    }
    org.deeplearning4j.nn.multilayer.MultiLayerNetwork m =
        new org.deeplearning4j.nn.multilayer.MultiLayerNetwork(from.multiLayer().getLayerWiseConfigurations().clone());
    m.init();
    m.setParams(from.params().dup());
    m.setLearningRate(backbone.rate());
    return Network.of(m);
  }

  private void epoch(Network net, List<Labelled> train, int classes, Random rnd) {
    int n = train.size();
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    double loss = Double.NaN;
    for (int from = 0; from < n; from += BATCH) {
      int m = Math.min(n, from + BATCH) - from;
      List<float[]> part = new ArrayList<>(m);
      INDArray y = Nd4j.zeros(m, classes);
      for (int i = 0; i < m; i++) {
        Labelled x = train.get(order[from + i]);
        part.add(x.px());
        y.putScalar(i, x.label(), 1f);
      }
      loss = net.fit(new DataSet(pre.batch(part), y));
    }
    if (!Double.isFinite(loss)) {
      throw new IllegalStateException("training from scratch diverged: loss " + loss);
    }
    if (net.type() == ModelSpec.NetworkType.GRAPH) {
      recalibrate(net, train);
    }
  }

  /**
   * Re-estimates a graph's batch-norm statistics in inference mode, as pretraining does, on training images spread over the
   * whole set (clean and new-domain alike: {@link BatchNorms#spread}).
   */
  private void recalibrate(Network net, List<Labelled> train) {
    List<INDArray> batches = new ArrayList<>();
    List<float[]> images = Labelled.images(BatchNorms.spread(train, RECALIBRATION_IMAGES));
    for (int from = 0; from < images.size(); from += BATCH) {
      batches.add(pre.batch(images.subList(from, Math.min(images.size(), from + BATCH))));
    }
    BatchNorms.recalibrate(net.graph(), batches, name -> true);
  }

  private static double seconds(long start) {
    return (System.nanoTime() - start) / 1e9;
  }
}
