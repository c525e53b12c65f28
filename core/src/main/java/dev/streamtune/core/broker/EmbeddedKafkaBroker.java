package dev.streamtune.core.broker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.common.utils.Time;
import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded Apache Kafka broker running in KRaft mode: one process acting as both broker and controller
 * ({@code process.roles=broker,controller}), with no ZooKeeper and no external processes. Alone by default; with
 * {@link Builder#cluster(int, String)} one node of a multi-node cluster (a static quorum in which every node is a broker and
 * a controller, e.g. three processes of {@code streamtune broker}).
 *
 * <p>Typical use:
 * <pre>{@code
 * try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).build()) {
 *     broker.start();
 *     String bootstrap = broker.bootstrapServers();   // e.g. "localhost:41233"
 *     ...
 * }
 * }</pre>
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li><b>Storage.</b> All state lives under the data directory: the Kafka log directory (topic partitions and
 *       the {@code __cluster_metadata} KRaft log) is {@code <dataDir>/kraft-logs}. On {@link #start()} the log
 *       directory is formatted (fresh random cluster id) unless it already holds a {@code meta.properties}; a
 *       formatted directory is reused as is, so a broker started again on the same named data directory sees the
 *       topics, records and committed offsets of the previous run, even on different ports. Without a data
 *       directory a temporary one is created by {@link #start()} and deleted by {@link #close()}; a named data
 *       directory is never deleted.</li>
 *   <li><b>Network.</b> The client listener {@code PLAINTEXT} binds to {@code host:port} and is advertised as the
 *       same {@code host:port}, so other processes (another JVM, kcat) can connect to {@link #bootstrapServers()}.
 *       Port {@code 0} picks a free port at start. The controller listener binds to its own free port on the
 *       same host; clients never need it. The quorum is a static single voter ({@code controller.quorum.voters}),
 *       so nothing port-dependent is persisted and a restart may use other ports.</li>
 *   <li><b>Defaults for one node.</b> Replication factor 1 and {@code min.insync.replicas} 1 everywhere
 *       (including the {@code __consumer_offsets}, {@code __transaction_state} and {@code __share_group_state}
 *       internal topics, each with a single partition), group initial rebalance delay 0, automatic topic
 *       creation on, 1 partition per new topic by default. Any broker property can be overridden with
 *       {@link Builder#property(String, String)}, except the ones that define the node's identity, listeners
 *       and storage (see {@link Builder#property(String, String)}).</li>
 *   <li><b>Lifecycle.</b> An instance is single-use: {@code start()} at most once, then {@code close()}.
 *       To restart, build a new instance on the same data directory. {@link #close()} is idempotent and may be
 *       called on an instance that was never started or whose start failed.</li>
 *   <li><b>Failures.</b> {@link #start()} throws {@link IllegalStateException} with a descriptive message when
 *       the requested port is already in use, when the storage cannot be formatted or loaded, or when the
 *       server does not start or does not accept clients within the start timeout.</li>
 *   <li><b>Logging.</b> Kafka's server side logs through SLF4J. Unless {@link Builder#quietLogging(boolean)} is
 *       turned off, when SLF4J is bound to Logback, the server-side Kafka loggers (not the client loggers) that
 *       have no level of their own and would log INFO are set to {@code WARN} at start, since at {@code INFO} a single start logs
 *       hundreds of lines. A level configured explicitly (e.g. in {@code logback.xml}) always wins.</li>
 * </ul>
 *
 * <p><b>JVM-global state:</b> the Kafka server keeps some JVM-global state (Yammer metrics, JMX beans). Once
 * running, like any Kafka server, it halts the JVM on a fatal fault (e.g. a corrupt metadata log). During
 * {@link #start()} only, Kafka's {@link Exit} procedures are replaced so that a fatal start-up fault becomes an
 * exception; afterwards they are reset to Kafka's defaults (any custom procedure set through {@link Exit} is lost).
 * Two brokers may run in one JVM if they use different data directories; a data directory is locked while a broker
 * uses it.
 *
 * <p><b>Thread-safety:</b> this class is thread-safe. {@link #start()} and {@link #close()} are serialised on the
 * instance; the accessors can be called from any thread at any time.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    /** The node id of a single-node broker/controller (the default). */
    public static final int NODE_ID = 1;

    private static final String CLIENT_LISTENER = "PLAINTEXT";
    private static final String SASL_LISTENER = "SASL";
    /** The SASL mechanism of {@link Builder#scramUser}'s listener. */
    public static final String SCRAM_MECHANISM = "SCRAM-SHA-256";
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final String LOG_DIR_NAME = "kraft-logs";
    private static final String META_PROPERTIES = "meta.properties";
    private static final String LOCK_FILE = ".embedded-kafka.lock";
    private static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(60);

    /** Properties that the broker computes itself; overriding them would break the listener/storage contract. */
    private static final List<String> RESERVED_PROPERTIES = List.of(
            "process.roles", "node.id", "broker.id", "listeners", "advertised.listeners",
            "controller.listener.names", "controller.quorum.voters", "controller.quorum.bootstrap.servers",
            "inter.broker.listener.name", "listener.security.protocol.map", "log.dirs", "log.dir",
            "metadata.log.dir");

    /** Server-side logger name prefixes quietened by {@link Builder#quietLogging(boolean)}. */
    private static final List<String> SERVER_LOGGERS = List.of(
            "kafka", "state.change.logger",
            "org.apache.kafka.server", "org.apache.kafka.controller", "org.apache.kafka.raft",
            "org.apache.kafka.metadata", "org.apache.kafka.image", "org.apache.kafka.snapshot",
            "org.apache.kafka.storage", "org.apache.kafka.coordinator", "org.apache.kafka.queue",
            "org.apache.kafka.timeline", "org.apache.kafka.deferred", "org.apache.kafka.network",
            "org.apache.kafka.security",
            // Shared with the clients, but at INFO it dumps every KafkaConfig (~370 lines, several per start).
            "org.apache.kafka.common.config.AbstractConfig");

    private final String host;
    private final int requestedPort;
    private final Path requestedDataDir;
    private final Map<String, String> extraProperties;
    private final Duration startTimeout;
    private final boolean quietLogging;
    private final Map<String, String> scramUsers;
    private final int nodeId;
    /** Node id → controller {@code host:port} of every voter; empty for a single node (this one, on a free port). */
    private final Map<Integer, String> voters;
    private final String requestedClusterId;

    private final Object lifecycleLock = new Object();
    private State state = State.NEW; // guarded by lifecycleLock
    private KafkaRaftServer server; // guarded by lifecycleLock
    private FileChannel lockChannel; // guarded by lifecycleLock; its FileLock locks the data directory

    private volatile Path dataDir;
    private volatile int port = -1;
    private volatile int controllerPort = -1;
    private volatile int saslPort = -1;
    private volatile String clusterId;

    private enum State { NEW, STARTING, RUNNING, CLOSED }

    private EmbeddedKafkaBroker(Builder builder) {
        this.host = builder.host;
        this.requestedPort = builder.port;
        this.requestedDataDir = builder.dataDir;
        this.extraProperties = Map.copyOf(builder.properties);
        this.startTimeout = builder.startTimeout;
        this.quietLogging = builder.quietLogging;
        this.scramUsers = Map.copyOf(builder.scramUsers);
        this.nodeId = builder.nodeId;
        this.voters = Map.copyOf(builder.voters);
        this.requestedClusterId = builder.clusterId;
        if (!voters.isEmpty() && !voters.containsKey(nodeId)) {
            throw new IllegalArgumentException("node " + nodeId + " is not one of the quorum's voters " + votersString());
        }
    }

    /** The number of nodes in the cluster: the voters (every node is a broker and a controller), 1 for a single node. */
    private int clusterSize() {
        return Math.max(1, voters.size());
    }

    private String votersString() {
        StringBuilder b = new StringBuilder();
        voters.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            if (b.length() > 0) {
                b.append(',');
            }
            b.append(e.getKey()).append('@').append(e.getValue());
        });
        return b.toString();
    }

    /**
     * Returns a new builder with the defaults: port 0 (a free port), a temporary data directory, host
     * {@code localhost}, no extra properties, a 60 s start timeout and quiet server logging.
     *
     * @return a new builder; builders are not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Formats the storage if needed, starts the combined broker/controller, and blocks until the broker is
     * unfenced and answers client requests on {@link #bootstrapServers()}.
     *
     * <p>If the data directory already holds a formatted Kafka log directory its cluster id and contents are
     * reused; otherwise it is formatted with a new random cluster id.
     *
     * @return this broker, for chaining
     * @throws IllegalStateException if the broker was already started or closed, if the requested port is in use,
     *         if the data directory is in use by another embedded broker, if the storage cannot be formatted or
     *         loaded, or if the server fails to start or to accept clients within the start timeout; the broker is
     *         then closed (a temporary data directory is deleted)
     */
    public EmbeddedKafkaBroker start() {
        synchronized (lifecycleLock) {
            if (state != State.NEW) {
                throw new IllegalStateException("EmbeddedKafkaBroker can be started only once (state " + state
                        + "); build a new instance on the same data directory to restart");
            }
            state = State.STARTING;
            long startNanos = System.nanoTime();
            try (ExitGuard exitGuard = ExitGuard.install()) {
                try {
                    doStart();
                    if (exitGuard.request() != null) {
                        throw new IllegalStateException("Embedded Kafka broker on " + bootstrapServers()
                                + " hit a fatal fault during start-up: " + exitGuard.request());
                    }
                    state = State.RUNNING;
                } catch (RuntimeException | Error e) {
                    Throwable failure = e instanceof RuntimeException && !(e instanceof IllegalStateException)
                            ? new IllegalStateException("Embedded Kafka broker failed to start: " + e, e)
                            : e;
                    String exitRequest = exitGuard.request();
                    if (exitRequest != null && !String.valueOf(failure.getMessage()).contains(exitRequest)) {
                        failure.addSuppressed(new IllegalStateException(exitRequest));
                    }
                    closeQuietlyAfterFailedStart(failure);
                    if (failure instanceof Error error) {
                        throw error;
                    }
                    throw (RuntimeException) failure;
                }
            }
            LOG.info("Embedded Kafka broker started in {} ms on {} (cluster id {}, data dir {})",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), bootstrapServers(), clusterId,
                    dataDir);
            return this;
        }
    }

    private void doStart() {
        if (quietLogging) {
            quietServerLoggers();
        }
        dataDir = requestedDataDir != null ? createDirectories(requestedDataDir) : createTempDataDir();
        lockDataDir();
        Path logDir = createDirectories(dataDir.resolve(LOG_DIR_NAME));

        port = requestedPort == 0 ? freePort(host) : checkPortFree(host, requestedPort);
        if (voters.isEmpty()) {
            controllerPort = freePort(host);
            while (controllerPort == port) {
                controllerPort = freePort(host);
            }
        } else {
            String own = voters.get(nodeId);
            controllerPort = checkPortFree(host, Integer.parseInt(own.substring(own.lastIndexOf(':') + 1)));
        }
        if (!scramUsers.isEmpty()) {
            saslPort = freePort(host);
            while (saslPort == port || saslPort == controllerPort) {
                saslPort = freePort(host);
            }
        }
        Properties props = serverProperties(logDir);

        Path metaProperties = logDir.resolve(META_PROPERTIES);
        if (Files.exists(metaProperties)) {
            clusterId = readClusterId(metaProperties, nodeId);
            if (requestedClusterId != null && !requestedClusterId.equals(clusterId)) {
                throw new IllegalStateException(metaProperties + " belongs to cluster " + clusterId + ", not to "
                        + requestedClusterId);
            }
            LOG.debug("Reusing formatted Kafka storage {} (cluster id {})", logDir, clusterId);
        } else {
            clusterId = requestedClusterId != null ? requestedClusterId
                    : voters.isEmpty() ? Uuid.randomUuid().toString() : clusterIdOf(votersString());
            format(props, clusterId, logDir, scramUsers);
        }

        KafkaConfig config;
        try {
            config = new KafkaConfig(props, false);
        } catch (RuntimeException e) {
            throw new IllegalStateException("Invalid embedded Kafka broker configuration: " + e.getMessage(), e);
        }
        try {
            server = new KafkaRaftServer(config, Time.SYSTEM);
        } catch (RuntimeException e) {
            throw new IllegalStateException("Cannot create the Kafka server on the storage in " + logDir + ": "
                    + rootMessage(e), e);
        }
        try {
            server.startup();
        } catch (RuntimeException e) {
            throw new IllegalStateException("Embedded Kafka broker failed to start on " + host + ":" + port
                    + " (controller port " + controllerPort + "): " + rootMessage(e), e);
        }
        awaitClientsAccepted();
    }

    private Properties serverProperties(Path logDir) {
        Map<String, String> p = new LinkedHashMap<>();
        // Defaults suited to the cluster's size (1 node: no replication; 3 or more: 3 replicas, 2 in sync), the caller may
        // override any of them.
        String replicas = String.valueOf(Math.min(3, clusterSize()));
        String minIsr = String.valueOf(Math.max(1, Math.min(3, clusterSize()) - 1));
        p.put("num.partitions", "1");
        p.put("default.replication.factor", replicas);
        p.put("min.insync.replicas", minIsr);
        p.put("auto.create.topics.enable", "true");
        p.put("offsets.topic.replication.factor", replicas);
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", replicas);
        p.put("transaction.state.log.min.isr", minIsr);
        p.put("transaction.state.log.num.partitions", "1");
        p.put("share.coordinator.state.topic.replication.factor", replicas);
        p.put("share.coordinator.state.topic.min.isr", minIsr);
        p.put("share.coordinator.state.topic.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "4");
        p.put("num.recovery.threads.per.data.dir", "1");
        p.put("log.cleaner.dedupe.buffer.size", String.valueOf(8L * 1024 * 1024));
        p.put("broker.heartbeat.interval.ms", "500");
        p.put("controlled.shutdown.enable", "true");
        p.put("server.max.startup.time.ms", String.valueOf(startTimeout.toMillis()));
        p.putAll(extraProperties);
        // Identity, listeners and storage: fixed.
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(nodeId));
        p.put("controller.quorum.voters", voters.isEmpty() ? nodeId + "@" + host + ":" + controllerPort : votersString());
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("inter.broker.listener.name", CLIENT_LISTENER);
        p.put("listener.security.protocol.map",
                CLIENT_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT"
                        + (scramUsers.isEmpty() ? "" : "," + SASL_LISTENER + ":SASL_PLAINTEXT"));
        p.put("listeners", CLIENT_LISTENER + "://" + host + ":" + port + ","
                + CONTROLLER_LISTENER + "://" + host + ":" + controllerPort
                + (scramUsers.isEmpty() ? "" : "," + SASL_LISTENER + "://" + host + ":" + saslPort));
        p.put("advertised.listeners", CLIENT_LISTENER + "://" + host + ":" + port
                + (scramUsers.isEmpty() ? "" : "," + SASL_LISTENER + "://" + host + ":" + saslPort));
        if (!scramUsers.isEmpty()) {
            // SCRAM users on their own listener, every request authorised by ACLs; the plaintext and controller listeners'
            // principal (ANONYMOUS: the broker itself, and the test's admin) is a super user
            String listener = "listener.name." + SASL_LISTENER.toLowerCase(Locale.ROOT) + ".";
            p.put("sasl.enabled.mechanisms", SCRAM_MECHANISM);
            p.put(listener + "sasl.enabled.mechanisms", SCRAM_MECHANISM);
            p.put(listener + SCRAM_MECHANISM.toLowerCase(Locale.ROOT) + ".sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;");
            p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            p.put("super.users", "User:ANONYMOUS");
            p.put("allow.everyone.if.no.acl.found", "false");
        }
        p.put("log.dirs", logDir.toAbsolutePath().toString());
        Properties props = new Properties();
        props.putAll(p);
        return props;
    }

    private static void format(Properties props, String clusterId, Path logDir, Map<String, String> scramUsers) {
        Path configFile = null;
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        try {
            configFile = Files.createTempFile("embedded-kafka-format", ".properties");
            try (OutputStream out = Files.newOutputStream(configFile)) {
                props.store(out, "embedded Kafka broker, used for formatting only");
            }
            int exitCode;
            try (PrintStream printStream = new PrintStream(output, true, StandardCharsets.UTF_8)) {
                List<String> args = new ArrayList<>(List.of("format", "--config", configFile.toString(), "--cluster-id",
                        clusterId));
                scramUsers.forEach((user, password) -> {
                    args.add("--add-scram");
                    args.add(SCRAM_MECHANISM + "=[name=" + user + ",password=" + password + "]");
                });
                exitCode = StorageTool.execute(args.toArray(String[]::new), printStream);
            }
            if (exitCode != 0) {
                throw new IllegalStateException("Formatting the Kafka storage in " + logDir + " failed (exit code "
                        + exitCode + "): " + output.toString(StandardCharsets.UTF_8).trim());
            }
            LOG.debug("Formatted Kafka storage {} with cluster id {}: {}", logDir, clusterId,
                    output.toString(StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new IllegalStateException("Cannot format the Kafka storage in " + logDir + ": " + e, e);
        } catch (IllegalStateException e) {
            throw e;
        } catch (Exception e) { // StorageTool (Scala) may throw checked exceptions it does not declare
            throw new IllegalStateException("Formatting the Kafka storage in " + logDir + " failed: "
                    + rootMessage(e), e);
        } finally {
            if (configFile != null) {
                deleteIfExists(configFile);
            }
        }
    }

    private void awaitClientsAccepted() {
        long deadline = System.nanoTime() + startTimeout.toNanos();
        Map<String, Object> adminConfig = Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG, "embedded-kafka-broker-readiness",
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        Throwable last = null;
        try (Admin admin = Admin.create(adminConfig)) {
            while (System.nanoTime() < deadline) {
                try {
                    var nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(5_000))
                            .nodes().get(5, TimeUnit.SECONDS);
                    if (nodes.stream().map(Node::id).anyMatch(id -> id == nodeId)) {
                        return;
                    }
                } catch (ExecutionException | TimeoutException e) {
                    last = e instanceof ExecutionException ? e.getCause() : e;
                }
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the embedded Kafka broker on "
                    + bootstrapServers(), e);
        }
        throw new IllegalStateException("Embedded Kafka broker on " + bootstrapServers()
                + " did not accept clients within " + startTimeout.toMillis() + " ms"
                + (last == null ? "" : ": " + last), last);
    }

    /**
     * Returns the bootstrap servers string {@code host:port} that clients (in this or another process) use to
     * connect.
     *
     * @return {@code host:port} of the client listener
     * @throws IllegalStateException if the broker has not been started (or its start failed)
     */
    public String bootstrapServers() {
        int p = port;
        if (p < 0) {
            throw new IllegalStateException("EmbeddedKafkaBroker has not been started");
        }
        return host + ":" + p;
    }

    /**
     * The {@code host:port} of the SASL_PLAINTEXT listener where the {@link Builder#scramUser} users log in with
     * {@link #SCRAM_MECHANISM} and every request is checked against ACLs.
     *
     * @throws IllegalStateException if the broker has not been started or has no SCRAM users
     */
    public String saslBootstrapServers() {
        int p = saslPort;
        if (p < 0) {
            throw new IllegalStateException("EmbeddedKafkaBroker has no SASL listener (no scramUser) or has not started");
        }
        return host + ":" + p;
    }

    /**
     * Returns the port of the client listener.
     *
     * @return the bound port
     * @throws IllegalStateException if the broker has not been started
     */
    public int port() {
        int p = port;
        if (p < 0) {
            throw new IllegalStateException("EmbeddedKafkaBroker has not been started");
        }
        return p;
    }

    /**
     * Returns this node's id ({@link #NODE_ID} unless {@link Builder#cluster} set another).
     *
     * @return the node id
     */
    public int nodeId() {
        return nodeId;
    }

    /**
     * Returns the host that the listeners bind to and that is advertised to clients.
     *
     * @return the host name or address
     */
    public String host() {
        return host;
    }

    /**
     * Returns the data directory: the one given to the builder, or the temporary one created by {@link #start()}.
     *
     * @return the data directory
     * @throws IllegalStateException if no data directory was given and the broker has not been started
     */
    public Path dataDir() {
        Path d = dataDir != null ? dataDir : requestedDataDir;
        if (d == null) {
            throw new IllegalStateException("EmbeddedKafkaBroker has not been started (temporary data directory)");
        }
        return d;
    }

    /**
     * Returns the KRaft cluster id, new when the storage was formatted by this start, read from
     * {@code meta.properties} when it was reused.
     *
     * @return the cluster id
     * @throws IllegalStateException if the broker has not been started
     */
    public String clusterId() {
        String id = clusterId;
        if (id == null) {
            throw new IllegalStateException("EmbeddedKafkaBroker has not been started");
        }
        return id;
    }

    /**
     * Tells whether the broker has started and has not been closed.
     *
     * @return {@code true} between a successful {@link #start()} and {@link #close()}
     */
    public boolean isRunning() {
        synchronized (lifecycleLock) {
            return state == State.RUNNING;
        }
    }

    /**
     * Shuts the broker down (controlled shutdown, then the controller), waits for it to stop and, when the data
     * directory is temporary, deletes it. Idempotent; a no-op on a broker that was never started. After
     * {@code close()} the instance cannot be started again.
     *
     * @throws IllegalStateException if the temporary data directory cannot be deleted
     */
    @Override
    public void close() {
        synchronized (lifecycleLock) {
            if (state == State.CLOSED) {
                return;
            }
            state = State.CLOSED;
            try {
                if (server != null) {
                    long startNanos = System.nanoTime();
                    server.shutdown();
                    server.awaitShutdown();
                    LOG.info("Embedded Kafka broker on {} shut down in {} ms", host + ":" + port,
                            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
                }
            } finally {
                server = null;
                unlockDataDir();
                if (requestedDataDir == null && dataDir != null) {
                    deleteRecursively(dataDir);
                }
            }
        }
    }

    /**
     * Locks the data directory for the lifetime of this broker. Kafka's own {@code .lock} is taken by the broker
     * part only after the controller has already opened the metadata log, so without this lock a second broker on
     * the same directory would write to the first one's metadata log before failing.
     */
    private void lockDataDir() {
        Path lockFile = dataDir.resolve(LOCK_FILE);
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            if (channel.tryLock() == null) {
                throw new IllegalStateException("Data directory " + dataDir
                        + " is in use by an embedded Kafka broker in another process");
            }
            lockChannel = channel;
        } catch (OverlappingFileLockException e) {
            closeChannel(channel);
            throw new IllegalStateException("Data directory " + dataDir
                    + " is in use by another embedded Kafka broker in this JVM", e);
        } catch (IOException e) {
            closeChannel(channel);
            throw new IllegalStateException("Cannot lock the data directory " + dataDir + ": " + e, e);
        } catch (IllegalStateException e) {
            closeChannel(channel);
            throw e;
        }
    }

    private void unlockDataDir() {
        if (lockChannel != null) {
            closeChannel(lockChannel); // releases the lock
            lockChannel = null;
        }
    }

    private static void closeChannel(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            LOG.warn("Cannot close {}: {}", channel, e.toString());
        }
    }

    private void closeQuietlyAfterFailedStart(Throwable failure) {
        try {
            close();
        } catch (RuntimeException | Error e) {
            failure.addSuppressed(e);
        }
        port = -1;
    }

    // ----------------------------------------------------------------------------------------------------------

    private static Path createTempDataDir() {
        try {
            return Files.createTempDirectory("embedded-kafka-");
        } catch (IOException e) {
            throw new IllegalStateException("Cannot create a temporary data directory: " + e, e);
        }
    }

    private static Path createDirectories(Path dir) {
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot create the directory " + dir + ": " + e, e);
        }
    }

    /** A cluster id that every node computes alike from the quorum's voters, so that nodes formatted apart agree. */
    static String clusterIdOf(String voters) {
        // like Uuid.randomUuid(), never an id that starts with '-': the storage tool would read it as an option
        for (int attempt = 0; ; attempt++) {
            java.util.UUID uuid = java.util.UUID.nameUUIDFromBytes(("streamtune-kraft:" + attempt + ":" + voters)
                    .getBytes(StandardCharsets.UTF_8));
            String id = new Uuid(uuid.getMostSignificantBits(), uuid.getLeastSignificantBits()).toString();
            if (!id.startsWith("-")) {
                return id;
            }
        }
    }

    private static String readClusterId(Path metaProperties, int nodeId) {
        Properties meta = new Properties();
        try (InputStream in = Files.newInputStream(metaProperties)) {
            meta.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read " + metaProperties + ": " + e, e);
        }
        String id = meta.getProperty("cluster.id");
        if (id == null || id.isBlank()) {
            throw new IllegalStateException(metaProperties + " has no cluster.id; the data directory is not a "
                    + "KRaft storage directory");
        }
        String owner = meta.getProperty("node.id");
        if (owner != null && !owner.equals(String.valueOf(nodeId))) {
            throw new IllegalStateException(metaProperties + " belongs to node " + owner + ", not to node " + nodeId);
        }
        return id;
    }

    private static int freePort(String host) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("Cannot find a free port on " + host + ": " + e, e);
        }
    }

    private static int checkPortFree(String host, int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(host), port));
            return port;
        } catch (IOException e) {
            throw new IllegalStateException("Cannot start the embedded Kafka broker: port " + port + " on " + host
                    + " is already in use or cannot be bound (" + e.getMessage() + ")", e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e) : e + " (caused by " + t + ")";
    }

    private static void deleteIfExists(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("Cannot delete {}: {}", file, e.toString());
        }
    }

    private static void deleteRecursively(Path dir) {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE;
                    }
                    throw e;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    if (e != null && !(e instanceof NoSuchFileException)) {
                        throw e;
                    }
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException e) {
            LOG.debug("Temporary data directory {} already gone", dir);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the temporary data directory " + dir, e);
        }
    }

    /**
     * Sets the server-side Kafka loggers that have no explicit level to WARN, when SLF4J is bound to Logback.
     * Uses reflection so that Logback stays an optional, runtime-only dependency.
     */
    private static void quietServerLoggers() {
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (!factory.getClass().getName().equals("ch.qos.logback.classic.LoggerContext")) {
            return;
        }
        try {
            Class<?> levelClass = Class.forName("ch.qos.logback.classic.Level", true,
                    factory.getClass().getClassLoader());
            Object warn = levelClass.getField("WARN").get(null);
            for (String name : SERVER_LOGGERS) {
                Logger logger = factory.getLogger(name);
                Method getLevel = logger.getClass().getMethod("getLevel");
                // only quieten a logger that would log INFO: an inherited WARN or ERROR (e.g. from org.apache.kafka) stays
                if (getLevel.invoke(logger) == null && logger.isInfoEnabled()) {
                    logger.getClass().getMethod("setLevel", levelClass).invoke(logger, warn);
                }
            }
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.debug("Cannot quieten the Kafka server loggers through Logback: {}", e.toString());
        }
    }

    /**
     * Suppresses Kafka's process-terminating fault handling ({@link Exit#exit}/{@link Exit#halt}) while a broker
     * starts, so that a start-up failure surfaces as an exception from {@link #start()} instead of ending the JVM.
     * The procedures are JVM-global: they are installed while at least one broker is starting and reset to Kafka's
     * defaults (which terminate the JVM) afterwards.
     */
    private static final class ExitGuard implements AutoCloseable {
        private static final Set<ExitGuard> ACTIVE = new HashSet<>(); // guarded by ExitGuard.class

        private final AtomicReference<String> request = new AtomicReference<>();

        static ExitGuard install() {
            synchronized (ExitGuard.class) {
                if (ACTIVE.isEmpty()) {
                    Exit.setExitProcedure((code, message) -> onTerminate("exit", code, message));
                    Exit.setHaltProcedure((code, message) -> onTerminate("halt", code, message));
                }
                ExitGuard guard = new ExitGuard();
                ACTIVE.add(guard);
                return guard;
            }
        }

        private static void onTerminate(String kind, int code, String message) {
            String text = "Kafka requested JVM " + kind + "(" + code + ")" + (message == null ? "" : ": " + message)
                    + " (see the preceding 'Encountered fatal fault' log)";
            LOG.error("{}; suppressed during embedded broker start-up, start() will fail", text);
            synchronized (ExitGuard.class) {
                for (ExitGuard guard : ACTIVE) {
                    guard.request.compareAndSet(null, text);
                }
            }
        }

        String request() {
            return request.get();
        }

        @Override
        public void close() {
            synchronized (ExitGuard.class) {
                ACTIVE.remove(this);
                if (ACTIVE.isEmpty()) {
                    Exit.resetExitProcedure();
                    Exit.resetHaltProcedure();
                }
            }
        }
    }

    /**
     * Builder for {@link EmbeddedKafkaBroker}. Not thread-safe; each {@link #build()} returns a new, unstarted
     * broker.
     */
    public static final class Builder {
        private String host = "localhost";
        private int port;
        private Path dataDir;
        private final Map<String, String> properties = new LinkedHashMap<>();
        private final Map<String, String> scramUsers = new LinkedHashMap<>();
        private Duration startTimeout = DEFAULT_START_TIMEOUT;
        private boolean quietLogging = true;
        private int nodeId = NODE_ID;
        private final Map<Integer, String> voters = new LinkedHashMap<>();
        private String clusterId;

        private Builder() {
        }

        /**
         * Makes this broker one node of a multi-node KRaft cluster in which every node is a broker and a controller.
         *
         * @param nodeId this node's id, one of the voters
         * @param quorumVoters the static controller quorum, {@code id@host:port} per node separated by commas (Kafka's
         *        {@code controller.quorum.voters}); this node's controller listener binds to its own entry's port. With
         *        three or more voters, topics default to 3 replicas with {@code min.insync.replicas} 2 (internal topics too)
         * @return this builder
         * @throws IllegalArgumentException if the voters are malformed
         */
        public Builder cluster(int nodeId, String quorumVoters) {
            Objects.requireNonNull(quorumVoters, "quorumVoters");
            if (nodeId < 0) {
                throw new IllegalArgumentException("node id must be >= 0, was " + nodeId);
            }
            voters.clear();
            for (String voter : quorumVoters.split(",")) {
                String v = voter.trim();
                int at = v.indexOf('@');
                int colon = v.lastIndexOf(':');
                if (at <= 0 || colon <= at + 1 || colon == v.length() - 1) {
                    throw new IllegalArgumentException("a quorum voter is id@host:port, was '" + v + "' in '" + quorumVoters + "'");
                }
                try {
                    int id = Integer.parseInt(v.substring(0, at));
                    int port = Integer.parseInt(v.substring(colon + 1));
                    if (port < 1 || port > 65535 || voters.put(id, v.substring(at + 1)) != null) {
                        throw new IllegalArgumentException("voter '" + v + "': a port 1..65535 and each id once");
                    }
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("a quorum voter is id@host:port, was '" + v + "'", e);
                }
            }
            if (!voters.containsKey(nodeId)) {
                throw new IllegalArgumentException("node " + nodeId + " is not one of the voters '" + quorumVoters + "'");
            }
            this.nodeId = nodeId;
            return this;
        }

        /**
         * Sets the cluster id used when the storage is formatted (and checked when it is reused). By default a single
         * node takes a random one, and the nodes of a {@link #cluster} all derive the same one from the voters.
         *
         * @param clusterId a Kafka cluster id (22 characters of URL-safe base64), or {@code null} for the default
         * @return this builder
         */
        public Builder clusterId(String clusterId) {
            if (clusterId != null && (clusterId.startsWith("-") || Uuid.fromString(clusterId) == null)) {
                throw new IllegalArgumentException("a cluster id cannot start with '-', was " + clusterId);
            }
            this.clusterId = clusterId;
            return this;
        }

        /**
         * Sets the client listener port.
         *
         * @param port 0 (the default) to pick a free port at start, or a port in 1..65535
         * @return this builder
         * @throws IllegalArgumentException if the port is out of range
         */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535, was " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * Sets the data directory, created if missing and never deleted by the broker.
         *
         * @param dataDir the directory, or {@code null} (the default) for a temporary directory that
         *        {@link EmbeddedKafkaBroker#close()} deletes
         * @return this builder
         */
        public Builder dataDir(Path dataDir) {
            this.dataDir = dataDir;
            return this;
        }

        /**
         * Sets the host that both listeners bind to and that is advertised to clients.
         *
         * @param host a host name or address resolvable by the clients, {@code localhost} by default; not a
         *        wildcard address such as {@code 0.0.0.0}, which cannot be advertised
         * @return this builder
         * @throws IllegalArgumentException if the host is blank or a wildcard address
         */
        public Builder host(String host) {
            Objects.requireNonNull(host, "host");
            if (host.isBlank() || host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
                throw new IllegalArgumentException("host must be an advertisable host name or address, was '"
                        + host + "'");
            }
            this.host = host;
            return this;
        }

        /**
         * Adds or overrides a broker property (e.g. {@code log.retention.ms}, {@code num.partitions}).
         *
         * @param key the Kafka broker config name
         * @param value its value
         * @return this builder
         * @throws IllegalArgumentException for the properties that the broker sets itself: {@code process.roles},
         *         {@code node.id}, {@code broker.id}, the listener settings, {@code controller.quorum.*} voters and
         *         bootstrap servers, and the log/metadata directories
         */
        public Builder property(String key, String value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
            if (RESERVED_PROPERTIES.contains(key)) {
                throw new IllegalArgumentException("Broker property '" + key + "' is set by EmbeddedKafkaBroker "
                        + "itself and cannot be overridden");
            }
            properties.put(key, value);
            return this;
        }

        /**
         * Sets how long {@link EmbeddedKafkaBroker#start()} may take before failing (60 s by default).
         *
         * @param timeout a positive duration
         * @return this builder
         */
        public Builder startTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startTimeout must be positive, was " + timeout);
            }
            this.startTimeout = timeout;
            return this;
        }

        /**
         * Whether to set the Kafka server loggers without an explicit level to WARN when SLF4J is bound to
         * Logback ({@code true} by default). Client loggers are left alone.
         *
         * @param quiet {@code false} to leave the logging configuration untouched
         * @return this builder
         */
        public Builder quietLogging(boolean quiet) {
            this.quietLogging = quiet;
            return this;
        }

        /**
         * Adds a SCRAM user: the broker then opens a SASL_PLAINTEXT listener ({@link #saslBootstrapServers()}) with
         * {@link #SCRAM_MECHANISM} and turns on the standard ACL authorizer (no ACL, no access; the plaintext listener
         * stays a super user's). Only on a new data directory: the credentials are written when the storage is formatted.
         *
         * @param user the user name
         * @param password the password
         * @return this builder
         */
        public Builder scramUser(String user, String password) {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
            if (!user.matches("[A-Za-z0-9_-]+") || password.isEmpty() || password.contains(",") || password.contains("]")) {
                throw new IllegalArgumentException("a SCRAM user is letters, digits, '_' or '-', with a password without ',' "
                        + "or ']'");
            }
            scramUsers.put(user, password);
            return this;
        }

        /**
         * Builds an unstarted broker; call {@link EmbeddedKafkaBroker#start()} next.
         *
         * @return a new broker
         */
        public EmbeddedKafkaBroker build() {
            return new EmbeddedKafkaBroker(this);
        }
    }
}
