package dev.streamtune.standalone.eval;

import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.TrainingSummary;
import dev.streamtune.evaluator.DriftDetectors;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.GateRule;
import dev.streamtune.standalone.DataOption;
import dev.streamtune.trainer.FineTuner;
import dev.streamtune.trainer.FreezePlan;
import dev.streamtune.trainer.FreezePolicy;
import dev.streamtune.trainer.HeadGrowth;
import dev.streamtune.trainer.Pretrainer;
import dev.streamtune.trainer.TrainerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code streamtune eval}: the reproducible evaluation of adaptation scenarios, written to docs/evaluation.md. Runs in-process
 * (no Kafka) through the learning code the services use: the trainer's replay buffer, freeze policy, feature cache and
 * fine-tuner, the evaluator's detectors and gate.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Run the adaptation scenarios through the learning code and write the evaluation table and report.")
public final class EvalCommand implements Callable<Integer> {
  /** The Page-Hinkley settings tried on the recorded streams besides the evaluator's default. */
  static final double[] GRID_DELTAS = {0.005, 0.02, 0.05, 0.1};
  static final double[] GRID_LAMBDAS = {5, 10, 15, 25, 50};

  @Spec
  CommandLine.Model.CommandSpec spec;

  @Mixin
  DataOption data;

  @Option(names = "--store", paramLabel = "DIR", defaultValue = "streamtune-work/base",
      description = "model store with the pretrained base (default ${DEFAULT-VALUE}); pretrained into it when absent")
  Path store;

  @Option(names = "--model", description = "the base model's name in the store (default fashion, or fashion-rgb with "
      + "--backbone resnet)")
  String model;

  @Option(names = "--backbone", defaultValue = "cnn", paramLabel = "ARCH",
      description = "cnn (the grey 28x28 CNN, default) or resnet (the RGB residual graph on the colour rendering of the images; "
          + "writes evaluation-resnet.md)")
  String backboneName;

  @Option(names = "--work", paramLabel = "DIR", defaultValue = "streamtune-work/eval",
      description = "working directory: feature cache, the 8-class base (default ${DEFAULT-VALUE})")
  Path work;

  @Option(names = "--out", paramLabel = "DIR", defaultValue = "docs",
      description = "where evaluation.md goes (default ${DEFAULT-VALUE})")
  Path out;

  @Option(names = "--report", paramLabel = "DIR", description = "where the HTML report goes (default <out>/evaluation)")
  Path report;

  @Option(names = "--scenarios", split = ",", paramLabel = "NAME",
      description = "scenarios to run, a comma list of night, invert, blur, rot90, gradual, recurring, prior, newclasses, "
          + "stationary (default: all of these; with --backbone resnet: cast-blur, night, invert, blur, rot90, stationary)")
  List<String> scenarios;

  @Option(names = "--seed", defaultValue = "42", description = "seed of every sample choice and training (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--quick", description = "tiny sizes (about a minute): a smoke run, not a measurement")
  boolean quick;

  @Option(names = "--no-oracle", description = "skip the oracles (ratios n/a): a faster comparison of recipes, e.g. with "
      + "--distill")
  boolean noOracle;

  @Option(names = "--distill", paramLabel = "W", description = "the fine-tunes' distillation toward the parent on replayed "
      + "samples, in [0, 0.99] (default: the trainer's, streamtune.trainer.distill)")
  Double distill;

  @Option(names = "--augment", paramLabel = "OPS", description = "augmented copies of the new-domain samples in the fine-tunes: "
      + "none or a comma list of mirror, shift, noise (default: the trainer's, streamtune.trainer.augment)")
  String augment;

  @Option(names = "--label-curve", split = ",", paramLabel = "N", description = "new-domain label counts of the "
      + "label-efficiency curves on the abrupt shifts (each technique alone and together, against plain fine-tuning on random "
      + "feedback), e.g. 100,250,500,1000,2000 (default: none; a quick run: 40,120)")
  List<Integer> labelCurve;

  @Option(names = "--clean-stream", paramLabel = "N", description = "clean labelled samples streamed into the trainer's buffer "
      + "before each shift, the replay candidates (default 10000: the trainer's default buffer of 6000 recent + 4000 reservoir "
      + "full, as after any run longer than its capacity; pages measured with replay-ratio 2 streamed 6000)")
  Integer cleanStream;

  @Option(names = {"-s", "--set"}, paramLabel = "KEY=VALUE", description = "a trainer setting for the fine-tunes and the freeze "
      + "policy, e.g. -s streamtune.trainer.lower-rate-factor=0.03 (--distill and --augment win over the same keys here)")
  java.util.Map<String, String> settings = new java.util.LinkedHashMap<>();

  /** The trainer's settings in effect: the defaults with {@code -s}, {@code --distill} and {@code --augment} over them. */
  private TrainerConfig trainerConfig;

  @Override
  public Integer call() {
    Backbone backbone;
    try {
      backbone = Backbone.parse(backboneName);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--backbone: " + e.getMessage());
    }
    List<String> chosen = scenarios == null || scenarios.isEmpty() ? backbone.scenarios()
        : scenarios.stream().map(String::trim).toList();
    for (String s : chosen) {
      if (!backbone.scenarios().contains(s)) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--scenarios: unknown scenario '" + s + "' for --backbone "
            + backbone.id() + ", one of " + backbone.scenarios());
      }
    }
    if (model == null) {
      model = backbone.arch().defaultModel();
    }
    java.util.Map<String, String> overrides = new java.util.HashMap<>(settings);
    if (distill != null) {
      overrides.put(TrainerConfig.DISTILL, Double.toString(distill));
    }
    if (augment != null) {
      overrides.put(dev.streamtune.trainer.Augmentation.KEY, augment);
    }
    try {
      trainerConfig = TrainerConfig.from(Settings.of(overrides));
    } catch (RuntimeException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "-s / --distill / --augment: " + e.getMessage());
    }
    EvalOptions o = quick ? EvalOptions.quick() : EvalOptions.defaults();
    if (labelCurve != null && !labelCurve.isEmpty()) {
      try {
        o = o.withLabelCurve(labelCurve);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--label-curve: " + e.getMessage());
      }
    }
    if (cleanStream != null) {
      try {
        o = o.withCleanStream(cleanStream);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--clean-stream: " + e.getMessage());
      }
    }
    List<String> args = spec.commandLine().getParseResult() == null ? List.of()
        : spec.commandLine().getParseResult().originalArgs();
    // the parse result is the top-level command's: its arguments start with the subcommand's name
    List<String> own = !args.isEmpty() && args.get(0).equals("eval") ? args.subList(1, args.size()) : args;
    String command = "bin/streamtune eval" + (own.isEmpty() ? "" : " " + String.join(" ", own));
    String name = backbone == Backbone.CNN ? "evaluation" : "evaluation-" + backbone.id();
    Path htmlDir = report != null ? report : out.resolve(name);
    run(o, backbone, chosen, command, out.resolve(name + ".md"), htmlDir);
    return 0;
  }

  private void run(EvalOptions o, Backbone backbone, List<String> chosen, String command, Path md, Path htmlDir) {
    long start = System.nanoTime();
    List<String> notes = new ArrayList<>();
    say("eval: " + (quick ? "QUICK (smoke sizes) " : "") + "backbone " + backbone.id() + ", scenarios " + chosen + ", seed "
        + seed);
    FashionMnist.Split train = FashionMnist.train(data.dir);
    FashionMnist.Split test = FashionMnist.test(data.dir);
    say("loaded Fashion-MNIST: " + train.size() + " train, " + test.size() + " test images");
    Network base = base(o, backbone, train, notes);
    Path cacheDir = work.resolve("feature-cache");
    deleteTree(cacheDir);
    TrainerConfig trainer = trainerConfig;
    Learner learner = new Learner(cacheDir, o.epochs(), seed, backbone, trainer.distill(), trainer.augment(),
        trainer.interpolation());
    FreezePolicy policy = trainer.freezePolicy();
    GateRule gate = EvaluatorConfig.from(Settings.empty()).gate();
    DriftDetectors detectors = Detection.serviceDefaults();
    ScenarioRunner runner = new ScenarioRunner(learner, o, seed, policy, gate, detectors, this::say, !noOracle).trainer(trainer)
        .cacheOraclesIn(work.resolve("oracles"));
    Scenarios sc = new Scenarios(train, test, o, backbone, seed);

    // false alarms: the base's errors on clean test images, resampled into a long stationary stream
    List<Labelled> cleanTest = sc.testSet(0, Math.min(test.size(), 10 * o.testPerDomain()), Corruption.NONE, 10);
    boolean[] ok = learner.correct(base, cleanTest);
    boolean[] recorded = new boolean[ok.length];
    for (int i = 0; i < ok.length; i++) {
      recorded[i] = !ok[i];
    }
    boolean[] stationary = Detection.resample(recorded, o.falseAlarmOutcomes(), seed);
    Map<String, Integer> falseAlarms = new LinkedHashMap<>();
    for (String d : detectors.names()) {
      falseAlarms.put(d, Detection.alarms(detectors, d, stationary).size());
    }
    double errorRate = 1 - Learner.accuracy(ok);
    say(String.format(Locale.ROOT, "false alarms over %d stationary outcomes (base error rate %.4f on %d clean test images): %s",
        stationary.length, errorRate, cleanTest.size(), falseAlarms));

    List<ScenarioRunner.Result> results = new ArrayList<>();
    Map<String, Network> adapted = new LinkedHashMap<>();
    for (String name : chosen) {
      say("scenario " + name + " (" + (results.size() + 1) + "/" + chosen.size() + ")");
      Scenarios.Setup setup = switch (name) {
        case "night", "invert", "blur", "rot90", "cast-blur" -> sc.abrupt(Corruption.parse(name), base);
        case "gradual" -> sc.gradual(Corruption.CONTRAST, base);
        case "recurring" -> {
          Network a = adapted.get("night");
          if (a == null) {
            say("  recurring: adapting the base to night first (StreamTune's policy, " + o.maxLabels() + " labels)");
            a = runner.adapt(sc.abrupt(Corruption.NIGHT, base), o.maxLabels());
          }
          yield sc.recurring(Corruption.NIGHT, Corruption.INVERT, a);
        }
        case "prior" -> sc.prior(base);
        case "newclasses" -> {
          Network base8 = Network.of(base8(o, sc, notes));
          yield sc.newClasses(base8, HeadGrowth.grow(base8, 10, seed));
        }
        case "stationary" -> sc.stationary(base);
        default -> throw new IllegalStateException(name);
      };
      ScenarioRunner.Result r = runner.run(setup);
      results.add(r);
      if (r.adapted() != null) {
        adapted.put(name, r.adapted());
      }
      say(String.format(Locale.ROOT, "scenario %s done in %.0f s (total %.0f s)", name, r.seconds(),
          (System.nanoTime() - start) / 1e9));
      boolean last = results.size() == chosen.size();
      // the markdown is rewritten after every scenario, so a run cut short still leaves its finished scenarios
      List<Goals.Goal> goals = write(o, backbone, chosen, command, md, htmlDir, results, falseAlarms, stationary, errorRate, notes,
          policy, gate, detectors, start, last);
      if (last) {
        for (Goals.Goal g : goals) {
          say((g.met() ? "MET      " : "NOT MET  ") + g.goal() + ": " + g.measured());
        }
      }
    }
    double wall = (System.nanoTime() - start) / 1e9;
    say(String.format(Locale.ROOT, "eval finished in %.0f s", wall));
  }

  private List<Goals.Goal> write(EvalOptions o, Backbone backbone, List<String> chosen, String command, Path md, Path htmlDir,
      List<ScenarioRunner.Result> results, Map<String, Integer> falseAlarms, boolean[] stationary, double errorRate,
      List<String> runNotes, FreezePolicy policy, GateRule gate, DriftDetectors detectors, long start, boolean last) {
    int outcomes = stationary.length;
    Map<String, Map.Entry<boolean[], Integer>> streams = new LinkedHashMap<>();
    results.stream().filter(r -> r.setup().abrupt()).forEach(r -> streams.put(r.setup().name(),
        Map.entry(r.errors(), r.setup().streamBefore().size())));
    List<Detection.Sensitivity> grid = Detection.pageHinkleyGrid(detectors, streams, stationary, GRID_DELTAS, GRID_LAMBDAS,
        Goals.MAX_DELAY);
    List<Row> rows = results.stream().flatMap(r -> r.rows().stream()).toList();
    Map<String, Map<String, Detection.Outcome>> detection = new LinkedHashMap<>();
    results.forEach(r -> detection.put(r.setup().name(), r.detection()));
    List<String> abrupt = results.stream().filter(r -> r.setup().abrupt()).map(r -> r.setup().name()).toList();
    boolean stationaryDone = results.stream().anyMatch(r -> r.setup().name().equals("stationary"));
    // covariate shifts: the images change, the labelling rule and the classes do not
    Map<String, ScenarioRunner.Estimate> covariate = new LinkedHashMap<>();
    results.stream().filter(r -> r.setup().abrupt() || r.setup().name().equals("gradual"))
        .forEach(r -> covariate.put(r.setup().name(), r.estimate()));
    List<Goals.Goal> goals = new ArrayList<>(Goals.check(rows, detection, abrupt, stationaryDone ? "stationary" : null,
        falseAlarms, outcomes, covariate));
    goals.addAll(LabelEfficiency.goals(results));
    List<String> notes = new ArrayList<>(runNotes);
    notes.addAll(standingNotes(o, trainerConfig, policy, gate, detectors, rows));
    double wall = (System.nanoTime() - start) / 1e9;
    String status = last ? "" : " (PARTIAL: " + results.size() + " of " + chosen.size() + " scenarios finished so far, the run "
        + "goes on)";
    EvalWriter.Context ctx = new EvalWriter.Context(describe(backbone), command + status, machine(), sizes(o, trainerConfig, !noOracle), wall, goals, falseAlarms, outcomes,
        errorRate, grid, notes);
    EvalWriter.writeMarkdown(md, EvalWriter.markdown(ctx, results));
    say("wrote " + md + status);
    if (last) {
      Path html = EvalWriter.html(htmlDir, ctx, results, this::say);
      if (html != null) {
        say("wrote " + html);
      }
    }
    return goals;
  }

  private Network base(EvalOptions o, Backbone backbone, FashionMnist.Split train, List<String> notes) {
    DirectoryModelStore s = new DirectoryModelStore(store);
    Pretrainer.Options r = Pretrainer.Options.resnetDefaults();
    // the CNN's base as `streamtune pretrain` makes it (early stopping on a held-out split); one epoch in a quick run
    Pretrainer.Options options = backbone == Backbone.CNN ? (quick ? new Pretrainer.Options(o.baseImages(), 1, 64, 1e-3, 42)
        : Pretrainer.Options.defaults())
        : new Pretrainer.Options(Math.min(o.baseImages(), r.trainImages()), quick ? 1 : r.epochs(), r.batchSize(),
            r.learningRate(), r.seed(), Pretrainer.Arch.RESNET);
    Manifest m = Pretrainer.ensureBase(s, model, train, options, this::say);
    if (m.spec().network() != (backbone == Backbone.CNN ? ModelSpec.NetworkType.MULTI_LAYER : ModelSpec.NetworkType.GRAPH)
        || m.spec().channels() != (backbone == Backbone.CNN ? 1 : 3)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--model " + model + " in " + store + " is not a "
          + backbone.id() + " base (its spec: " + m.spec().network() + ", " + m.spec().channels() + " channel(s)); name "
          + "another model or store");
    }
    notes.add("base model: " + model + " v" + m.version() + " from " + where(store, model, m.version()) + " ("
        + m.training().trigger() + ", " + m.training().epochs() + " epoch(s)); evaluation stored with it: " + m.evaluation());
    return s.load(model, m.version(), m.sha256()).network();
  }

  private static String describe(Backbone b) {
    return b == Backbone.CNN ? "grey CNN (28x28 Fashion-MNIST)"
        : "RGB residual graph (3x32x32 colour rendering of Fashion-MNIST, ComputationGraph)";
  }

  /** The 8-class base of the new-classes scenario (classes 0..7), pretrained once and kept under the work directory. */
  private MultiLayerNetwork base8(EvalOptions o, Scenarios sc, List<String> notes) {
    DirectoryModelStore s = new DirectoryModelStore(work.resolve("base8"));
    // the architecture's parameter count in the name: a base of an earlier CNN is not reused by a later one
    long params = Networks.cnn(FashionMnist.SIDE, Scenarios.OLD_CLASSES, Learner.RATE, seed).numParams();
    String name = "fashion8-n" + o.base8Images() + "-s" + seed + "-p" + params;
    var existing = s.base(name);
    if (existing.isPresent()) {
      say("  reusing the 8-class base " + s.uri(name, existing.get().version()));
      notes.add("8-class base: reused " + where(work.resolve("base8"), name, existing.get().version()) + " ("
          + existing.get().training().trigger() + ")");
      return s.load(name, existing.get().version(), existing.get().sha256()).network().multiLayer();
    }
    List<Labelled> xs = sc.seenClean(o.base8Images(), Scenarios.OLD_CLASSES);
    say("  pretraining the 8-class base on " + xs.size() + " clean images of classes 0..7, 1 epoch");
    long t0 = System.nanoTime();
    FineTuner.Result r = FineTuner.fineTune(Networks.cnn(FashionMnist.SIDE, Scenarios.OLD_CLASSES, Learner.RATE, seed),
        FreezePlan.uniform(FreezePlan.NOTHING, Learner.RATE, "pretrain"), 1, Learner.BATCH, Labelled.images(xs), Labelled.labels(xs),
        FashionMnist.SIDE, seed);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    Map<String, Integer> byClass = new TreeMap<>();
    xs.forEach(x -> byClass.merge(FashionMnist.LABELS.get(x.label()), 1, Integer::sum));
    String trigger = "pretrain on " + xs.size() + " clean images of 8 classes (Bag and Ankle boot held back)";
    TrainingSummary summary = new TrainingSummary(trigger, xs.size(), byClass, Map.of("clean", xs.size()), null, null, 1,
        Learner.BATCH, FreezePlan.NOTHING, Networks.LAYERS, Learner.RATE, r.loss(), Networks.device(), ms);
    Manifest m = s.save(name, r.network(), Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS.subList(0, Scenarios.OLD_CLASSES),
        Networks.DEFAULT_FREEZE_BOUNDARY), null, summary, Map.of());
    say(String.format(Locale.ROOT, "  8-class base pretrained in %.0f s", ms / 1000.0));
    notes.add(String.format(Locale.ROOT, "8-class base: %s, %.0f s, stored as %s", trigger, ms / 1000.0,
        where(work.resolve("base8"), name, m.version())));
    return r.network();
  }

  /** A stored version's directory as the user named the store (relative by default), so the written notes name no machine. */
  private static String where(Path storeDir, String name, int version) {
    return storeDir.resolve(name).resolve(Integer.toString(version)).toString();
  }

  private static List<String> standingNotes(EvalOptions o, TrainerConfig trainer, FreezePolicy policy, GateRule gate,
      DriftDetectors d, List<Row> rows) {
    dev.streamtune.trainer.Augmentation augmentation = trainer.augment();
    List<String> n = new ArrayList<>();
    n.add("same code as the services: the trainer's ReplayBuffer (recent " + trainer.recentCapacity()
        + ", reservoir " + trainer.reservoirCapacity() + ", class-balanced replay at ratio " + trainer.replayRatio()
        + " (" + replayBounds(trainer) + ")), FreezePolicy from the trainer's config (" + policy + "), the trainer's Retrainer (fine-tunes with a frozen "
        + "part train from cached activations, as the trainer does; a graph's batch norm re-estimated after), HeadGrowth, the evaluator's GateRule (" + gate.describe() + ") and detectors (" + d.pageHinkley() + ", " + d.ddm()
        + ", " + d.adwin() + ")");
    n.add("fine-tunes: Adam, head rate " + policy.headRate() + ", lower conv blocks at x" + policy.lowerRateFactor() + " per block, "
        + o.epochs() + " epochs, batch " + Learner.BATCH + ", distillation toward the parent on replayed samples at weight "
        + trainer.distill() + ", augmented copies of the new-domain samples: " + (augmentation.none() ? "none" : augmentation.describe())
        + "; 'scratch on buffer' = the same architecture from a fresh initialisation on the "
        + "same new + replay samples for " + o.epochs() + " epochs");
    n.add("the costly baselines (deeper: conv2 unfrozen; scratch on buffer) run at the largest label row of the abrupt "
        + "shifts only; the other scenarios run no adaptation, head only, StreamTune and the oracle, and the stationary control "
        + "runs only the forced StreamTune and head-only retrains (no oracle: the gate's answer is what matters there); this "
        + "keeps the run inside its time budget on 2 cores");
    int smallest = o.labelRows().stream().mapToInt(Integer::intValue).min().orElseThrow();
    n.add("the " + smallest + "-label rows are compared with the same oracle as the larger row (trained with all " + o.maxLabels()
        + " new-domain labels): a stricter reference than an oracle with " + smallest + " labels");
    n.add("the trainer retrains once min-new-samples (1000 by default) have arrived after the onset; the rows here retrain after "
        + "exactly the stated label count");
    n.add("reference, DL4J-NOTES.md (plain recipe, fc+head, 2000 target + 2000 replay, 3 epochs): night 0.772, invert 0.815, "
        + "blur 0.823, rot90 0.788; StreamTune here: " + reference(rows));
    return n;
  }

  private static String reference(List<Row> rows) {
    int max = rows.stream().mapToInt(Row::labels).max().orElse(0);
    Map<String, Double> plain = Map.of("night", 0.772, "invert", 0.815, "blur", 0.823, "rot90", 0.788);
    List<String> parts = new ArrayList<>();
    for (String s : List.of("night", "invert", "blur", "rot90")) {
      rows.stream().filter(r -> r.scenario().equals(s) && r.labels() == max && r.method().equals(Row.STREAMTUNE)).findFirst()
          .ifPresent(r -> parts.add(String.format(Locale.ROOT, "%s %.3f (%+.1f pts, %d labels)", s, r.accNewAfter(),
              (r.accNewAfter() - plain.get(s)) * 100, max)));
    }
    return parts.isEmpty() ? "no abrupt scenario run" : String.join(", ", parts);
  }

  /** "at least N" and, with a cap, ", at most M": the replay's bounds as the trainer applies them. */
  static String replayBounds(TrainerConfig trainer) {
    return "at least " + trainer.replayMin() + (trainer.replayMax() > 0 ? ", at most " + trainer.replayMax() : "");
  }

  /** The sizes line of the run; the oracle's part only when the run trains oracles ({@code --no-oracle} says so instead). */
  private static String sizes(EvalOptions o, TrainerConfig trainer, boolean oracle) {
    String oracleSizes = !oracle ? "none (--no-oracle: no ratios)" : String.format(Locale.ROOT, "%d clean source images + the "
        + "new-domain labels, from the serving model's weights, every layer, <= %d epochs, early stop (patience %d) on %d held-out "
        + "TEST images (half clean, half the new domain)", o.oracleClean(), o.oracleMaxEpochs(), Learner.ORACLE_PATIENCE,
        o.validation());
    return String.format(Locale.ROOT, "label rows %s new-domain labels (+ %.1fx replay, %s, once more per augmented copy); %d clean samples buffered "
        + "before the shift (replay memory, from the base's pretraining images); %d labelled clean samples on the detectors' "
        + "stream before the onset; %d TEST images per domain for reported accuracies (%d for the earlier, clean domain: "
        + "forgetting); gate sets %d recent + %d guard TEST images; oracle: %s; fine-tunes %d epochs; %d stationary outcomes for "
        + "false alarms; 8-class base %d images", o.labelRows(), trainer.replayRatio(), replayBounds(trainer), o.cleanStream(), o.streamBefore(), o.testPerDomain(), o.cleanPerDomain(), o.gatePerSet(), o.gatePerSet(), oracleSizes,
        o.epochs(), o.falseAlarmOutcomes(), o.base8Images());
  }

  static String machine() {
    String cpu = "unknown CPU";
    String mem = "unknown RAM";
    try {
      cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
      mem = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal")).findFirst()
          .map(l -> String.format(Locale.ROOT, "%.1f GiB RAM", Long.parseLong(l.replaceAll("\\D", "")) / 1024.0 / 1024.0))
          .orElse(mem);
    } catch (IOException | RuntimeException e) {
      // the description is informative only: keep what was found
    }
    return String.format(Locale.ROOT, "%d CPU cores (nproc), %s, %s, Java %s (%s), DL4J backend: %s, no GPU",
        Runtime.getRuntime().availableProcessors(), cpu, mem, System.getProperty("java.version"), System.getProperty("java.vendor"),
        Networks.device());
  }

  private void say(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clear the feature cache " + dir, e);
    }
  }
}
