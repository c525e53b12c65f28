package dev.streamtune.core.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lag of a service's own consumer groups, per topic and partition, the way a Kafka lag exporter measures it: the partition's
 * end offset minus the group's committed offset, read with the admin API every {@code interval}, as the gauge
 * {@value #METER}{@code {group,topic,partition}}. The consumers' own {@code records-lag-max} says how far one client is behind;
 * this says which partition of which group is, also while the group has no live member (a crashed service's backlog grows).
 * Tags are bounded: the groups are the service's own, the topics those it commits, the partitions theirs. Under exactly once an
 * idle partition reads 1, not 0: the last transaction's commit marker takes an offset after the last record.
 */
public final class ConsumerGroupLag implements MeterBinder, AutoCloseable {
  /** The gauge's name. */
  public static final String METER = "streamtune.kafka.consumer.lag";
  /** How often the services read their groups' offsets: a scrape interval's worth. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);
  private static final Logger log = LoggerFactory.getLogger(ConsumerGroupLag.class);

  private final KafkaClients kafka;
  private final List<String> groups;
  private final Duration interval;
  private ScheduledExecutorService scheduler;
  private Admin admin;
  private MultiGauge gauge;
  private volatile boolean warned;

  /**
   * @param groups the consumer groups (Streams application ids included) whose lag this service exports
   * @param interval how often the offsets are read
   */
  public ConsumerGroupLag(KafkaClients kafka, List<String> groups, Duration interval) {
    this.kafka = kafka;
    this.groups = List.copyOf(groups);
    this.interval = interval;
  }

  @Override
  public synchronized void bindTo(MeterRegistry registry) {
    Properties props = new Properties();
    kafka.addTo(props);
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "streamtune-lag-" + String.join("-", groups));
    int timeout = (int) Math.max(10_000, interval.toMillis());
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeout);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeout);
    admin = Admin.create(props);
    gauge = MultiGauge.builder(METER).description("end offset minus the group's committed offset, per partition")
        .register(registry); // records; no base unit, which would rename it ..._records
    scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "consumer-group-lag");
      t.setDaemon(true);
      return t;
    });
    scheduler.scheduleWithFixedDelay(this::refresh, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Reads every group's committed offsets and the end offsets of their partitions; the gauge rows follow. */
  void refresh() {
    try {
      List<MultiGauge.Row<?>> rows = new ArrayList<>();
      for (Map.Entry<String, Map<TopicPartition, Long>> g : lags().entrySet()) {
        g.getValue().forEach((tp, lag) -> rows.add(MultiGauge.Row.of(Tags.of("group", g.getKey(), "topic", tp.topic(),
            "partition", Integer.toString(tp.partition())), lag)));
      }
      gauge.register(rows, true);
      warned = false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      if (!warned) { // once per outage: the broker may be restarting
        log.warn("cannot read the lag of consumer groups {}: {}", groups, e.toString());
        warned = true;
      }
    }
  }

  /** Each group's lag per partition it has committed. */
  Map<String, Map<TopicPartition, Long>> lags() throws Exception {
    Map<String, Map<TopicPartition, OffsetAndMetadata>> committed = new HashMap<>();
    for (String group : groups) {
      Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
          .get();
      offsets.values().removeIf(o -> o == null);
      committed.put(group, offsets);
    }
    Map<TopicPartition, OffsetSpec> wanted = new HashMap<>();
    committed.values().forEach(m -> m.keySet().forEach(tp -> wanted.put(tp, OffsetSpec.latest())));
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = wanted.isEmpty() ? Map.of()
        : admin.listOffsets(wanted).all().get();
    Map<String, Map<TopicPartition, Long>> out = new HashMap<>();
    committed.forEach((group, offsets) -> {
      Map<TopicPartition, Long> lag = new HashMap<>();
      offsets.forEach((tp, o) -> {
        ListOffsetsResult.ListOffsetsResultInfo end = ends.get(tp);
        if (end != null) {
          lag.put(tp, Math.max(0, end.offset() - o.offset()));
        }
      });
      out.put(group, lag);
    });
    return out;
  }

  @Override
  public synchronized void close() {
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    if (admin != null) {
      admin.close(Duration.ofSeconds(5));
    }
  }
}
