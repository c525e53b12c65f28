package dev.streamtune.ingest.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.http.HttpError;
import dev.streamtune.core.http.Route;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.LabellingRequest;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.Producer;

/**
 * The labelling queue for labelling tools:
 * <ul>
 *   <li>{@code GET /labelling/requests?n=N} takes the N best waiting requests ({@link LabellingInbox}; N from 1 to
 *       {@value #MAX_N}, default 10): {@code {"requests": [{predictionId, model, version, predicted, topK, priority,
 *       uncertainty, novelty, driftRegion, servedAt, requestedAt, image}]}}, the image as a data URL; with
 *       {@code format=label-studio} a JSON array of Label Studio tasks ({@link LabelStudio#task}) to import into a project;
 *   <li>{@code GET /labelling/label-studio/config}: the Label Studio labelling interface for the model's label set (XML);
 *   <li>{@code POST /labelling/label-studio/webhook}: Label Studio's {@code ANNOTATION_CREATED} / {@code ANNOTATION_UPDATED}
 *       webhook, written to {@code feedback} like {@code POST /feedback} (202); other actions and cancelled annotations are
 *       answered 200 with the reason they were ignored.
 * </ul>
 * Answers come back as ordinary feedback for the prediction id. A bad parameter or payload gets 400 naming it. Thread-safe.
 */
public final class LabellingRoute implements Route {
  public static final String PATH = "/labelling";
  public static final String REQUESTS = PATH + "/requests";
  public static final String CONFIG = PATH + "/label-studio/config";
  public static final String WEBHOOK = PATH + "/label-studio/webhook";
  static final int MAX_N = 100;

  private final LabellingInbox inbox;
  private final Supplier<List<String>> labels;
  private final FeedbackValidator validator;
  private final Producer<String, byte[]> producer;
  private final Topics topics;
  private final int maxBytes;
  private final IngestMetrics metrics;
  private final Clock clock;
  private final Duration sendTimeout;

  public LabellingRoute(LabellingInbox inbox, Supplier<List<String>> labels, FeedbackValidator validator,
      Producer<String, byte[]> producer, Topics topics, int maxBytes, IngestMetrics metrics, Clock clock, Duration sendTimeout) {
    this.inbox = Objects.requireNonNull(inbox, "inbox");
    this.labels = Objects.requireNonNull(labels, "labels");
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
    String path = ex.getRequestURI().getPath().replaceAll("/+$", "");
    switch (path) {
      case REQUESTS -> requests(ex);
      case CONFIG -> {
        ServiceHttp.requireMethod(ex, "GET");
        ServiceHttp.text(ex, 200, "application/xml", LabelStudio.config(labels.get()));
      }
      case WEBHOOK -> webhook(ex);
      default -> throw HttpError.notFound("no such resource " + path + "; the labelling queue answers " + REQUESTS + ", "
          + CONFIG + " and " + WEBHOOK);
    }
  }

  private void requests(HttpExchange ex) throws IOException {
    ServiceHttp.requireMethod(ex, "GET");
    Map<String, String> q = ServiceHttp.query(ex);
    int n = count(q.get("n"));
    String format = q.getOrDefault("format", "streamtune");
    if (!format.equals("streamtune") && !format.equals("label-studio")) {
      throw HttpError.badRequest("format '" + format + "' unknown; use streamtune (default) or label-studio");
    }
    List<LabellingRequest> taken = inbox.take(n, format);
    if (format.equals("label-studio")) {
      ServiceHttp.json(ex, 200, taken.stream().map(LabelStudio::task).toList());
      return;
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (LabellingRequest r : taken) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("predictionId", r.predictionId());
      m.put("model", r.model());
      m.put("version", r.version());
      m.put("predicted", r.predictedLabel());
      m.put("topK", r.topK());
      m.put("priority", r.priority());
      m.put("uncertainty", r.uncertainty());
      m.put("novelty", Double.isNaN(r.novelty()) ? null : r.novelty());
      m.put("driftRegion", r.driftRegion());
      m.put("servedAt", r.servedAt().toString());
      m.put("requestedAt", r.requestedAt().toString());
      m.put("image", LabelStudio.dataUrl(r.image()));
      out.add(m);
    }
    ServiceHttp.json(ex, 200, Map.of("requests", out, "pending", inbox.pending()));
  }

  private static int count(String v) {
    if (v == null || v.isBlank()) {
      return 10;
    }
    try {
      int n = Integer.parseInt(v.trim());
      if (n >= 1 && n <= MAX_N) {
        return n;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw HttpError.badRequest("n must be a whole number from 1 to " + MAX_N + ", was '" + v + "'");
  }

  private void webhook(HttpExchange ex) throws IOException {
    ServiceHttp.requireMethod(ex, "POST");
    byte[] body = Routes.readBody(ex, maxBytes);
    LabelStudio.Outcome outcome;
    try {
      outcome = LabelStudio.feedback(body, clock.instant());
    } catch (IllegalArgumentException e) {
      metrics.httpRejected("label-studio", FeedbackValidator.Reason.UNREADABLE);
      throw HttpError.badRequest(e.getMessage());
    }
    if (outcome instanceof LabelStudio.Ignored i) {
      ServiceHttp.json(ex, 200, Map.of("ignored", i.reason()));
      return;
    }
    Feedback raw = ((LabelStudio.Labelled) outcome).feedback();
    Feedback feedback = FeedbackRoute.publish(validator.validate(raw), "label-studio", producer, topics, sendTimeout, metrics);
    ServiceHttp.json(ex, 202, Map.of("id", feedback.predictionId(), "label", feedback.label(), "topic", topics.feedback.name()));
  }
}
