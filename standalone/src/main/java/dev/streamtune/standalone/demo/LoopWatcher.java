package dev.streamtune.standalone.demo;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.Candidate;
import dev.streamtune.core.records.Decision;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.LabellingRequest;
import dev.streamtune.core.records.Promotion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Follows what the loop publishes (drift, candidates, decisions, promotions) and tells the story as it happens. It also keeps
 * every record it read with the moment it read it, for the run's report.
 */
final class LoopWatcher implements AutoCloseable {
  record Drift(double secondsAfterShift, int labelledSamples, String detector) {}

  /** A record the watcher read, {@code seconds} after the demo started (when it was read, the time base of the requests). */
  record Seen<T>(double seconds, T record) {}

  private final KafkaConsumer<String, byte[]> consumer;
  private final Topics topics;
  private final Consumer<String> say;
  private final IntSupplier shiftedLabels;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile long shiftAt = -1;
  private volatile Drift firstDriftAfterShift;
  private volatile Drift firstSupervisedDriftAfterShift;
  private final java.util.Set<String> reportedDetectors = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile int falseAlarms;
  private volatile int driftSignals;
  private volatile DemoSummary.Candidate candidate;
  private volatile DemoSummary.Gate decision;
  private volatile Integer promoted;
  private final long t0;
  private final List<Seen<DriftSignal>> drifts = new CopyOnWriteArrayList<>();
  private final List<Seen<Candidate>> candidates = new CopyOnWriteArrayList<>();
  private final List<Seen<Decision>> decisions = new CopyOnWriteArrayList<>();
  private final List<Seen<Promotion>> promotions = new CopyOnWriteArrayList<>();
  private final java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger requestsAfterShift = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger requestsInDrift = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger requestsShifted = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.function.Predicate<String> shiftedInput;

  private final boolean fromEnd;

  /** @param t0 {@link System#nanoTime()} when the demo started: the origin of the {@link Seen} times */
  LoopWatcher(String bootstrap, Topics topics, Consumer<String> say, IntSupplier shiftedLabels, long t0) {
    this(bootstrap, topics, say, shiftedLabels, t0, false, id -> false);
  }

  /** {@code fromEnd}: read only what is published from now on (a deployment that ran before has history on its topics). */
  LoopWatcher(String bootstrap, Topics topics, Consumer<String> say, IntSupplier shiftedLabels, long t0, boolean fromEnd) {
    this(bootstrap, topics, say, shiftedLabels, t0, fromEnd, id -> false);
  }

  /** {@code shiftedInput}: whether a prediction id was a shifted image (the demo's ground truth, for the queue's figures). */
  LoopWatcher(String bootstrap, Topics topics, Consumer<String> say, IntSupplier shiftedLabels, long t0, boolean fromEnd,
      java.util.function.Predicate<String> shiftedInput) {
    this.shiftedInput = shiftedInput;
    this.fromEnd = fromEnd;
    this.t0 = t0;
    this.consumer = KafkaSupport.rawConsumer(bootstrap, "demo-watcher", null);
    this.topics = topics;
    this.say = say;
    this.shiftedLabels = shiftedLabels;
    this.thread = new Thread(this::run, "demo-watcher");
    thread.setDaemon(true);
  }

  void start() {
    List<TopicPartition> parts = new ArrayList<>();
    for (String t : List.of(topics.drift.name(), topics.candidates.name(), topics.decisions.name(), topics.promotions.name(),
        topics.labellingRequests.name())) {
      consumer.partitionsFor(t, Duration.ofSeconds(30)).forEach(p -> parts.add(new TopicPartition(t, p.partition())));
    }
    consumer.assign(parts);
    if (fromEnd) {
      consumer.seekToEnd(parts);
      parts.forEach(consumer::position); // resolve the end now, before the story publishes anything
    } else {
      consumer.seekToBeginning(parts);
    }
    thread.start();
  }

  void markShift(long nanos) {
    shiftAt = nanos;
  }

  private void run() {
    try {
      while (running) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          try {
            on(r);
          } catch (RecordFormatException e) {
            say.accept("unreadable record on " + r.topic() + ": " + e.getMessage());
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    }
  }

  private void on(ConsumerRecord<String, byte[]> r) {
    if (r.topic().equals(topics.labellingRequests.name())) {
      LabellingRequest q = Json.fromBytes(r.value(), LabellingRequest.class);
      requests.incrementAndGet();
      if (shiftAt >= 0) {
        requestsAfterShift.incrementAndGet();
        requestsShifted.addAndGet(shiftedInput.test(q.predictionId()) ? 1 : 0);
      }
      if (q.driftRegion() && requestsInDrift.getAndIncrement() == 0) {
        say.accept(String.format("LABELLING QUEUE asks for shifted inputs first (the drift region of v%d): the best has priority "
            + "%.2f, predicted %s at %.2f, uncertainty %.2f, novelty %.2f", q.version(), q.priority(), q.predictedLabel(),
            q.topK().get(0).probability(), q.uncertainty(), q.novelty()));
      }
      return;
    }
    if (r.topic().equals(topics.drift.name())) {
      DriftSignal d = Json.fromBytes(r.value(), DriftSignal.class);
      drifts.add(seen(d));
      driftSignals++;
      if (shiftAt < 0) {
        falseAlarms++;
        say.accept(String.format("FALSE ALARM before the shift: %s on v%d (statistic %.1f)", d.detector(), d.version(),
            d.statistic()));
      } else if (reportedDetectors.add(d.detector())) {
        // the first signal of each detector after the shift: label-free ones come before any label, supervised ones after
        Drift drift = new Drift((System.nanoTime() - shiftAt) / 1e9, shiftedLabels.getAsInt(), d.detector());
        if (firstDriftAfterShift == null) {
          firstDriftAfterShift = drift;
        }
        if (d.kind() == DriftSignal.Kind.PERFORMANCE && firstSupervisedDriftAfterShift == null) {
          firstSupervisedDriftAfterShift = drift;
        }
        String accuracy = d.kind() == DriftSignal.Kind.PERFORMANCE
            ? String.format("; window accuracy %.3f before the onset, %.3f since", d.accuracyBefore(), d.accuracyRecent())
            : d.detector().equals("feature-ks")
                ? " (the penultimate-layer features of served images no longer look like the reference window)"
                : " (prediction confidence no longer looks like the reference window)";
        say.accept(String.format("DRIFT (%s) detected on v%d by %s (statistic %.3g > %.3g) %.1f s after the shift, after %d "
            + "labelled shifted samples%s", d.kind().name().toLowerCase(java.util.Locale.ROOT), d.version(), d.detector(),
            d.statistic(), d.threshold(), drift.secondsAfterShift(), drift.labelledSamples(), accuracy));
      }
    } else if (r.topic().equals(topics.candidates.name())) {
      Candidate c = Json.fromBytes(r.value(), Candidate.class);
      candidates.add(seen(c));
      if (c.failure() != null) {
        say.accept(String.format("TRAINING FAILED from v%d (the champion keeps serving): %s", c.parentVersion(), c.failure()));
        return;
      }
      var t = c.training();
      candidate = new DemoSummary.Candidate(c.version(), t.samples(), t.epochs(), t.durationMs() / 1000.0, t.layersTrained(),
          t.freezeBoundary(), t.samplesByDomain(), afterShift());
      say.accept(String.format("CANDIDATE v%d trained from v%d: %d samples %s, %d epochs, %.1f s, layers trained %s (frozen up to "
          + "%s), loss %.3f", c.version(), c.parentVersion(), t.samples(), t.samplesByDomain(), t.epochs(),
          t.durationMs() / 1000.0, t.layersTrained(), t.freezeBoundary(), t.loss()));
    } else if (r.topic().equals(topics.decisions.name())) {
      Decision d = Json.fromBytes(r.value(), Decision.class);
      decisions.add(seen(d));
      say.accept(String.format("GATE %s v%d vs champion v%d: recent %.3f vs %.3f (n=%d), guard %.3f vs %.3f (n=%d) — %s",
          d.verdict(), d.candidate().version(), d.champion().version(), d.candidate().recentAccuracy(),
          d.champion().recentAccuracy(), d.recentSamples(), d.candidate().guardAccuracy(), d.champion().guardAccuracy(),
          d.guardSamples(), d.reason()));
      if (d.verdict() != Decision.Verdict.NOT_ENOUGH_DATA || decision == null) {
        decision = new DemoSummary.Gate(d.verdict().name(), d.candidate().recentAccuracy(), d.champion().recentAccuracy(),
            d.candidate().guardAccuracy(), d.champion().guardAccuracy(), d.recentSamples(), d.guardSamples(), d.reason(),
            afterShift());
      }
    } else if (r.value() != null) {
      Promotion p = Json.fromBytes(r.value(), Promotion.class);
      promotions.add(seen(p));
      promoted = p.version();
      say.accept("PROMOTED v" + p.version() + " (" + p.reason() + ")");
    }
  }

  /** Seconds since the shift, null before it. */
  private Double afterShift() {
    long s = shiftAt;
    return s < 0 ? null : (System.nanoTime() - s) / 1e9;
  }

  private <T> Seen<T> seen(T record) {
    return new Seen<>((System.nanoTime() - t0) / 1e9, record);
  }

  List<Seen<DriftSignal>> drifts() {
    return List.copyOf(drifts);
  }

  List<Seen<Candidate>> candidates() {
    return List.copyOf(candidates);
  }

  List<Seen<Decision>> decisions() {
    return List.copyOf(decisions);
  }

  List<Seen<Promotion>> promotions() {
    return List.copyOf(promotions);
  }

  Drift firstDriftAfterShift() {
    return firstDriftAfterShift;
  }

  Drift firstSupervisedDriftAfterShift() {
    return firstSupervisedDriftAfterShift;
  }

  int falseAlarms() {
    return falseAlarms;
  }

  int driftSignals() {
    return driftSignals;
  }

  DemoSummary.Candidate candidate() {
    return candidate;
  }

  DemoSummary.Gate decision() {
    return decision;
  }

  Integer promotedVersion() {
    return promoted;
  }

  /** What the labelling queue asked for during the run. */
  DemoSummary.Labelling labelling() {
    return new DemoSummary.Labelling(requests.get(), requestsAfterShift.get(), requestsShifted.get(), requestsInDrift.get());
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    consumer.close();
  }
}
