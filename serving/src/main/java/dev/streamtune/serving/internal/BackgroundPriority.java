package dev.streamtune.serving.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lowers the CPU priority of a background thread (model loads, warm-ups, shadow scoring) so that on a busy machine the request
 * path gets the cores first. Java's thread priorities do nothing on Linux, so this sets the thread's nice value, which Linux
 * keeps per thread: {@code renice} on the thread's id (read from {@code /proc/thread-self}). Threads the thread starts later
 * (the OpenMP team of its first parallel {@code output()}) inherit it. Best effort: where it cannot (not Linux, no
 * {@code renice}), it says so once and the thread runs at normal priority.
 */
final class BackgroundPriority {
  private static final Logger log = LoggerFactory.getLogger(BackgroundPriority.class);
  /** The nice value of background threads: about a tenth of a request thread's CPU share when both want a core. */
  static final int NICE = 10;
  private static volatile boolean warned;

  private BackgroundPriority() {}

  /**
   * Sets the calling thread's nice value to {@link #NICE}.
   *
   * @return true when it was set
   */
  static boolean lowerCurrentThread() {
    String tid;
    try {
      tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return said("no /proc/thread-self (" + e + ")");
    }
    try {
      Process p = new ProcessBuilder("renice", "-n", Integer.toString(NICE), "-p", tid).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return said("renice did not finish");
      }
      return p.exitValue() == 0 || said("renice failed: " + out);
    } catch (IOException e) {
      return said("cannot run renice (" + e.getMessage() + ")");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static boolean said(String why) {
    if (!warned) {
      warned = true;
      log.info("background threads (model loads, shadow scoring) run at normal CPU priority: {}", why);
    }
    return false;
  }
}
