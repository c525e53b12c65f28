package dev.streamtune.serving.internal;

import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topic;
import dev.streamtune.core.records.Prediction;
import java.time.Duration;
import java.util.Objects;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes each answered request as a {@link Prediction} on {@code predictions} and its image on {@code inputs}, both keyed by
 * the prediction id. Kafka never fails or slows a request: {@link #publish} only hands the pair to one sender thread through a
 * bounded queue, the producers block at most {@code max.block.ms} (100 ms), and every event that cannot be sent (queue full,
 * broker down, timeout) is counted as {@code streamtune.serving.events.failed{topic}} and logged. Thread-safe.
 */
public final class EventPublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EventPublisher.class);
  /** How long a send may block the sender thread on metadata or a full buffer. */
  public static final Duration MAX_BLOCK = Duration.ofMillis(100);

  private final Producer<String, Prediction> predictionProducer;
  private final Producer<String, byte[]> inputProducer;
  private final Topic<String, Prediction> predictions;
  private final Topic<String, byte[]> inputs;
  private final ServingMetrics metrics;
  private final ThreadPoolExecutor sender;
  private volatile long lastFailureLogNanos = System.nanoTime() - TimeUnit.MINUTES.toNanos(1);

  /** How long the sender tries to fetch both topics' metadata before the first event, by default. */
  public static final Duration WARM_UP = Duration.ofSeconds(5);

  public EventPublisher(Producer<String, Prediction> predictionProducer, Producer<String, byte[]> inputProducer,
      Topic<String, Prediction> predictions, Topic<String, byte[]> inputs, int queueMax, ServingMetrics metrics) {
    this(predictionProducer, inputProducer, predictions, inputs, queueMax, metrics, WARM_UP);
  }

  /**
   * @param warmUp how long the sender thread may spend fetching the topics' metadata before it sends the first event: without
   *     it the first events after start fail on {@code max.block.ms} while a slow broker answers the metadata request. Requests
   *     never wait for it; events queue behind it.
   */
  public EventPublisher(Producer<String, Prediction> predictionProducer, Producer<String, byte[]> inputProducer,
      Topic<String, Prediction> predictions, Topic<String, byte[]> inputs, int queueMax, ServingMetrics metrics,
      Duration warmUp) {
    this.predictionProducer = Objects.requireNonNull(predictionProducer, "predictionProducer");
    this.inputProducer = Objects.requireNonNull(inputProducer, "inputProducer");
    this.predictions = Objects.requireNonNull(predictions, "predictions");
    this.inputs = Objects.requireNonNull(inputs, "inputs");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.sender = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queueMax), r -> {
      Thread t = new Thread(r, "serving-events");
      t.setDaemon(true);
      return t;
    }, new ThreadPoolExecutor.AbortPolicy());
    if (!warmUp.isNegative() && !warmUp.isZero()) {
      long deadline = System.nanoTime() + warmUp.toNanos();
      sender.execute(() -> {
        warm(predictionProducer, predictions.name(), deadline);
        warm(inputProducer, inputs.name(), deadline);
      });
    }
  }

  /** Fetches a topic's metadata, trying again until it arrives or the deadline passes (then the sends will say why). */
  private static void warm(Producer<String, ?> producer, String topic, long deadlineNanos) {
    while (System.nanoTime() < deadlineNanos) {
      try {
        producer.partitionsFor(topic);
        return;
      } catch (RuntimeException e) {
        // each try blocks at most max.block.ms: the broker is slow or down; the deadline bounds the wait
      }
    }
  }

  /**
   * Producers as {@code KafkaSupport.producer} makes them (acks=all, idempotent), but blocking at most {@link #MAX_BLOCK}, and
   * compressing their batches with lz4 (JSON predictions and the images of tensor requests, stored as PNG without deflate,
   * compress well; lz4 costs about a microsecond a record).
   */
  public static <K, V> KafkaProducer<K, V> producer(KafkaClients bootstrap, String clientId, Topic<K, V> topic) {
    return KafkaSupport.producer(bootstrap, clientId, topic, Map.of(
        ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4",
        ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) MAX_BLOCK.toMillis(),
        // an event that cannot be delivered within 30 s is counted as failed rather than held for the default 2 minutes
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000));
  }

  /** Queues both events of an answered request; never blocks and never throws. */
  public void publish(Prediction prediction, byte[] image) {
    try {
      sender.execute(() -> {
        send(predictionProducer, predictions.name(), prediction.id(), prediction);
        send(inputProducer, inputs.name(), prediction.id(), image);
      });
    } catch (RejectedExecutionException e) {
      failed(predictions.name(), prediction.id(), "event queue full");
      failed(inputs.name(), prediction.id(), "event queue full");
    }
  }

  private <V> void send(Producer<String, V> producer, String topic, String key, V value) {
    try {
      producer.send(new ProducerRecord<>(topic, key, value), (md, e) -> {
        if (e == null) {
          metrics.eventSent(topic);
        } else {
          failed(topic, key, e.toString());
        }
      });
    } catch (RuntimeException e) {
      // max.block.ms ran out, the producer is closed, or the value cannot be serialised
      failed(topic, key, e.toString());
    }
  }

  private void failed(String topic, String key, String why) {
    metrics.eventFailed(topic);
    long now = System.nanoTime();
    // one line a minute at most: while Kafka is down every request would log
    if (now - lastFailureLogNanos >= TimeUnit.MINUTES.toNanos(1)) {
      lastFailureLogNanos = now;
      log.warn("could not publish event {} to {}: {} (counted in {}; further failures this minute only counted)", key, topic, why,
          ServingMetrics.EVENTS_FAILED);
    }
  }

  /** Sends what is queued (waiting up to 10 s; what is left is counted as failed) and closes the producers. */
  @Override
  public void close() {
    sender.shutdown();
    try {
      if (!sender.awaitTermination(10, TimeUnit.SECONDS)) {
        int dropped = sender.shutdownNow().size();
        for (int i = 0; i < dropped; i++) {
          failed(predictions.name(), "?", "closed before sending");
          failed(inputs.name(), "?", "closed before sending");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    predictionProducer.close(Duration.ofSeconds(5));
    inputProducer.close(Duration.ofSeconds(5));
  }
}
