package dev.streamtune.trainer;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The trainer's memory: the newest samples in arrival order, and a class-balanced reservoir of the samples that left it, so a
 * retrain can mix the new domain with earlier ones and not forget them. Pure; not thread-safe: one owner.
 */
public final class ReplayBuffer {
  /** A training sample, decoded. */
  public record Item(String id, Instant at, String label, String domain, float[] pixels) {}

  private final int recentCapacity;
  private final int reservoirPerClass;
  private final Deque<Item> recent = new ArrayDeque<>();
  private final Map<String, List<Item>> reservoir = new HashMap<>();
  private final Map<String, Long> seenPerClass = new HashMap<>();
  private final Set<String> labelsSeen = new LinkedHashSet<>();
  private final SplittableRandom random;

  public ReplayBuffer(int recentCapacity, int reservoirCapacity, int classes, long seed) {
    this.recentCapacity = recentCapacity;
    this.reservoirPerClass = Math.max(1, reservoirCapacity / Math.max(1, classes));
    this.random = new SplittableRandom(seed);
  }

  public void add(Item item) {
    labelsSeen.add(item.label());
    recent.addLast(item);
    if (recent.size() > recentCapacity) {
      Item old = recent.removeFirst();
      List<Item> r = reservoir.computeIfAbsent(old.label(), k -> new ArrayList<>());
      long seen = seenPerClass.merge(old.label(), 1L, Long::sum);
      if (r.size() < reservoirPerClass) {
        r.add(old);
      } else {
        long j = random.nextLong(seen);
        if (j < reservoirPerClass) {
          r.set((int) j, old);
        }
      }
    }
  }

  /**
   * Every label added so far, in the order each was first seen (kept after its samples left the buffer): new classes are
   * appended to a model's label set in this order.
   */
  public List<String> labelsInArrivalOrder() {
    return List.copyOf(labelsSeen);
  }

  public int recentSize() {
    return recent.size();
  }

  public int reservoirSize() {
    return reservoir.values().stream().mapToInt(List::size).sum();
  }

  /** Samples at or after a time (the new domain), oldest first. */
  public List<Item> since(Instant from) {
    return recent.stream().filter(i -> !i.at().isBefore(from)).toList();
  }

  /** How many samples {@link #since} would return, without gathering them (the trainer asks on every poll while armed). */
  public int countSince(Instant from) {
    int n = 0;
    for (Item i : recent) {
      if (!i.at().isBefore(from)) {
        n++;
      }
    }
    return n;
  }

  /**
   * Up to {@code n} samples from before a time, balanced over classes: from the reservoir and the part of the recent queue
   * before the time.
   */
  public List<Item> replay(Instant before, int n, long seed) {
    Map<String, List<Item>> byClass = new HashMap<>();
    reservoir.forEach((label, items) -> byClass.computeIfAbsent(label, k -> new ArrayList<>()).addAll(items));
    recent.stream().filter(i -> i.at().isBefore(before)).forEach(i -> byClass.computeIfAbsent(i.label(), k -> new ArrayList<>()).add(i));
    SplittableRandom rnd = new SplittableRandom(seed);
    List<List<Item>> pools = new ArrayList<>();
    for (List<Item> l : byClass.values()) {
      List<Item> copy = new ArrayList<>(l);
      Collections.shuffle(copy, new java.util.Random(rnd.nextLong()));
      pools.add(copy);
    }
    List<Item> out = new ArrayList<>(n);
    int round = 0;
    boolean any = true;
    while (out.size() < n && any) {
      any = false;
      for (List<Item> pool : pools) {
        if (round < pool.size() && out.size() < n) {
          out.add(pool.get(round));
          any = true;
        }
      }
      round++;
    }
    return out;
  }
}
