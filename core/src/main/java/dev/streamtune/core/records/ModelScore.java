package dev.streamtune.core.records;

/** One model's accuracy on the gate's two held-out sets. */
public record ModelScore(int version, double recentAccuracy, double guardAccuracy) {}
