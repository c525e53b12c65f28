package dev.streamtune.standalone.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The goals, checked on the measured rows: each one met or not, with the figures that decided it. Pure. */
final class Goals {
  /** One goal. */
  record Goal(String goal, String measured, boolean met) {}

  static final double ORACLE_SHARE = 0.95;
  static final double MAX_FORGETTING_POINTS = 1.0;
  static final int MAX_DELAY = 100;
  static final int GOAL_LABELS = 2000;
  /** The accuracy estimate before labels may miss the true accuracy by this many points under a covariate shift. */
  static final double MAX_ESTIMATE_ERROR_POINTS = 3.0;

  private Goals() {}

  /**
   * @param rows every row of every scenario
   * @param detection per scenario, per detector, what the detectors did on the serving model's stream
   * @param abrupt the names of the abrupt-shift scenarios
   * @param stationary the name of the stationary control, or null when not run
   * @param falseAlarms per detector, alarms over the stationary outcome stream of {@code stationaryOutcomes}
   * @param covariateEstimates per covariate-shift scenario, the serving model's accuracy estimated before labels
   */
  static List<Goal> check(List<Row> rows, Map<String, Map<String, Detection.Outcome>> detection, List<String> abrupt,
      String stationary, Map<String, Integer> falseAlarms, int stationaryOutcomes,
      Map<String, ScenarioRunner.Estimate> covariateEstimates) {
    List<Goal> out = new ArrayList<>();
    int labels = rows.stream().mapToInt(Row::labels).filter(n -> n == GOAL_LABELS).findAny().orElse(
        rows.stream().mapToInt(Row::labels).max().orElse(0));
    List<String> bad = new ArrayList<>();
    int checked = 0;
    for (Row r : rows) {
      if (r.method().equals(Row.STREAMTUNE) && r.labels() == labels && !Double.isNaN(r.ratio())) {
        checked++;
        if (r.ratio() < ORACLE_SHARE) {
          bad.add(String.format(Locale.ROOT, "%s %.3f", r.scenario(), r.ratio()));
        }
      }
    }
    out.add(new Goal(String.format(Locale.ROOT, ">= %.2f of the oracle with %d labels (StreamTune rows)", ORACLE_SHARE, labels),
        checked == 0 ? "no row with an oracle" : bad.isEmpty() ? "all " + checked + " scenarios"
            : (checked - bad.size()) + "/" + checked + " scenarios; below: " + String.join(", ", bad), checked > 0 && bad.isEmpty()));
    bad.clear();
    checked = 0;
    for (Row r : rows) {
      if (r.method().equals(Row.STREAMTUNE) && !Double.isNaN(r.forgettingPoints())) {
        checked++;
        if (r.forgettingPoints() > MAX_FORGETTING_POINTS) {
          bad.add(String.format(Locale.ROOT, "%s/%d %.2f pts", r.scenario(), r.labels(), r.forgettingPoints()));
        }
      }
    }
    out.add(new Goal(String.format(Locale.ROOT, "forgetting <= %.0f point on the earlier domain (StreamTune rows)",
        MAX_FORGETTING_POINTS), checked == 0 ? "no row" : bad.isEmpty() ? "all " + checked + " rows"
            : (checked - bad.size()) + "/" + checked + " rows; above: " + String.join(", ", bad), checked > 0 && bad.isEmpty()));
    for (String detector : Detection.serviceDefaults().names()) {
      bad.clear();
      List<String> delays = new ArrayList<>();
      for (String s : abrupt) {
        Detection.Outcome d = detection.getOrDefault(s, Map.of()).get(detector);
        if (d == null) {
          continue;
        }
        delays.add(s + " " + (d.detected() ? d.delay() : "missed"));
        if (!d.detected() || d.delay() > MAX_DELAY) {
          bad.add(s);
        }
      }
      out.add(new Goal("detection within " + MAX_DELAY + " labelled samples of an abrupt shift (" + detector + ")",
          delays.isEmpty() ? "no abrupt scenario run" : String.join(", ", delays), !delays.isEmpty() && bad.isEmpty()));
    }
    for (Map.Entry<String, Integer> e : falseAlarms.entrySet()) {
      out.add(new Goal("0 false alarms over " + stationaryOutcomes + " stationary outcomes (" + e.getKey() + ")",
          e.getValue() + " alarms", e.getValue() == 0 && stationaryOutcomes >= 100_000));
    }
    out.add(estimateGoal(covariateEstimates, ScenarioRunner.Estimate::errorPoints, String.format(Locale.ROOT,
        "accuracy estimated before labels within %.0f points under covariate shifts (serving model, new domain)",
        MAX_ESTIMATE_ERROR_POINTS)));
    Goal atc = estimateGoal(covariateEstimates, ScenarioRunner.Estimate::atcErrorPoints, String.format(Locale.ROOT,
        "the same by average thresholded confidence (ATC), within %.0f points", MAX_ESTIMATE_ERROR_POINTS));
    if (!covariateEstimates.isEmpty() && covariateEstimates.values().stream().noneMatch(e -> Double.isNaN(e.atc()))) {
      out.add(atc);
    }
    if (stationary != null) {
      Map<String, Detection.Outcome> d = detection.getOrDefault(stationary, Map.of());
      int alarms = d.values().stream().mapToInt(x -> x.alarms().size()).sum();
      List<String> promoted = rows.stream().filter(r -> r.scenario().equals(stationary) && r.verdict().equals("PROMOTE"))
          .map(r -> r.method() + "/" + r.labels()).toList();
      out.add(new Goal("stationary control: no alarm and no promotion", alarms + " alarms; promoted: "
          + (promoted.isEmpty() ? "none" : String.join(", ", promoted)), alarms == 0 && promoted.isEmpty()));
    }
    return out;
  }

  /** Every covariate shift's estimate within {@link #MAX_ESTIMATE_ERROR_POINTS} by one method ({@code error}; NaN: a miss). */
  private static Goal estimateGoal(Map<String, ScenarioRunner.Estimate> estimates,
      java.util.function.ToDoubleFunction<ScenarioRunner.Estimate> error, String goal) {
    List<String> measured = new ArrayList<>();
    boolean met = true;
    for (Map.Entry<String, ScenarioRunner.Estimate> e : estimates.entrySet()) {
      double err = error.applyAsDouble(e.getValue());
      measured.add(String.format(Locale.ROOT, "%s %+.1f", e.getKey(), err));
      met &= Math.abs(err) <= MAX_ESTIMATE_ERROR_POINTS;
    }
    return new Goal(goal, measured.isEmpty() ? "no covariate shift run" : String.join(", ", measured) + " pts",
        !measured.isEmpty() && met);
  }
}
