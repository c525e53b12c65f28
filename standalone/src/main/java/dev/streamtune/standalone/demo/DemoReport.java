package dev.streamtune.standalone.demo;

import dev.streamtune.core.records.Candidate;
import dev.streamtune.core.records.Decision;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.records.TrainingSummary;
import dev.streamtune.standalone.report.HtmlReport;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo run as an HTML page: served accuracy over time per model version with the shift, drift alarms, retrains, promotions
 * and rejections marked; the gate's verdicts; the drift signals and candidates; the summary figures and the timeline.
 */
final class DemoReport {
  /** Fewer requests than this in a time bucket make a point too noisy to draw (±0.11 at 20 and accuracy 0.5, 95 %). */
  static final int MIN_PER_BUCKET = 20;
  private static final Pattern MCNEMAR = Pattern.compile("McNemar p=([-+0-9.eE]+)");
  private static final Pattern TIMELINE = Pattern.compile("^\\[\\s*([0-9.]+)s\\] (.*)$", Pattern.DOTALL);

  /**
   * What the run saw, with times in seconds since the demo started.
   *
   * @param t0 {@link System#nanoTime()} at the start, the origin of the served requests' times
   * @param startedAt the wall-clock time at the start, to place records' event times (a drift onset) on the same axis
   * @param shiftSeconds when the domain shifted; null when the run did not get there
   * @param estimates the evaluator's accuracy estimates of the answering version, before labels, as the demo read them
   */
  record Run(long t0, Instant startedAt, Double shiftSeconds, List<Demo.Served> served, List<LoopWatcher.Seen<DriftSignal>> drifts,
      List<LoopWatcher.Seen<Candidate>> candidates, List<LoopWatcher.Seen<Decision>> decisions,
      List<LoopWatcher.Seen<Promotion>> promotions, List<Estimate> estimates) {}

  /** One reading of {@code streamtune_evaluator_accuracy_estimate} for a version, seconds since the demo started. */
  record Estimate(double seconds, int version, double accuracy) {}

  private DemoReport() {}

  /** Writes the report into {@code dir}; returns the HTML file. */
  static Path write(Path dir, DemoSummary s, Run run) {
    return build(s, run).write(dir);
  }

  static HtmlReport build(DemoSummary s, Run run) {
    String runName = Path.of(s.runDirectory()).getFileName().toString();
    HtmlReport r = HtmlReport.titled("StreamTune demo: a '" + s.corruption() + "' shift (run " + runName + ")");
    r.paragraph((s.loopClosed() ? "The loop closed: drift was detected after the shift, a candidate was trained and promoted, "
        + "and it answers the shifted domain better than the base did. " : "The loop did not close: " + s.reason() + ". ")
        + String.format(Locale.ROOT, "Run of %.0f s on %s; run directory %s.", s.durationSeconds(), s.device(),
            s.runDirectory()));

    double bucket = bucketSeconds(run.served(), run.t0());
    r.heading("Accuracy over time");
    r.paragraph(String.format(Locale.ROOT, "Served accuracy of each model version against the demo's ground truth, over %.0f-s "
        + "buckets of its answers (a point needs at least %d answers). The x axis is seconds since the demo started, as in the "
        + "timeline below. Vertical lines mark the domain shift, drift alarms, trained candidates (retrains), promotions and "
        + "rejections, at the moment the demo read them. The 'estimated' series are the evaluator's accuracy estimate of the "
        + "answering version before any label (streamtune_evaluator_accuracy_estimate: its calibrated confidence, held to the "
        + "class prior when the served images lie far from its labelled reference), every 2 s: where it stays high while the "
        + "served accuracy falls, the shift changed what a confident answer means in a way the estimate cannot see.",
        bucket, MIN_PER_BUCKET));
    Map<String, List<HtmlReport.Point>> accuracy = accuracyOverTime(run.served(), run.t0(), bucket, MIN_PER_BUCKET,
        s.baseVersion());
    accuracy.putAll(estimateSeries(run.estimates(), s.baseVersion()));
    r.lineChart("Served accuracy per model version", "seconds since the demo started", "accuracy", accuracy, markers(s, run));

    r.heading("Gate verdicts");
    List<List<String>> verdicts = new ArrayList<>();
    for (LoopWatcher.Seen<Decision> seen : run.decisions()) {
      Decision d = seen.record();
      verdicts.add(List.of(sec(seen.seconds()), d.verdict().name(),
          "v" + d.candidate().version() + " vs v" + (d.champion() == null ? "?" : d.champion().version()),
          acc(d.candidate().recentAccuracy()) + " / " + (d.champion() == null ? "-" : acc(d.champion().recentAccuracy())),
          acc(d.candidate().guardAccuracy()) + " / " + (d.champion() == null ? "-" : acc(d.champion().guardAccuracy())),
          Integer.toString(d.recentSamples()), Integer.toString(d.guardSamples()), statistic(d), d.rule(),
          d.reason() == null ? "" : d.reason()));
    }
    if (verdicts.isEmpty()) {
      r.paragraph("The gate gave no verdict in this run.");
    } else {
      r.table("Every verdict on the decisions topic", List.of("t (s)", "verdict", "candidate vs champion",
          "recent accuracy (candidate / champion)", "guard accuracy (candidate / champion)", "recent n", "guard n", "statistic",
          "rule", "reason"), verdicts);
      decisive(run.decisions()).ifPresent(d -> r.barChart(String.format(Locale.ROOT,
          "Gate: candidate v%d vs champion v%d on the held-out sets (%s)", d.candidate().version(),
          d.champion() == null ? -1 : d.champion().version(), d.verdict()), "accuracy",
          List.of("recent (n=" + d.recentSamples() + ")", "guard (n=" + d.guardSamples() + ")"),
          barSeries(d)));
    }

    r.heading("Drift signals");
    List<List<String>> drifts = new ArrayList<>();
    for (LoopWatcher.Seen<DriftSignal> seen : run.drifts()) {
      DriftSignal d = seen.record();
      boolean beforeShift = run.shiftSeconds() == null || seen.seconds() < run.shiftSeconds();
      drifts.add(List.of(sec(seen.seconds()), d.detector(), d.kind().name().toLowerCase(Locale.ROOT), "v" + d.version(),
          String.format(Locale.ROOT, "%.3g", d.statistic()), String.format(Locale.ROOT, "%.3g", d.threshold()),
          Long.toString(d.window()), sec(secondsOf(d.onset(), run.startedAt())), acc(d.accuracyBefore()),
          acc(d.accuracyRecent()), beforeShift ? "false alarm (before the shift)" : ""));
    }
    if (drifts.isEmpty()) {
      r.paragraph("No drift signal in this run.");
    } else {
      r.table("Every signal on the drift topic", List.of("t (s)", "detector", "kind", "version", "statistic", "threshold",
          "window", "onset (s)", "accuracy before", "accuracy since", "note"), drifts);
    }

    r.heading("Candidates (retrains)");
    List<List<String>> candidates = new ArrayList<>();
    for (LoopWatcher.Seen<Candidate> seen : run.candidates()) {
      Candidate c = seen.record();
      TrainingSummary t = c.training();
      candidates.add(List.of(sec(seen.seconds()), c.failure() != null ? "failed" : "v" + c.version(), "v" + c.parentVersion(),
          Integer.toString(t.samples()),
          new TreeMap<>(t.samplesByDomain()).toString(), Integer.toString(t.epochs()),
          String.format(Locale.ROOT, "%.1f", t.durationMs() / 1000.0), String.valueOf(t.freezeBoundary()),
          String.join(", ", t.layersTrained()), String.format(Locale.ROOT, "%.4f", t.loss()),
          c.failure() != null ? c.failure() : t.freezeReason() == null ? "" : t.freezeReason()));
    }
    if (candidates.isEmpty()) {
      r.paragraph("No candidate was trained in this run.");
    } else {
      r.table("Every record on the candidates topic", List.of("t (s)", "version", "parent", "samples", "by domain", "epochs",
          "train s", "frozen up to", "layers trained", "loss", "why this boundary (or why training failed)"), candidates);
    }

    r.heading("Summary");
    r.table("", List.of("figure", "value"), summaryRows(s));

    r.heading("Timeline");
    List<List<String>> timeline = new ArrayList<>();
    for (String line : s.timeline()) {
      Matcher m = TIMELINE.matcher(line);
      timeline.add(m.matches() ? List.of(m.group(1), m.group(2)) : List.of("", line));
    }
    r.table("What the demo printed", List.of("t (s)", "event"), timeline);
    return r;
  }

  /**
   * Served accuracy per version and time bucket: one point per bucket with at least {@code minPerBucket} answers of that
   * version, at the mean time of those answers. Series are ordered by version; the base version's is named "(base)".
   */
  static Map<String, List<HtmlReport.Point>> accuracyOverTime(List<Demo.Served> served, long t0, double bucketSeconds,
      int minPerBucket, int baseVersion) {
    Map<Integer, TreeMap<Long, double[]>> byVersion = new TreeMap<>(); // bucket -> {n, correct, sum of seconds}
    for (Demo.Served s : served) {
      double t = (s.atNanos() - t0) / 1e9;
      double[] acc = byVersion.computeIfAbsent(s.version(), v -> new TreeMap<>())
          .computeIfAbsent((long) Math.floor(t / bucketSeconds), b -> new double[3]);
      acc[0]++;
      acc[1] += s.correct() ? 1 : 0;
      acc[2] += t;
    }
    Map<String, List<HtmlReport.Point>> series = new LinkedHashMap<>();
    for (Map.Entry<Integer, TreeMap<Long, double[]>> v : byVersion.entrySet()) {
      List<HtmlReport.Point> points = new ArrayList<>();
      for (double[] b : v.getValue().values()) {
        if (b[0] >= minPerBucket) {
          points.add(new HtmlReport.Point(b[2] / b[0], b[1] / b[0]));
        }
      }
      if (!points.isEmpty()) {
        series.put("v" + v.getKey() + (v.getKey() == baseVersion ? " (base)" : ""), points);
      }
    }
    return series;
  }

  /** The estimates as one series per version, in the order of versions, named like the served accuracy's with "estimated". */
  static Map<String, List<HtmlReport.Point>> estimateSeries(List<Estimate> estimates, int baseVersion) {
    Map<Integer, List<HtmlReport.Point>> byVersion = new TreeMap<>();
    for (Estimate e : estimates) {
      if (Double.isFinite(e.accuracy()) && Double.isFinite(e.seconds())) {
        byVersion.computeIfAbsent(e.version(), v -> new ArrayList<>()).add(new HtmlReport.Point(e.seconds(), e.accuracy()));
      }
    }
    Map<String, List<HtmlReport.Point>> series = new LinkedHashMap<>();
    byVersion.forEach((v, points) -> series.put("v" + v + (v == baseVersion ? " (base)" : "") + " estimated, before labels",
        points));
    return series;
  }

  /** About 45 points over the run, never buckets under 2 s (at the demo's 150 requests/s, ~300 answers each). */
  static double bucketSeconds(List<Demo.Served> served, long t0) {
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (Demo.Served s : served) {
      double t = (s.atNanos() - t0) / 1e9;
      min = Math.min(min, t);
      max = Math.max(max, t);
    }
    return max > min ? Math.max(2.0, Math.ceil((max - min) / 45)) : 2.0;
  }

  private static List<HtmlReport.Marker> markers(DemoSummary s, Run run) {
    List<HtmlReport.Marker> m = new ArrayList<>();
    if (run.shiftSeconds() != null) {
      m.add(new HtmlReport.Marker(run.shiftSeconds(), "shift", "shift: " + s.corruption()));
    }
    for (LoopWatcher.Seen<DriftSignal> d : run.drifts()) {
      m.add(new HtmlReport.Marker(d.seconds(), "drift", d.record().detector() + " on v" + d.record().version()));
    }
    for (LoopWatcher.Seen<Candidate> c : run.candidates()) {
      if (c.record().failure() != null) {
        m.add(new HtmlReport.Marker(c.seconds(), "failure", "training failed: " + FailureText.reasonTag(c.record().failure())));
      } else {
        m.add(new HtmlReport.Marker(c.seconds(), "retrain", String.format(Locale.ROOT, "v%d trained (%.0f s)",
            c.record().version(), c.record().training().durationMs() / 1000.0)));
      }
    }
    for (LoopWatcher.Seen<Decision> d : run.decisions()) {
      if (d.record().verdict() == Decision.Verdict.REJECT) {
        m.add(new HtmlReport.Marker(d.seconds(), "rejection", "v" + d.record().candidate().version() + " rejected"));
      }
    }
    for (LoopWatcher.Seen<Promotion> p : run.promotions()) {
      m.add(new HtmlReport.Marker(p.seconds(), "promotion", "v" + p.record().version() + " promoted"));
    }
    return m;
  }

  /** The last verdict that decided (promote or reject), else the last one. */
  private static java.util.Optional<Decision> decisive(List<LoopWatcher.Seen<Decision>> decisions) {
    Decision last = null;
    for (LoopWatcher.Seen<Decision> d : decisions) {
      if (d.record().verdict() != Decision.Verdict.NOT_ENOUGH_DATA || last == null
          || last.verdict() == Decision.Verdict.NOT_ENOUGH_DATA) {
        last = d.record();
      }
    }
    return java.util.Optional.ofNullable(last).filter(d -> d.champion() != null && finite(d.candidate().recentAccuracy(),
        d.candidate().guardAccuracy(), d.champion().recentAccuracy(), d.champion().guardAccuracy()));
  }

  private static Map<String, List<Double>> barSeries(Decision d) {
    Map<String, List<Double>> m = new LinkedHashMap<>();
    m.put("candidate v" + d.candidate().version(), List.of(d.candidate().recentAccuracy(), d.candidate().guardAccuracy()));
    m.put("champion v" + d.champion().version(), List.of(d.champion().recentAccuracy(), d.champion().guardAccuracy()));
    return m;
  }

  private static List<List<String>> summaryRows(DemoSummary s) {
    List<List<String>> rows = new ArrayList<>();
    rows.add(List.of("shift", s.corruption()));
    rows.add(List.of("accuracy on the source domain (v" + s.baseVersion() + ")", acc(s.sourceAccuracy()) + "  n="
        + s.sourceServed()));
    rows.add(List.of("accuracy on the shifted domain before (v" + s.baseVersion() + ")", acc(s.shiftedAccuracyBefore())
        + "  n=" + s.shiftedServedBefore()));
    rows.add(List.of("first drift detected", s.driftSecondsAfterShift() == null ? "no" : String.format(Locale.ROOT,
        "%.1f s after the shift, after %d labelled shifted samples (%s)", s.driftSecondsAfterShift(), s.driftLabelledSamples(),
        s.driftDetector())));
    rows.add(List.of("supervised drift detected", s.supervisedDriftSecondsAfterShift() == null ? "no"
        : String.format(Locale.ROOT, "%.1f s after the shift, after %d labelled shifted samples (%s)",
            s.supervisedDriftSecondsAfterShift(), s.supervisedDriftLabelledSamples(), s.supervisedDriftDetector())));
    rows.add(List.of("false alarms before the shift", Integer.toString(s.falseAlarms())));
    rows.add(List.of("accuracy estimated before labels", s.estimatesText()));
    if (s.labelling() != null) {
      rows.add(List.of("labelling queue", s.labelling().requests() + " requests; " + s.labelling().afterShift()
          + " after the shift (" + s.labelling().shiftedImages() + " for shifted images), " + s.labelling().inDriftRegion()
          + " in the drift region"));
    }
    rows.add(List.of("drift signals in all", Integer.toString(s.driftSignals())));
    rows.add(List.of("candidate", s.candidate() == null ? "none" : String.format(Locale.ROOT,
        "v%d: %d samples, %d epochs, %.1f s, layers %s", s.candidate().version(), s.candidate().samples(),
        s.candidate().epochs(), s.candidate().seconds(), s.candidate().layersTrained())));
    rows.add(List.of("gate", s.gate() == null ? "no verdict" : String.format(Locale.ROOT,
        "%s: recent %.3f vs %.3f (n=%d), guard %.3f vs %.3f (n=%d)", s.gate().verdict(), s.gate().candidateRecent(),
        s.gate().championRecent(), s.gate().recentSamples(), s.gate().candidateGuard(), s.gate().championGuard(),
        s.gate().guardSamples())));
    rows.add(List.of("swapped in", s.promotedVersion() == null ? "nothing" : "v" + s.promotedVersion()
        + (s.swapSecondsAfterShift() == null ? "" : String.format(Locale.ROOT, ", serving it %.1f s after the shift",
            s.swapSecondsAfterShift()))));
    rows.add(List.of("accuracy on the shifted domain after", s.servedAfter() == 0 ? "-" : acc(s.accuracyAfter()) + "  n="
        + s.servedAfter() + String.format(Locale.ROOT, "  (z = %.1f)", s.improvementZ())));
    rows.add(List.of("failed requests", Integer.toString(s.failedRequests())));
    rows.add(List.of("duration", String.format(Locale.ROOT, "%.0f s", s.durationSeconds())));
    rows.add(List.of("loop closed", s.loopClosed() ? "yes" : "no: " + s.reason()));
    return rows;
  }

  /** The gate's test statistic: McNemar's p with the discordant counts (b only the candidate right, c only the champion). */
  static String statistic(Decision d) {
    if (d.mcnemarP() == null) {
      return "-";
    }
    return String.format(Locale.ROOT, "McNemar p=%.3g (b=%d, c=%d)", d.mcnemarP(), d.onlyCandidateRight(),
        d.onlyChampionRight());
  }

  private static Double secondsOf(Instant at, Instant startedAt) {
    return at == null ? null : Duration.between(startedAt, at).toNanos() / 1e9;
  }

  private static boolean finite(double... v) {
    for (double d : v) {
      if (!Double.isFinite(d)) {
        return false;
      }
    }
    return true;
  }

  private static String sec(Double s) {
    return s == null ? "-" : String.format(Locale.ROOT, "%.1f", s);
  }

  private static String acc(double a) {
    return Double.isFinite(a) ? String.format(Locale.ROOT, "%.3f", a) : "-";
  }
}
