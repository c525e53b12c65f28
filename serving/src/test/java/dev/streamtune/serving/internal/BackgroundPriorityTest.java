package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class BackgroundPriorityTest {
  /** The nice value of the calling thread, from its /proc stat (field 19). */
  private static int nice() throws Exception {
    String stat = Files.readString(Path.of("/proc/thread-self/stat"));
    return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16]);
  }

  @Test
  void shouldLowerOnlyTheCallingThreadsCpuPriorityOnLinux() throws Exception {
    assumeTrue(Files.exists(Path.of("/proc/thread-self/stat")), "Linux only");
    int mine = nice();
    AtomicReference<Object> seen = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        boolean lowered = BackgroundPriority.lowerCurrentThread();
        seen.set(new int[] {lowered ? 1 : 0, nice()});
      } catch (Exception e) {
        seen.set(e);
      }
    });
    t.start();
    t.join();
    assertThat(seen.get()).isInstanceOf(int[].class);
    int[] r = (int[]) seen.get();
    assertThat(r[0]).as("lowered").isEqualTo(1);
    assertThat(r[1]).isEqualTo(Math.max(mine, BackgroundPriority.NICE));
    assertThat(nice()).as("the calling test thread keeps its priority").isEqualTo(mine);
  }
}
