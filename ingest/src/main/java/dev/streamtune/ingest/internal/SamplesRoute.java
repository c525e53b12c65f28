package dev.streamtune.ingest.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.http.HttpError;
import dev.streamtune.core.http.Route;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.Sample;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;

/**
 * {@code POST /samples?label=Coat&domain=camera-2&id=optional} with the encoded image as the body. The sample is validated at the
 * boundary by the same {@link SampleValidator} as the topology; a good one is written to {@code samples.raw} (headers
 * {@code st-label} with the label name, {@code st-domain}, {@code st-source=http}, {@code content-type}) and answered
 * {@code 202 {"id": ..., "topic": ...}} once Kafka acknowledged it. A bad one gets 400 naming the problem, another method 405,
 * a body over the limit 413, Kafka trouble 503. A missing id is generated. Thread-safe.
 */
public final class SamplesRoute implements Route {
  public static final String PATH = "/samples";
  public static final String SOURCE = "http";
  private final SampleValidator validator;
  private final Producer<String, byte[]> producer;
  private final Topics topics;
  private final int maxBytes;
  private final IngestMetrics metrics;
  private final Clock clock;
  private final Duration sendTimeout;

  public SamplesRoute(SampleValidator validator, Producer<String, byte[]> producer, Topics topics, int maxBytes,
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
    Map<String, String> q = ServiceHttp.query(ex);
    byte[] body = Routes.readBody(ex, maxBytes);
    String id = q.get("id") == null || q.get("id").isBlank() ? UUID.randomUUID().toString() : q.get("id").trim();
    String domain = q.get("domain");
    Verdict<Sample> verdict = validator.validate(id, body, q.get("label"), domain, SOURCE, clock.instant());
    if (verdict instanceof Verdict.Rejected<Sample> r) {
      metrics.httpRejected("sample", r.reason());
      throw HttpError.badRequest(r.message());
    }
    Sample sample = ((Verdict.Accepted<Sample>) verdict).value();
    ProducerRecord<String, byte[]> record = new ProducerRecord<>(topics.samplesRaw.name(), id, body);
    Headers h = record.headers();
    h.add(Topics.HEADER_LABEL, utf8(sample.label()));
    if (domain != null && !domain.isBlank()) {
      h.add(Topics.HEADER_DOMAIN, utf8(domain.trim()));
    }
    h.add(Topics.HEADER_SOURCE, utf8(SOURCE));
    String contentType = ex.getRequestHeaders().getFirst("Content-Type");
    h.add(Topics.HEADER_CONTENT_TYPE, utf8(contentType == null || contentType.isBlank() ? "application/octet-stream" : contentType));
    KafkaWrites.sendAndWait(producer, record, sendTimeout);
    metrics.httpAccepted("sample");
    ServiceHttp.json(ex, 202, Map.of("id", id, "topic", record.topic()));
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
