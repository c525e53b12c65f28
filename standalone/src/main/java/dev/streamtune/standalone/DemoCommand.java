package dev.streamtune.standalone;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.json.Json;
import dev.streamtune.standalone.demo.Demo;
import dev.streamtune.standalone.demo.DemoOptions;
import dev.streamtune.standalone.demo.DemoSummary;
import dev.streamtune.trainer.Pretrainer;
import java.util.List;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The main job: the whole loop in one process on an embedded broker. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Start an embedded broker and all four services (or drive a running deployment: --bootstrap, --serving, "
        + "--ingest), stream clean then shifted images with delayed labels, and report drift, retraining, the gate's verdict, "
        + "the hot swap and the accuracies. Exit 0 when the loop closed.")
final class DemoCommand implements Callable<Integer> {
  @Mixin
  DataOption data;

  @Option(names = "--work", paramLabel = "DIR", defaultValue = "streamtune-work",
      description = "pretrained base and run directories (default ${DEFAULT-VALUE})")
  Path work;

  @Option(names = "--backbone", paramLabel = "ARCH", defaultValue = "cnn",
      description = "cnn (the grey 28x28 CNN, a MultiLayerNetwork) or resnet (an RGB 32x32 residual ComputationGraph on a "
          + "colour rendering of the images) (default ${DEFAULT-VALUE})")
  String backbone;

  @Option(names = "--corruption",
      description = "the shifted domain: night, invert, blur, contrast, rot90, cast-blur (default contrast for cnn, cast-blur "
          + "for resnet)")
  String corruption;

  @Option(names = "--summary", paramLabel = "FILE", description = "write the summary as JSON")
  Path summary;

  @Option(names = "--guard-samples", defaultValue = "4000", description = "clean labelled samples loaded first, as a labelling "
      + "tool would: the held-out share (streamtune.holdout.share) is the gate's guard set, the rest the trainer's replay of the "
      + "source domain (default ${DEFAULT-VALUE}: with the source phase's labels about 1,000 guard samples, so that the gate's "
      + "2-point forgetting limit is not decided by the noise of a few hundred)")
  int guardSamples;

  @Option(names = "--source-requests", defaultValue = "1500", description = "requests before the shift")
  int sourceRequests;

  @Option(names = "--max-shifted-requests", defaultValue = "20000", description = "shifted requests at most: the shifted phase "
      + "ends earlier, once the promoted version serves; room for a retry when the gate rejects the first candidate "
      + "(default ${DEFAULT-VALUE})")
  int maxShiftedRequests;

  @Option(names = "--after-requests", defaultValue = "1000", description = "requests to measure the promoted version")
  int afterRequests;

  @Option(names = "--feedback-share", defaultValue = "0.8", description = "share of predictions labelled (default ${DEFAULT-VALUE})")
  double feedbackShare;

  @Option(names = "--feedback-delay", defaultValue = "500ms", description = "label delay (default ${DEFAULT-VALUE})")
  String feedbackDelay;

  @Option(names = "--rate", defaultValue = "150", description = "requests per second (default ${DEFAULT-VALUE})")
  int rate;

  @Option(names = "--concurrency", defaultValue = "4", description = "concurrent clients (default ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--pretrain-images", description = "images to pretrain on (default 50000 for cnn, 20000 for resnet)")
  Integer pretrainImages;

  @Option(names = "--pretrain-epochs", description = "the most pretraining epochs (default 8 for cnn, with early stopping; "
      + "2 for resnet)")
  Integer pretrainEpochs;

  @Option(names = "--timeout", defaultValue = "15m", description = "give up after (default ${DEFAULT-VALUE})")
  String timeout;

  @Option(names = "--seed", defaultValue = "7", description = "random seed (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--no-report", negatable = false,
      description = "do not write the HTML report (<work>/runs/<run>/report/report.html, charts beside it)")
  boolean noReport;

  @Option(names = {"-s", "--set"}, paramLabel = "KEY=VALUE", description = "a service setting, e.g. -s streamtune.trainer.epochs=5")
  Map<String, String> set = new LinkedHashMap<>();

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "drive a running deployment instead of starting one: "
      + "its Kafka bootstrap servers (with --serving and --ingest; its model store must hold the base)")
  String bootstrap;

  @Option(names = "--serving", paramLabel = "URL", description = "with --bootstrap: a serving node, e.g. http://localhost:8081")
  java.net.URI servingUrl;

  @Option(names = "--ingest", paramLabel = "URL", description = "with --bootstrap: an ingest node, e.g. http://localhost:8082")
  java.net.URI ingestUrl;

  @Option(names = "--evaluator", paramLabel = "URL", description = "with --bootstrap, optional: the evaluator, e.g. "
      + "http://localhost:8083, whose /metrics give the accuracy estimate before labels for the summary and the report")
  java.net.URI evaluatorUrl;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    var parse = dev.streamtune.core.config.Settings.of(Map.of("--feedback-delay", feedbackDelay, "--timeout", timeout));
    Pretrainer.Arch arch = Pretrainer.Arch.parse(backbone);
    Pretrainer.Options d = arch == Pretrainer.Arch.RESNET ? Pretrainer.Options.resnetDefaults() : Pretrainer.Options.defaults();
    Pretrainer.Options pretrain = new Pretrainer.Options(pretrainImages != null ? pretrainImages : d.trainImages(),
        pretrainEpochs != null ? pretrainEpochs : d.epochs(), d.batchSize(), d.learningRate(), d.seed(), arch, d.patience(),
        d.augment(), d.decay());
    String shift = corruption != null ? corruption : arch == Pretrainer.Arch.RESNET ? "cast-blur" : "contrast";
    DemoOptions.Against against = null;
    if (bootstrap != null || servingUrl != null || ingestUrl != null || evaluatorUrl != null) {
      if (bootstrap == null || servingUrl == null || ingestUrl == null) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--bootstrap, --serving and --ingest go together (a running deployment to drive; --evaluator only with them)");
      }
      against = new DemoOptions.Against(bootstrap, servingUrl, ingestUrl, evaluatorUrl);
    }
    DemoOptions o = new DemoOptions(data.dir, work, Corruption.parse(shift), guardSamples, sourceRequests, maxShiftedRequests,
        afterRequests, feedbackShare, parse.duration("--feedback-delay", Duration.ofMillis(500)), rate, concurrency, pretrain,
        set, parse.duration("--timeout", Duration.ofMinutes(15)), seed, System.out::println, !noReport, against);
    DemoSummary s = Demo.run(o);
    System.out.println();
    System.out.println(table(s));
    if (summary != null) {
      Path parent = summary.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Files.writeString(summary, Json.toPrettyString(s));
      System.out.println("summary written to " + summary);
    }
    if (!s.loopClosed()) {
      System.err.println("streamtune demo: the loop did not close: " + s.reason());
      return 3;
    }
    return 0;
  }

  static String table(DemoSummary s) {
    StringBuilder b = new StringBuilder();
    b.append("StreamTune demo summary (").append(s.device()).append(")\n");
    row(b, "shift", s.corruption());
    row(b, "accuracy on the source domain (v" + s.baseVersion() + ")", fmt(s.sourceAccuracy()) + "  n=" + s.sourceServed());
    row(b, "accuracy on the shifted domain before (v" + s.baseVersion() + ")",
        fmt(s.shiftedAccuracyBefore()) + "  n=" + s.shiftedServedBefore());
    row(b, "first drift detected", s.driftSecondsAfterShift() == null ? "no" : String.format("%.1f s after the shift, after %d labelled "
        + "shifted samples (%s)", s.driftSecondsAfterShift(), s.driftLabelledSamples(), s.driftDetector()));
    row(b, "supervised drift detected", s.supervisedDriftSecondsAfterShift() == null ? "no"
        : String.format("%.1f s after the shift, after %d labelled shifted samples (%s)", s.supervisedDriftSecondsAfterShift(),
            s.supervisedDriftLabelledSamples(), s.supervisedDriftDetector()));
    row(b, "false alarms before the shift", Integer.toString(s.falseAlarms()));
    row(b, "accuracy estimated before labels (v" + s.baseVersion() + ")", s.estimatesText());
    row(b, "labelling queue", s.labelling() == null ? "-" : String.format("%d requests; %d after the shift, %d of them for "
        + "shifted images; %d in the drift region", s.labelling().requests(), s.labelling().afterShift(),
        s.labelling().shiftedImages(), s.labelling().inDriftRegion()));
    row(b, "candidate", s.candidate() == null ? "none" : String.format("v%d: %d samples, %d epochs, %.1f s, layers %s",
        s.candidate().version(), s.candidate().samples(), s.candidate().epochs(), s.candidate().seconds(),
        s.candidate().layersTrained()));
    row(b, "gate", s.gate() == null ? "no verdict" : String.format("%s: recent %.3f vs %.3f (n=%d), guard %.3f vs %.3f (n=%d)",
        s.gate().verdict(), s.gate().candidateRecent(), s.gate().championRecent(), s.gate().recentSamples(),
        s.gate().candidateGuard(), s.gate().championGuard(), s.gate().guardSamples()));
    row(b, "swapped in", s.promotedVersion() == null ? "nothing" : "v" + s.promotedVersion()
        + (s.swapSecondsAfterShift() == null ? "" : String.format(", serving it %.1f s after the shift", s.swapSecondsAfterShift())));
    row(b, "time to adapt, by stage", stages(s));
    row(b, "accuracy on the shifted domain after", s.servedAfter() == 0 ? "-" : fmt(s.accuracyAfter()) + "  n=" + s.servedAfter()
        + String.format("  (z = %.1f)", s.improvementZ()));
    row(b, "failed requests", Integer.toString(s.failedRequests()));
    row(b, "duration", String.format("%.0f s", s.durationSeconds()));
    row(b, "loop closed", s.loopClosed() ? "yes" : "NO: " + s.reason());
    row(b, "report", s.report() == null ? "none" : s.report());
    return b.toString();
  }

  /** Seconds after the shift at which each stage of the loop was reached: drift, candidate, verdict, swap. */
  static String stages(DemoSummary s) {
    List<String> out = new java.util.ArrayList<>();
    if (s.driftSecondsAfterShift() != null) {
      out.add(String.format("drift %.1f s", s.driftSecondsAfterShift()));
    }
    if (s.supervisedDriftSecondsAfterShift() != null) {
      out.add(String.format("supervised drift %.1f s", s.supervisedDriftSecondsAfterShift()));
    }
    if (s.candidate() != null && s.candidate().secondsAfterShift() != null) {
      out.add(String.format("candidate %.1f s", s.candidate().secondsAfterShift()));
    }
    if (s.gate() != null && s.gate().secondsAfterShift() != null) {
      out.add(String.format("verdict %.1f s", s.gate().secondsAfterShift()));
    }
    if (s.swapSecondsAfterShift() != null) {
      out.add(String.format("swapped %.1f s", s.swapSecondsAfterShift()));
    }
    return out.isEmpty() ? "-" : String.join(" -> ", out) + " after the shift";
  }

  private static void row(StringBuilder b, String k, String v) {
    b.append(String.format("  %-46s %s%n", k, v));
  }

  private static String fmt(double d) {
    return Double.isNaN(d) ? "-" : String.format("%.3f", d);
  }
}
