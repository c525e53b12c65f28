package dev.streamtune.standalone.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a process's CPU goes, by component: the CPU time of every thread of this process (Java and native alike: OpenMP and
 * OpenBLAS workers, the JIT compilers) read from {@code /proc/self/task/<tid>/stat}, grouped by the thread's name. Linux only;
 * elsewhere every snapshot is empty. A thread that ended between two snapshots is not counted.
 */
final class ThreadCpu {
  /** The components, in the order they are printed. */
  static final List<String> COMPONENTS = List.of("inference", "http", "grpc", "events", "swaps", "clients", "broker", "jit",
      "gc", "other");
  /** Clock ticks a second of {@code /proc} times: 100 on every Linux this runs on (USER_HZ). */
  private static final double TICKS = 100.0;

  /** One thread's name and CPU ticks (user + system). */
  private record Sample(String comm, long ticks) {}

  private final Map<Integer, Sample> threads;

  private ThreadCpu(Map<Integer, Sample> threads) {
    this.threads = threads;
  }

  /** The CPU ticks of every thread of this process now. */
  static ThreadCpu snapshot() {
    Map<Integer, Sample> out = new HashMap<>();
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
      for (Path t : tasks) {
        try {
          String stat = Files.readString(t.resolve("stat"), StandardCharsets.US_ASCII);
          int open = stat.indexOf('(');
          int close = stat.lastIndexOf(')');
          String[] f = stat.substring(close + 2).split(" ");
          // after "pid (comm) ": state is field 3, utime 14 and stime 15 (1-based over the whole line)
          out.put(Integer.parseInt(t.getFileName().toString()),
              new Sample(stat.substring(open + 1, close), Long.parseLong(f[11]) + Long.parseLong(f[12])));
        } catch (IOException | RuntimeException e) {
          // the thread ended while it was read
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: nothing to attribute
    }
    return new ThreadCpu(out);
  }

  /** CPU seconds by component between {@code before} and this snapshot; every component present, zero when idle. */
  Map<String, Double> since(ThreadCpu before) {
    Map<String, Double> out = new LinkedHashMap<>();
    COMPONENTS.forEach(c -> out.put(c, 0.0));
    threads.forEach((tid, now) -> {
      Sample was = before.threads.get(tid);
      long ticks = now.ticks() - (was != null && was.comm().equals(now.comm()) ? was.ticks() : 0);
      out.merge(component(now.comm()), ticks / TICKS, Double::sum);
    });
    return out;
  }

  /**
   * The component of a thread by its name (at most 15 characters, as Linux keeps it). Native threads inherit the name of the
   * thread that started them, so the inference worker's OpenMP team is {@code serving-inferen}; threads the JVM's launcher
   * started without a name are {@code java} and are the native pools (OpenBLAS) here.
   */
  static String component(String comm) {
    if (comm.startsWith("serving-inferen") || comm.equals("java")) {
      return "inference";
    }
    if (comm.startsWith("serving-http") || comm.equals("HTTP-Dispatcher")) {
      return "http";
    }
    if (comm.startsWith("grpc-")) {
      return "grpc";
    }
    if (comm.startsWith("serving-events") || comm.startsWith("kafka-producer-")) {
      return "events";
    }
    if (comm.startsWith("serving-promoti") || comm.startsWith("serving-candida") || comm.startsWith("serving-shadow")) {
      return "swaps";
    }
    if (comm.startsWith("bench-")) {
      return "clients";
    }
    if (comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler") || comm.startsWith("Sweeper")) {
      return "jit";
    }
    if (comm.startsWith("GC Thread") || comm.startsWith("G1 ") || comm.startsWith("VM Thread") || comm.startsWith("JavaCPP")
        || comm.startsWith("Deallocator") || comm.startsWith("Common-Cleaner")) {
      return "gc";
    }
    if (comm.startsWith("data-plane-") || comm.startsWith("kafka-") || comm.startsWith("broker-") || comm.startsWith("controller-")
        || comm.startsWith("quorum-") || comm.startsWith("Persister") || comm.startsWith("AddPartitions")
        || comm.startsWith("TxnMarker") || comm.startsWith("executor-") || comm.startsWith("ExpirationReap")
        || comm.startsWith("group-coordina") || comm.startsWith("share-") || comm.startsWith("raft-")
        || comm.startsWith("LogDirFailure") || comm.startsWith("metrics-meter")) {
      return "broker";
    }
    return "other";
  }
}
