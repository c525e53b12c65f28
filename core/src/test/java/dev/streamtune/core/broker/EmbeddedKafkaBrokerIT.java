package dev.streamtune.core.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.server.policy.CreateTopicPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Integration test of {@link EmbeddedKafkaBroker}: a real single-node KRaft broker on free ports.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class EmbeddedKafkaBrokerIT {

    private static final String TOPIC = "embedded-broker-it";
    private static final List<String> VALUES = List.of("one", "two", "three");

    @TempDir
    Path tmp;

    @Test
    void recordsSurviveARestartOnTheSameDataDirectory() throws Exception {
        Path dataDir = tmp.resolve("kafka-data");
        String clusterId;
        int firstPort;

        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).dataDir(dataDir).build()) {
            long t0 = System.nanoTime();
            broker.start();
            System.out.printf("first start() took %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            assertThat(broker.isRunning()).isTrue();
            assertThat(broker.bootstrapServers()).matches("localhost:\\d+");
            firstPort = broker.port();
            clusterId = broker.clusterId();
            assertThat(dataDir.resolve("kraft-logs/meta.properties")).exists();

            try (Admin admin = admin(broker)) {
                admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
                assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS)).contains(TOPIC);
            }
            try (KafkaProducer<String, String> producer = producer(broker)) {
                for (int i = 0; i < VALUES.size(); i++) {
                    producer.send(new ProducerRecord<>(TOPIC, "k" + i, VALUES.get(i))).get(30, TimeUnit.SECONDS);
                }
            }
            assertThat(consumeAll(broker, "group-first", true)).containsExactlyElementsOf(VALUES);
        }
        assertThat(dataDir).as("a named data dir is kept").isDirectory();

        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).dataDir(dataDir).build()) {
            long t0 = System.nanoTime();
            broker.start();
            System.out.printf("restart start() took %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            assertThat(broker.clusterId()).isEqualTo(clusterId);
            assertThat(broker.port()).isNotEqualTo(firstPort);

            assertThat(consumeAll(broker, "group-second", false)).containsExactlyElementsOf(VALUES);
            try (Admin admin = admin(broker)) {
                Map<TopicPartition, OffsetAndMetadata> committed = admin
                        .listConsumerGroupOffsets("group-first").partitionsToOffsetAndMetadata()
                        .get(30, TimeUnit.SECONDS);
                assertThat(committed.get(new TopicPartition(TOPIC, 0)).offset())
                        .as("offsets committed before the restart").isEqualTo(VALUES.size());
            }
        }
    }

    @Test
    void closeDeletesTheTemporaryDataDirectory() throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build();
        Path dataDir;
        try {
            broker.start();
            dataDir = broker.dataDir();
            assertThat(dataDir).isDirectory();
            // Auto topic creation: producing to an unknown topic creates it.
            try (KafkaProducer<String, String> producer = producer(broker)) {
                producer.send(new ProducerRecord<>("auto-created", "k", "v")).get(30, TimeUnit.SECONDS);
            }
            try (Stream<Path> files = Files.list(dataDir.resolve("kraft-logs"))) {
                assertThat(files.map(p -> p.getFileName().toString())).contains("auto-created-0");
            }
        } finally {
            broker.close();
        }
        assertThat(broker.isRunning()).isFalse();
        assertThat(dataDir).doesNotExist();
        broker.close(); // idempotent
    }

    @Test
    void startFailsClearlyWhenThePortIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getByName("localhost"), 0));
            EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(taken.getLocalPort()).build();
            assertThatThrownBy(broker::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("port " + taken.getLocalPort())
                    .hasMessageContaining("already in use");
            assertThat(broker.isRunning()).isFalse();
            broker.close();
        }
    }

    @Test
    void startFailsClearlyWhenKafkaFailsToStartAndTheJvmSurvives() {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder()
                .property("create.topic.policy.class.name", FailingPolicy.class.getName())
                .build();
        assertThatThrownBy(broker::start)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("failed to start")
                .hasMessageContaining("policy rejects configure");
        assertThat(broker.isRunning()).isFalse();
        broker.close();
    }

    @Test
    void aSecondBrokerOnALockedDataDirectoryFails() {
        Path dataDir = tmp.resolve("locked");
        try (EmbeddedKafkaBroker first = EmbeddedKafkaBroker.builder().dataDir(dataDir).build().start();
             EmbeddedKafkaBroker second = EmbeddedKafkaBroker.builder().dataDir(dataDir).build()) {
            assertThatThrownBy(second::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("in use by another embedded Kafka broker");
            assertThat(first.isRunning()).isTrue();
        }
    }

    /** A create-topic policy whose configuration fails, which makes the controller's start-up fail. */
    public static final class FailingPolicy implements CreateTopicPolicy {
        @Override
        public void configure(Map<String, ?> configs) {
            throw new IllegalArgumentException("policy rejects configure");
        }

        @Override
        public void validate(RequestMetadata requestMetadata) {
        }

        @Override
        public void close() {
        }
    }

    @Test
    void reservedPropertiesAreRejected() {
        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().property("listeners", "PLAINTEXT://:9092"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().build().bootstrapServers())
                .isInstanceOf(IllegalStateException.class);
    }

    private static Admin admin(EmbeddedKafkaBroker broker) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
    }

    private static KafkaProducer<String, String> producer(EmbeddedKafkaBroker broker) {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all"),
                new StringSerializer(), new StringSerializer());
    }

    private static List<String> consumeAll(EmbeddedKafkaBroker broker, String group, boolean commit) {
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"),
                new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(Set.of(TOPIC));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (values.size() < VALUES.size() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                }
            }
            if (commit) {
                consumer.commitSync(Duration.ofSeconds(30));
            }
        }
        return values;
    }
}
