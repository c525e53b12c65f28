package dev.streamtune.standalone.eval;

import dev.streamtune.core.learn.Adwin;
import dev.streamtune.core.learn.Ddm;
import dev.streamtune.core.learn.PageHinkley;
import dev.streamtune.core.config.Settings;
import dev.streamtune.evaluator.DriftDetectors;
import dev.streamtune.evaluator.EvaluatorConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Runs the evaluator's supervised detectors (the same {@link PageHinkley}, {@link Ddm}, {@link Adwin} with the evaluator's
 * default parameters) over a recorded 0/1 error stream, resetting a detector after each alarm as the evaluator's monitor does.
 * Pure.
 */
final class Detection {
  /**
   * All three detectors with the evaluator's default parameters ({@code streamtune.evaluator.ph.*}, {@code ddm.*},
   * {@code adwin.*}), read from {@link EvaluatorConfig} so the evaluation follows the service.
   */
  static DriftDetectors serviceDefaults() {
    DriftDetectors d = EvaluatorConfig.from(Settings.empty()).drift();
    return new DriftDetectors(DriftDetectors.KNOWN, d.pageHinkley(), d.ddm(), d.adwin());
  }

  /**
   * What one detector did on a stream with a shift at {@code shiftAt}.
   *
   * @param alarms every alarm position (0-based index of the outcome that fired it)
   * @param falseAlarms alarms before the shift
   * @param delay labelled shifted samples seen when the first alarm at or after the shift fired (1 = the first shifted outcome),
   *     or -1 when none fired
   */
  record Outcome(String detector, List<Integer> alarms, int falseAlarms, int delay) {
    boolean detected() {
      return delay > 0;
    }
  }

  private Detection() {}

  /** Runs each detector over {@code errors} (1 = wrong); positions {@code >= shiftAt} are after the shift. */
  static Map<String, Outcome> run(DriftDetectors d, boolean[] errors, int shiftAt) {
    Map<String, Outcome> out = new LinkedHashMap<>();
    for (String name : d.names()) {
      List<Integer> alarms = alarms(d, name, errors);
      int fa = 0;
      int delay = -1;
      for (int a : alarms) {
        if (a < shiftAt) {
          fa++;
        } else if (delay < 0) {
          delay = a - shiftAt + 1;
        }
      }
      out.put(name, new Outcome(name, alarms, fa, delay));
    }
    return out;
  }

  /** The alarm positions of one detector on a stream. */
  static List<Integer> alarms(DriftDetectors d, String name, boolean[] errors) {
    List<Integer> alarms = new ArrayList<>();
    switch (name) {
      case PageHinkley.NAME -> {
        PageHinkley.State s = PageHinkley.State.initial();
        for (int i = 0; i < errors.length; i++) {
          PageHinkley.Step step = d.pageHinkley().update(s, errors[i] ? 1 : 0);
          s = step.state();
          if (step.drift()) {
            alarms.add(i);
            s = PageHinkley.State.initial();
          }
        }
      }
      case Ddm.NAME -> {
        Ddm.State s = Ddm.State.initial();
        for (int i = 0; i < errors.length; i++) {
          Ddm.Step step = d.ddm().update(s, errors[i] ? 1 : 0);
          s = step.state();
          if (step.drift()) {
            alarms.add(i);
            s = Ddm.State.initial();
          }
        }
      }
      case Adwin.NAME -> {
        Adwin.State s = Adwin.State.initial();
        for (int i = 0; i < errors.length; i++) {
          Adwin.Step step = d.adwin().update(s, errors[i] ? 1 : 0);
          s = step.state();
          if (step.drift()) {
            alarms.add(i);
            s = Adwin.State.initial();
          }
        }
      }
      default -> throw new IllegalArgumentException("unknown detector " + name);
    }
    return alarms;
  }

  /** One Page-Hinkley setting tried on the recorded streams. */
  record Sensitivity(double delta, double lambda, Map<String, Integer> delays, int falseAlarms, boolean meetsGoals) {}

  /**
   * Page-Hinkley over a grid of (delta, lambda), each on every abrupt scenario's recorded stream (delay after its shift) and on
   * the stationary stream (alarms): which settings would meet both detection goals. The evaluator's minimum sample count is
   * kept.
   *
   * @param streams per abrupt scenario, its recorded error stream and shift position
   */
  static List<Sensitivity> pageHinkleyGrid(DriftDetectors base, Map<String, Map.Entry<boolean[], Integer>> streams,
      boolean[] stationary, double[] deltas, double[] lambdas, int maxDelay) {
    List<Sensitivity> out = new ArrayList<>();
    for (double delta : deltas) {
      for (double lambda : lambdas) {
        DriftDetectors d = new DriftDetectors(List.of(PageHinkley.NAME), new PageHinkley(delta, lambda,
            base.pageHinkley().minSamples()), base.ddm(), base.adwin());
        Map<String, Integer> delays = new LinkedHashMap<>();
        boolean ok = true;
        for (Map.Entry<String, Map.Entry<boolean[], Integer>> e : streams.entrySet()) {
          Outcome o = run(d, e.getValue().getKey(), e.getValue().getValue()).get(PageHinkley.NAME);
          delays.put(e.getKey(), o.delay());
          ok &= o.detected() && o.delay() <= maxDelay && o.falseAlarms() == 0;
        }
        int fa = alarms(d, PageHinkley.NAME, stationary).size();
        out.add(new Sensitivity(delta, lambda, delays, fa, ok && fa == 0 && !streams.isEmpty()));
      }
    }
    return out;
  }

  /**
   * A stationary outcome stream of length {@code n}: the recorded 0/1 errors resampled uniformly with replacement (fixed seed),
   * so its error rate is the recorded one and it has no change.
   */
  static boolean[] resample(boolean[] recorded, int n, long seed) {
    if (recorded.length == 0) {
      throw new IllegalArgumentException("need recorded outcomes to resample");
    }
    SplittableRandom r = new SplittableRandom(seed);
    boolean[] out = new boolean[n];
    for (int i = 0; i < n; i++) {
      out[i] = recorded[r.nextInt(recorded.length)];
    }
    return out;
  }
}
