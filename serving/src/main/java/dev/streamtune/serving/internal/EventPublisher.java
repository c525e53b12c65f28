package dev.streamtune.serving.internal;

import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topic;
import dev.streamtune.core.records.Prediction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes each answered request as a {@link Prediction} on {@code predictions} and its image on {@code inputs}, both keyed by
 * the prediction id. Kafka never fails or slows a request: {@link #publish} only puts the events on a bounded queue that one
 * sender thread drains, the producers block at most {@code max.block.ms} (100 ms), and every event that cannot be sent (queue
 * full, broker down, timeout) is counted as {@code streamtune.serving.events.failed{topic}} and logged. Thread-safe.
 *
 * <p>The sender takes what has queued in one go and then rests {@link #COALESCE} before it looks again, so that under load a
 * request does not wake it for each image (a thread hand-off per image cost more CPU than the send); the producers linger
 * {@link #LINGER} and fill batches of up to {@link #BATCH_BYTES}, so the broker takes a few large produce requests a second
 * rather than hundreds of small ones. An event reaches Kafka at most ~25 ms later than it would otherwise: nothing downstream
 * waits for it that closely. Images that still need encoding (tensor requests) are encoded on the sender thread, off the
 * request's.
 */
public final class EventPublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EventPublisher.class);
  /** How long a send may block the sender thread on metadata or a full buffer. */
  public static final Duration MAX_BLOCK = Duration.ofMillis(100);
  /** How long the sender rests after sending what had queued, for more to gather. */
  static final Duration COALESCE = Duration.ofMillis(2);
  /** The event producers' {@code linger.ms}. */
  static final int LINGER = 20;
  /** The event producers' {@code batch.size}. */
  static final int BATCH_BYTES = 256 * 1024;

  /** One answered image: its prediction, and its image as the input event carries it (encoded on the sender thread). */
  public record Event(Prediction prediction, Supplier<byte[]> image) {
    public Event {
      Objects.requireNonNull(prediction, "prediction");
      Objects.requireNonNull(image, "image");
    }
  }

  private final Producer<String, Prediction> predictionProducer;
  private final Producer<String, byte[]> inputProducer;
  private final Topic<String, Prediction> predictions;
  private final Topic<String, byte[]> inputs;
  private final ServingMetrics metrics;
  private final BlockingQueue<Event> queue;
  private final Thread sender;
  private final long warmUpDeadline;
  private volatile boolean closing;
  private volatile long lastFailureLogNanos = System.nanoTime() - TimeUnit.MINUTES.toNanos(1);

  /** How long the sender tries to fetch both topics' metadata before the first event, by default. */
  public static final Duration WARM_UP = Duration.ofSeconds(5);

  public EventPublisher(Producer<String, Prediction> predictionProducer, Producer<String, byte[]> inputProducer,
      Topic<String, Prediction> predictions, Topic<String, byte[]> inputs, int queueMax, ServingMetrics metrics) {
    this(predictionProducer, inputProducer, predictions, inputs, queueMax, metrics, WARM_UP);
  }

  /**
   * @param queueMax the most events (answered images) waiting for the sender; more are counted as failed
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
    metrics.eventTopics(predictions.name(), inputs.name());
    this.queue = new ArrayBlockingQueue<>(queueMax);
    this.warmUpDeadline = warmUp.isNegative() ? System.nanoTime() : System.nanoTime() + warmUp.toNanos();
    this.sender = new Thread(this::run, "serving-events");
    sender.setDaemon(true);
    sender.start();
  }

  /** Fetches a topic's metadata, trying again until it arrives or the deadline passes (then the sends will say why). */
  private void warm(Producer<String, ?> producer, String topic) {
    while (!closing && System.nanoTime() < warmUpDeadline) {
      try {
        producer.partitionsFor(topic);
        return;
      } catch (RuntimeException e) {
        // each try blocks at most max.block.ms: the broker is slow or down; the deadline bounds the wait
      }
    }
  }

  /**
   * Producers as {@code KafkaSupport.producer} makes them (acks=all, idempotent), but blocking at most {@link #MAX_BLOCK},
   * lingering {@link #LINGER} ms into batches of up to {@link #BATCH_BYTES}, and compressing them with lz4 (JSON predictions and
   * the images of tensor requests, stored as PNG without deflate, compress well; lz4 costs about a microsecond a record).
   */
  public static <K, V> KafkaProducer<K, V> producer(KafkaClients bootstrap, String clientId, Topic<K, V> topic) {
    return KafkaSupport.producer(bootstrap, clientId, topic, Map.of(
        ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4",
        ProducerConfig.LINGER_MS_CONFIG, LINGER,
        ProducerConfig.BATCH_SIZE_CONFIG, BATCH_BYTES,
        ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) MAX_BLOCK.toMillis(),
        // an event that cannot be delivered within 30 s is counted as failed rather than held for the default 2 minutes
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000));
  }

  /** Queues both events of an answered request; never blocks and never throws. */
  public void publish(Prediction prediction, byte[] image) {
    Objects.requireNonNull(image, "image");
    publish(List.of(new Event(prediction, () -> image)));
  }

  /** Queues both events of each answered image of a request; never blocks and never throws. */
  public void publish(List<Event> events) {
    for (Event e : events) {
      if (closing || !queue.offer(e)) {
        failedBoth(e, closing ? "closed" : "event queue full");
      }
    }
  }

  private void run() {
    warm(predictionProducer, predictions.name());
    warm(inputProducer, inputs.name());
    List<Event> batch = new ArrayList<>();
    while (true) {
      try {
        Event first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (closing) {
            return;
          }
          continue;
        }
        batch.add(first);
        queue.drainTo(batch);
        for (Event e : batch) {
          send(e);
        }
        batch.clear();
        if (!closing) {
          Thread.sleep(COALESCE.toMillis());
        }
      } catch (InterruptedException e) {
        // only close() interrupts, after its deadline: what is still queued is counted there
        return;
      }
    }
  }

  private void send(Event e) {
    String id = e.prediction().id();
    send(predictionProducer, predictions.name(), id, e.prediction());
    byte[] image;
    try {
      image = e.image().get();
    } catch (RuntimeException ex) {
      failed(inputs.name(), id, "cannot encode the image: " + ex);
      return;
    }
    send(inputProducer, inputs.name(), id, image);
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

  /** Both events of an image that will not be sent. */
  private void failedBoth(Event e, String why) {
    failed(predictions.name(), e.prediction().id(), why);
    failed(inputs.name(), e.prediction().id(), why);
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
    closing = true;
    try {
      sender.join(TimeUnit.SECONDS.toMillis(10));
      if (sender.isAlive()) {
        sender.interrupt();
        sender.join(TimeUnit.SECONDS.toMillis(1));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Event> left = new ArrayList<>();
    queue.drainTo(left);
    left.forEach(e -> failedBoth(e, "closed before sending"));
    predictionProducer.close(Duration.ofSeconds(5));
    inputProducer.close(Duration.ofSeconds(5));
  }
}
