package dev.streamtune.core.kafka;

/**
 * The readers of StreamTune's topics. A topic can have several readers (a bad record on {@code promotions} reaches the gate,
 * the feature-drift worker, the trainer and every serving node); exactly one of them, the topic's {@linkplain
 * Topics#rejecter(String) rejecter}, sends an unreadable record to {@code records.rejected}, so one bad record is rejected once.
 * The others skip it, log it and count it as {@code streamtune.records.skipped{topic}}.
 */
public enum TopicReader {
  /** The ingest application and its labelling routes: {@code samples.raw}, {@code inputs}, {@code feedback}, labelling requests. */
  INGEST,
  /** The evaluator's Streams application: {@code predictions}. */
  EVALUATOR,
  /**
   * The evaluator's promotion gate: {@code candidates}, {@code promotions}, {@code shadow}, and the held-out {@code samples}
   * that it alone reads.
   */
  GATE,
  /** The evaluator's feature-drift worker (owns no topic: it reads {@code inputs} and {@code promotions}). */
  FEATURES,
  /** The trainer: {@code samples}, {@code drift}, {@code decisions}. */
  TRAINER,
  /** A serving node (owns no topic: it reads {@code promotions} and {@code candidates}). */
  SERVING
}
