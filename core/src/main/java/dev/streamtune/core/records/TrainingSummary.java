package dev.streamtune.core.records;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Provenance of a trained version: from what data, how, on what device.
 *
 * @param trigger why it was trained (e.g. the drift signal, or "pretrain")
 * @param samples training samples used (never held-out ones)
 * @param samplesByClass counts per label
 * @param samplesByDomain counts per domain
 * @param dataFrom earliest sample time used, dataTo the latest
 * @param freezeBoundary the last frozen layer ({@code none} when all layers trained)
 * @param layersTrained the names of the layers whose weights changed
 * @param learningRate the head's learning rate
 * @param loss the final training loss (mean of the last epoch)
 * @param device the ND4J backend and device
 */
public record TrainingSummary(String trigger, int samples, Map<String, Integer> samplesByClass, Map<String, Integer> samplesByDomain,
    Instant dataFrom, Instant dataTo, int epochs, int batchSize, String freezeBoundary, List<String> layersTrained,
    double learningRate, double loss, String device, long durationMs) {
  public TrainingSummary {
    samplesByClass = Map.copyOf(samplesByClass);
    samplesByDomain = Map.copyOf(samplesByDomain);
    layersTrained = List.copyOf(layersTrained);
  }
}
