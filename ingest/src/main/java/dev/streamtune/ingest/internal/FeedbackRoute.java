package dev.streamtune.ingest.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.http.HttpError;
import dev.streamtune.core.http.Route;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.Feedback;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * {@code POST /feedback} with {@code {"predictionId": "...", "label": "...", "annotator": "..."}}: validated by
 * {@link FeedbackValidator} (prediction id present, label in the label set; a class index maps to the name), stamped with the
 * server's time and written to {@code feedback} keyed by the prediction id, then answered {@code 202 {"id": ..., "topic": ...}}.
 * Bad JSON or a bad field gets 400 naming the problem, another method 405, a body over the limit 413. Thread-safe.
 */
public final class FeedbackRoute implements Route {
  public static final String PATH = "/feedback";
  private final FeedbackValidator validator;
  private final Producer<String, byte[]> producer;
  private final Topics topics;
  private final int maxBytes;
  private final IngestMetrics metrics;
  private final Clock clock;
  private final Duration sendTimeout;

  public FeedbackRoute(FeedbackValidator validator, Producer<String, byte[]> producer, Topics topics, int maxBytes,
      IngestMetrics metrics, Clock clock, Duration sendTimeout) {
    this.validator = Objects.requireNonNull(validator, "validator");
    this.producer = Objects.requireNonNull(producer, "producer");
    this.topics = Objects.requireNonNull(topics, "topics");
    this.maxBytes = maxBytes;
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.sendTimeout = Objects.requireNonNull(sendTimeout, "sendTimeout");
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    Routes.requirePath(ex, PATH);
    ServiceHttp.requireMethod(ex, "POST");
    byte[] body = Routes.readBody(ex, maxBytes);
    Feedback feedback = publish(validator.validateRequest(body, clock.instant()), "feedback", producer, topics, sendTimeout,
        metrics);
    ServiceHttp.json(ex, 202, Map.of("id", feedback.predictionId(), "topic", topics.feedback.name()));
  }

  /**
   * Writes validated feedback to {@code feedback}, keyed by its prediction id, and waits for the broker; a rejected one is
   * counted and answered 400 naming the problem. Every route that takes labels ends here ({@code route} names it in the
   * meters).
   *
   * @return the feedback written
   */
  static Feedback publish(Verdict<Feedback> verdict, String route, Producer<String, byte[]> producer, Topics topics,
      Duration sendTimeout, IngestMetrics metrics) {
    if (verdict instanceof Verdict.Rejected<Feedback> r) {
      metrics.httpRejected(route, r.reason());
      throw HttpError.badRequest(r.message());
    }
    Feedback feedback = ((Verdict.Accepted<Feedback>) verdict).value();
    KafkaWrites.sendAndWait(producer, new ProducerRecord<>(topics.feedback.name(), feedback.predictionId(),
        Json.toBytes(feedback)), sendTimeout);
    metrics.httpAccepted(route);
    return feedback;
  }
}
