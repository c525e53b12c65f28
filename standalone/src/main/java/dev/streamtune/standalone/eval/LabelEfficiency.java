package dev.streamtune.standalone.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The label-efficiency curves of the abrupt shifts: for each technique, the new-domain labels it needs to reach
 * {@link #TARGET} of the oracle's accuracy (linear between the measured label counts), against plain fine-tuning on random
 * feedback; and each technique at {@link #AT_LABELS} labels against the oracle and the forgetting goal.
 */
final class LabelEfficiency {
  /** The share of the oracle's new-domain accuracy the labels are counted to. */
  static final double TARGET = 0.9;
  /** The label count of the "at a few hundred labels" goal. */
  static final int AT_LABELS = 500;
  /** Forgetting allowed at {@link #AT_LABELS} labels, in points. */
  static final double MAX_FORGETTING = 1.0;
  static final String BASELINE = "plain fine-tuning";

  private LabelEfficiency() {}

  /**
   * Labels needed to reach {@code target} accuracy on a curve sorted by labels: linear between the last count below and the first
   * at or above; the smallest count when it already reaches it; empty when no count does.
   */
  static OptionalDouble labelsToReach(List<ScenarioRunner.CurvePoint> curve, double target) {
    ScenarioRunner.CurvePoint prev = null;
    for (ScenarioRunner.CurvePoint p : curve) {
      if (p.accNew() >= target) {
        if (prev == null) {
          return OptionalDouble.of(p.labels());
        }
        double f = (target - prev.accNew()) / (p.accNew() - prev.accNew());
        return OptionalDouble.of(prev.labels() + f * (p.labels() - prev.labels()));
      }
      prev = p;
    }
    return OptionalDouble.empty();
  }

  /**
   * Whether {@code curve} reached the target ({@code need}, from {@link #labelsToReach}) at its smallest count: fewer labels
   * might do, so the count is a bound and a ratio to it means nothing.
   */
  static boolean atSmallestCount(List<ScenarioRunner.CurvePoint> curve, OptionalDouble need) {
    return need.isPresent() && need.getAsDouble() <= curve.get(0).labels();
  }

  /** Each technique's curve, in the order first measured, sorted by labels. */
  static Map<String, List<ScenarioRunner.CurvePoint>> byTechnique(List<ScenarioRunner.CurvePoint> points) {
    Map<String, List<ScenarioRunner.CurvePoint>> out = new LinkedHashMap<>();
    for (ScenarioRunner.CurvePoint p : points) {
      out.computeIfAbsent(p.technique(), k -> new ArrayList<>()).add(p);
    }
    out.values().forEach(l -> l.sort(java.util.Comparator.comparingInt(ScenarioRunner.CurvePoint::labels)));
    return out;
  }

  private static double ratio(double acc, double oracle) {
    return oracle > 0 ? acc / oracle : Double.NaN;
  }

  /** The point of {@code curve} at {@code labels}, or null. */
  static ScenarioRunner.CurvePoint at(List<ScenarioRunner.CurvePoint> curve, int labels) {
    return curve.stream().filter(p -> p.labels() == labels).findFirst().orElse(null);
  }

  /** Where a run without curves points for them: the page the README's label-curve command writes. */
  static final String WITHOUT_CURVES = "## Label efficiency\n\nThis run measured no label-efficiency curves. The labels each "
      + "technique needs to reach 0.90 of the oracle on the abrupt shifts, alone and together, against plain fine-tuning on "
      + "random feedback, are measured by `bin/streamtune eval --label-curve 100,200,350,500,1000 --scenarios "
      + "rot90,invert,blur,night` (about an hour on 2 cores) and published as [evaluation-labels.md](evaluation-labels.md), "
      + "with its goals and every point of the curves.\n\n";

  /** The markdown section: the labels-needed table, then every point; without curves, {@link #WITHOUT_CURVES}. */
  static String markdown(List<ScenarioRunner.Result> results) {
    List<ScenarioRunner.Result> with = results.stream().filter(r -> !r.labelCurve().isEmpty()).toList();
    if (with.isEmpty()) {
      return results.stream().anyMatch(r -> r.setup().abrupt()) ? WITHOUT_CURVES : "";
    }
    StringBuilder b = new StringBuilder("## Label efficiency\n\n");
    b.append(String.format(Locale.ROOT, "New-domain labels each technique needs to reach %.2f of the oracle's new-domain "
        + "accuracy (linear between the measured counts; `> N`: not reached at the largest), against plain fine-tuning (no "
        + "distillation, no augmentation, no pseudo-labels, no interpolation) on random feedback: the first labels after the onset, the freeze "
        + "policy's plan for the count, the trainer's replay; each point the mean of %d draws (the first labels after the onset, "
        + "and a uniform draw from the labelled stream of the largest label row). `vs plain` = the labels against plain fine-tuning's (at most 0.5: half the "
        + "labels). Pseudo-labels come from %d served new-domain images without a label. The ratio and forgetting "
        + "columns are at %d labels.%n%n", TARGET, ScenarioRunner.CURVE_DRAWS, ScenarioRunner.UNLABELLED,
        AT_LABELS));
    b.append("| scenario | technique | labels to ").append(String.format(Locale.ROOT, "%.2f", TARGET))
        .append(" of the oracle | vs plain | ratio at ").append(AT_LABELS).append(" | forgetting at ").append(AT_LABELS)
        .append(" (pts) |\n|---|---|---|---|---|---|\n");
    for (ScenarioRunner.Result r : with) {
      Map<String, List<ScenarioRunner.CurvePoint>> curves = byTechnique(r.labelCurve());
      List<ScenarioRunner.CurvePoint> plain = curves.get(BASELINE);
      double oracle = r.labelCurve().get(0).oracle();
      int max = r.labelCurve().stream().mapToInt(ScenarioRunner.CurvePoint::labels).max().orElse(0);
      OptionalDouble base = plain == null || Double.isNaN(oracle) ? OptionalDouble.empty()
          : labelsToReach(plain, TARGET * oracle);
      curves.forEach((t, curve) -> {
        OptionalDouble need = Double.isNaN(oracle) ? OptionalDouble.empty() : labelsToReach(curve, TARGET * oracle);
        String needs = Double.isNaN(oracle) ? "n/a (no oracle)" : need.isEmpty() ? "> " + max
            : atSmallestCount(curve, need) ? "<= " + curve.get(0).labels()
            : String.format(Locale.ROOT, "%.0f", need.getAsDouble());
        boolean baseAtFloor = plain != null && atSmallestCount(plain, base);
        String vs = need.isPresent() && base.isPresent() && !baseAtFloor ? String.format(Locale.ROOT, "%.2f",
            need.getAsDouble() / base.getAsDouble()) : baseAtFloor ? "n/a (plain at the smallest count)" : "n/a";
        ScenarioRunner.CurvePoint p = at(curve, AT_LABELS);
        b.append("| ").append(r.setup().name()).append(" | ").append(t).append(" | ").append(needs).append(" | ").append(vs)
            .append(" | ").append(p == null ? "n/a" : EvalWriter.f(ratio(p.accNew(), oracle))).append(" | ")
            .append(p == null ? "n/a" : EvalWriter.pts(p.forgettingPoints())).append(" |\n");
      });
    }
    b.append("\nEvery point (new-domain accuracy, forgetting in points, seconds of training):\n\n");
    b.append("| scenario | technique | labels | boundary | new after | oracle | ratio | clean after | forgetting (pts) | adapt (s) "
        + "| pseudo-labels |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (ScenarioRunner.Result r : with) {
      byTechnique(r.labelCurve()).forEach((t, curve) -> curve.forEach(p -> b.append(String.format(Locale.ROOT,
          "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %.1f | %s |%n", r.setup().name(), t, p.labels(), p.boundary(),
          EvalWriter.f(p.accNew()), EvalWriter.f(p.oracle()), EvalWriter.f(ratio(p.accNew(), p.oracle())),
          EvalWriter.f(p.cleanAfter()),
          EvalWriter.pts(p.forgettingPoints()), p.seconds(), !p.note().contains("pseudo-labels") ? "-" : p.note().replace("|", "/")))));
    }
    b.append('\n');
    return b.toString();
  }

  /**
   * The two goals over the abrupt shifts with curves: some technique needs at most half of plain fine-tuning's labels to
   * reach {@link #TARGET} of the oracle; and a technique reaches {@link #TARGET} of the oracle at {@link #AT_LABELS} labels with
   * at most {@link #MAX_FORGETTING} point of forgetting on every abrupt shift.
   */
  static List<Goals.Goal> goals(List<ScenarioRunner.Result> results) {
    Map<String, List<ScenarioRunner.CurvePoint>> byScenario = new LinkedHashMap<>();
    results.forEach(r -> byScenario.put(r.setup().name(), r.labelCurve()));
    return goals(byScenario);
  }

  /** {@link #goals(List)} on each scenario's curve points (every technique's), by scenario name. */
  static List<Goals.Goal> goals(Map<String, List<ScenarioRunner.CurvePoint>> byScenario) {
    Map<String, List<ScenarioRunner.CurvePoint>> with = new LinkedHashMap<>();
    byScenario.forEach((name, points) -> {
      if (!points.isEmpty() && !Double.isNaN(points.get(0).oracle())) {
        with.put(name, points);
      }
    });
    if (with.isEmpty()) {
      return List.of();
    }
    List<String> half = new ArrayList<>();
    boolean halfMet = true;
    Map<String, List<String>> misses = new LinkedHashMap<>();
    for (var scenario : with.entrySet()) {
      String name = scenario.getKey();
      Map<String, List<ScenarioRunner.CurvePoint>> curves = byTechnique(scenario.getValue());
      double oracle = scenario.getValue().get(0).oracle();
      OptionalDouble base = labelsToReach(curves.getOrDefault(BASELINE, List.of()), TARGET * oracle);
      String best = null;
      double bestRatio = Double.POSITIVE_INFINITY;
      for (var e : curves.entrySet()) {
        if (e.getKey().equals(BASELINE)) {
          continue;
        }
        OptionalDouble need = labelsToReach(e.getValue(), TARGET * oracle);
        if (need.isPresent() && base.isPresent() && need.getAsDouble() / base.getAsDouble() < bestRatio) {
          bestRatio = need.getAsDouble() / base.getAsDouble();
          best = e.getKey();
        }
        ScenarioRunner.CurvePoint p = at(e.getValue(), AT_LABELS);
        if (p == null || p.accNew() < TARGET * oracle || p.forgettingPoints() > MAX_FORGETTING) {
          misses.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(name + (p == null ? " (not run)"
              : String.format(Locale.ROOT, " %.3f, %+.1f pts", p.accNew() / oracle, p.forgettingPoints())));
        }
      }
      List<ScenarioRunner.CurvePoint> plain = curves.getOrDefault(BASELINE, List.of());
      if (atSmallestCount(plain, base)) {
        // plain fine-tuning reaches the target at the smallest count measured: no technique can show it needs fewer here
        halfMet = false;
        half.add(name + " not measurable (plain reaches it at <= " + plain.get(0).labels() + ", the smallest count)");
        continue;
      }
      halfMet &= best != null && bestRatio <= 0.5;
      half.add(name + " " + (best == null ? "n/a" : String.format(Locale.ROOT, "%.2f (%s)", bestRatio, best)));
    }
    List<String> meeting = new ArrayList<>();
    byTechnique(with.values().iterator().next()).keySet().stream().filter(t -> !t.equals(BASELINE) && !misses.containsKey(t))
        .forEach(meeting::add);
    String atMeasured = meeting.isEmpty() ? "no technique on every shift; " + String.join("; ", misses.entrySet().stream()
        .map(e -> e.getKey() + ": " + String.join(", ", e.getValue())).toList()) : "met by " + String.join(", ", meeting);
    return List.of(
        new Goals.Goal(String.format(Locale.ROOT, "half the labels of plain fine-tuning on random feedback to reach %.2f of the "
            + "oracle (best technique's labels / plain's)", TARGET), String.join(", ", half), halfMet),
        new Goals.Goal(String.format(Locale.ROOT, ">= %.2f of the oracle at %d labels with forgetting <= %.0f point on every "
            + "abrupt shift (a technique)", TARGET, AT_LABELS, MAX_FORGETTING), atMeasured, !meeting.isEmpty()));
  }
}
