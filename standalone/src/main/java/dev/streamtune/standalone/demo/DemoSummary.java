package dev.streamtune.standalone.demo;

import java.util.List;

/**
 * What a demo run measured, printed as a table and written as JSON by {@code streamtune demo --summary FILE}.
 *
 * @param loopClosed true when drift was detected after the shift, a candidate was promoted, serving answered with it, and the
 *     shifted-domain accuracy after the swap beat the accuracy before by more than chance (z > 3)
 * @param sourceAccuracy served accuracy on the source domain (phase 1), by the demo's own ground truth
 * @param shiftedAccuracyBefore served accuracy on the shifted domain answered by the base version
 * @param accuracyAfter served accuracy on fresh shifted images answered by the promoted version
 * @param driftSecondsAfterShift when the first drift signal of any detector (label-free ones included) arrived
 * @param driftLabelledSamples labelled shifted-domain samples the demo had sent as feedback when the drift signal arrived
 * @param supervisedDriftSecondsAfterShift the same for the first supervised (error-stream) detector
 * @param falseAlarms drift signals detected before the shift
 * @param improvementZ two-proportion z statistic of accuracyAfter against shiftedAccuracyBefore
 * @param runDirectory where the run's model store, service state and metric scrapes ({@code metrics/*.prom}) are
 * @param sourceAccuracyEstimate the evaluator's estimate of the base version's accuracy from its calibrated confidence, before
 *     labels, at the end of the source phase; shiftedAccuracyEstimate the same during the shift while the base version served
 *     (null where the evaluator's metrics were not reachable or not calibrated yet)
 * @param labelling what the labelling queue asked for
 * @param report the run's HTML report ({@code <runDirectory>/report/report.html}, charts beside it); null when none was written
 */
public record DemoSummary(boolean loopClosed, String reason, String corruption, double durationSeconds, String device,
    int baseVersion, double sourceAccuracy, int sourceServed, double shiftedAccuracyBefore, int shiftedServedBefore,
    Double driftSecondsAfterShift, Integer driftLabelledSamples, String driftDetector, Double supervisedDriftSecondsAfterShift,
    Integer supervisedDriftLabelledSamples, String supervisedDriftDetector, int falseAlarms, int driftSignals,
    Candidate candidate, Gate gate, Integer promotedVersion, Double swapSecondsAfterShift, double accuracyAfter,
    int servedAfter, double improvementZ, int failedRequests, Double sourceAccuracyEstimate, Double shiftedAccuracyEstimate,
    Labelling labelling, String runDirectory, List<String> timeline, String report) {

  /** This summary with the path of the report written from it. */
  public DemoSummary withReport(String reportPath) {
    return new DemoSummary(loopClosed, reason, corruption, durationSeconds, device, baseVersion, sourceAccuracy, sourceServed,
        shiftedAccuracyBefore, shiftedServedBefore, driftSecondsAfterShift, driftLabelledSamples, driftDetector,
        supervisedDriftSecondsAfterShift, supervisedDriftLabelledSamples, supervisedDriftDetector, falseAlarms, driftSignals,
        candidate, gate, promotedVersion, swapSecondsAfterShift, accuracyAfter, servedAfter, improvementZ, failedRequests,
        sourceAccuracyEstimate, shiftedAccuracyEstimate, labelling, runDirectory, timeline, reportPath);
  }

  /** The trained candidate. */
  public record Candidate(int version, int samples, int epochs, double seconds, List<String> layersTrained,
      String freezeBoundary, java.util.Map<String, Integer> samplesByDomain, Double secondsAfterShift) {}

  /** The evaluator's confidence-based estimates against what the demo's ground truth measured, in words. */
  public String estimatesText() {
    if (sourceAccuracyEstimate == null && shiftedAccuracyEstimate == null) {
      return "-";
    }
    return String.format(java.util.Locale.ROOT, "source %s (served %.3f), shifted %s (served %.3f)",
        sourceAccuracyEstimate == null ? "-" : String.format(java.util.Locale.ROOT, "%.3f", sourceAccuracyEstimate),
        sourceAccuracy, shiftedAccuracyEstimate == null ? "-" : String.format(java.util.Locale.ROOT, "%.3f",
            shiftedAccuracyEstimate), shiftedAccuracyBefore);
  }

  /**
   * The labelling queue's requests: all, those published after the shift, those of them for shifted images (the demo's ground
   * truth), and those in the drift region (after a drift alarm's onset).
   */
  public record Labelling(int requests, int afterShift, int shiftedImages, int inDriftRegion) {}

  /** The gate's verdict on it. */
  public record Gate(String verdict, double candidateRecent, double championRecent, double candidateGuard, double championGuard,
      int recentSamples, int guardSamples, String reason, Double secondsAfterShift) {}
}
