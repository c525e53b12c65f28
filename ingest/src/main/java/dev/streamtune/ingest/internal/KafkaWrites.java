package dev.streamtune.ingest.internal;

import dev.streamtune.core.http.HttpError;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RecordTooLargeException;

/** Writes one record for an HTTP request and waits for the broker's acknowledgement, so that a 202 means the record is stored. */
final class KafkaWrites {
  private KafkaWrites() {}

  /**
   * Sends and waits up to {@code timeout}.
   *
   * @throws HttpError 413 when the broker refuses the record's size, 503 when Kafka does not acknowledge in time or fails
   */
  static void sendAndWait(Producer<String, byte[]> producer, ProducerRecord<String, byte[]> record, Duration timeout) {
    try {
      producer.send(record).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (cause instanceof RecordTooLargeException) {
        throw new HttpError(413, "the record is too large for topic " + record.topic() + ": " + cause.getMessage());
      }
      throw new HttpError(503, "could not write to topic " + record.topic() + ": " + cause.getMessage());
    } catch (TimeoutException e) {
      throw new HttpError(503, "Kafka did not acknowledge the write to topic " + record.topic() + " within " + timeout.toSeconds()
          + " s; try again later");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HttpError(503, "interrupted while writing to topic " + record.topic());
    } catch (IllegalStateException e) {
      // a closed producer: the service is shutting down
      throw new HttpError(503, "the ingest service is shutting down; cannot write to topic " + record.topic());
    } catch (KafkaException e) {
      throw new HttpError(503, "could not write to topic " + record.topic() + ": " + e.getMessage());
    }
  }
}
