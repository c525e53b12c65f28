package dev.streamtune.core.records;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Provenance of a trained version: from what data, how, on what device.
 *
 * <p>The last fields were added in schema 1 without a major bump: they are null in records written before them (and in
 * summaries of pretraining, where they do not apply), and readers must tolerate their absence.
 *
 * @param trigger why it was trained (e.g. the drift signal, or "pretrain")
 * @param samples training samples used (never held-out ones), pseudo-labelled ones included (not in the per-class and per-domain
 *     counts: {@code pseudoLabels} says how many per class)
 * @param samplesByClass counts per label
 * @param samplesByDomain counts per domain
 * @param dataFrom earliest sample time used, dataTo the latest
 * @param freezeBoundary the last frozen layer ({@code none} when all layers trained)
 * @param layersTrained the names of the layers whose weights changed
 * @param learningRate the head's learning rate
 * @param loss the final training loss (mean of the last epoch)
 * @param device the ND4J backend and device
 * @param layerLearningRates the learning rate of each trained layer that has parameters, by layer name; null when not recorded
 * @param freezeReason why this boundary and these rates were chosen (the freeze policy's inputs and rule, or "pinned by config");
 *     null when not recorded
 * @param cachedFeatureHits how many samples' frozen activations came from the feature cache instead of the backbone; null when
 *     the fine-tune did not use the cache
 * @param distillation the parent model's share in the replayed samples' targets (0: plain labels); null when not recorded
 *     (pretraining, records written before the field)
 * @param augmentation the augmented copies added to the new-domain samples ({@code mirror,shift}: one copy per operation); null
 *     when none were (or in records written before the field)
 * @param pseudoLabels what pseudo-labelling of served inputs without a label added (count, threshold, calibrated precision, per
 *     class); null when it was off (or in records written before the field)
 * @param interpolation how far the fine-tuned weights were moved back toward the parent's (the tuned model's weight α, and the
 *     agreement with its new-domain answers that chose it); null when interpolation was off (or in records written before the
 *     field)
 */
public record TrainingSummary(String trigger, int samples, Map<String, Integer> samplesByClass, Map<String, Integer> samplesByDomain,
    Instant dataFrom, Instant dataTo, int epochs, int batchSize, String freezeBoundary, List<String> layersTrained,
    double learningRate, double loss, String device, long durationMs, Map<String, Double> layerLearningRates,
    String freezeReason, Integer cachedFeatureHits, Double distillation, String augmentation, String pseudoLabels,
    String interpolation) {
  public TrainingSummary {
    samplesByClass = Map.copyOf(samplesByClass);
    samplesByDomain = Map.copyOf(samplesByDomain);
    layersTrained = List.copyOf(layersTrained);
    layerLearningRates = layerLearningRates == null ? null : Map.copyOf(layerLearningRates);
  }

  /** A summary without interpolation toward the parent. */
  public TrainingSummary(String trigger, int samples, Map<String, Integer> samplesByClass, Map<String, Integer> samplesByDomain,
      Instant dataFrom, Instant dataTo, int epochs, int batchSize, String freezeBoundary, List<String> layersTrained,
      double learningRate, double loss, String device, long durationMs, Map<String, Double> layerLearningRates,
      String freezeReason, Integer cachedFeatureHits, Double distillation, String augmentation, String pseudoLabels) {
    this(trigger, samples, samplesByClass, samplesByDomain, dataFrom, dataTo, epochs, batchSize, freezeBoundary, layersTrained,
        learningRate, loss, device, durationMs, layerLearningRates, freezeReason, cachedFeatureHits, distillation, augmentation,
        pseudoLabels, null);
  }

  /** A summary without pseudo-labels. */
  public TrainingSummary(String trigger, int samples, Map<String, Integer> samplesByClass, Map<String, Integer> samplesByDomain,
      Instant dataFrom, Instant dataTo, int epochs, int batchSize, String freezeBoundary, List<String> layersTrained,
      double learningRate, double loss, String device, long durationMs, Map<String, Double> layerLearningRates,
      String freezeReason, Integer cachedFeatureHits, Double distillation, String augmentation) {
    this(trigger, samples, samplesByClass, samplesByDomain, dataFrom, dataTo, epochs, batchSize, freezeBoundary, layersTrained,
        learningRate, loss, device, durationMs, layerLearningRates, freezeReason, cachedFeatureHits, distillation, augmentation,
        null, null);
  }

  /** A summary without augmentation. */
  public TrainingSummary(String trigger, int samples, Map<String, Integer> samplesByClass, Map<String, Integer> samplesByDomain,
      Instant dataFrom, Instant dataTo, int epochs, int batchSize, String freezeBoundary, List<String> layersTrained,
      double learningRate, double loss, String device, long durationMs, Map<String, Double> layerLearningRates,
      String freezeReason, Integer cachedFeatureHits, Double distillation) {
    this(trigger, samples, samplesByClass, samplesByDomain, dataFrom, dataTo, epochs, batchSize, freezeBoundary, layersTrained,
        learningRate, loss, device, durationMs, layerLearningRates, freezeReason, cachedFeatureHits, distillation, null, null, null);
  }

  /** A summary without the distillation weight. */
  public TrainingSummary(String trigger, int samples, Map<String, Integer> samplesByClass, Map<String, Integer> samplesByDomain,
      Instant dataFrom, Instant dataTo, int epochs, int batchSize, String freezeBoundary, List<String> layersTrained,
      double learningRate, double loss, String device, long durationMs, Map<String, Double> layerLearningRates,
      String freezeReason, Integer cachedFeatureHits) {
    this(trigger, samples, samplesByClass, samplesByDomain, dataFrom, dataTo, epochs, batchSize, freezeBoundary, layersTrained,
        learningRate, loss, device, durationMs, layerLearningRates, freezeReason, cachedFeatureHits, null, null, null, null);
  }

  /** A summary without per-layer rates, freeze reason or cache figures (pretraining, tests). */
  public TrainingSummary(String trigger, int samples, Map<String, Integer> samplesByClass, Map<String, Integer> samplesByDomain,
      Instant dataFrom, Instant dataTo, int epochs, int batchSize, String freezeBoundary, List<String> layersTrained,
      double learningRate, double loss, String device, long durationMs) {
    this(trigger, samples, samplesByClass, samplesByDomain, dataFrom, dataTo, epochs, batchSize, freezeBoundary, layersTrained,
        learningRate, loss, device, durationMs, null, null, null, null, null, null, null);
  }
}
