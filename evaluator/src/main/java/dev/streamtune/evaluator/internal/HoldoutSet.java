package dev.streamtune.evaluator.internal;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The held-out samples the gate scores on: the newest in arrival order, plus a reservoir of older ones so that earlier domains
 * stay represented. Pure (no I/O); not thread-safe: one owner.
 */
public final class HoldoutSet {
  /** A held-out sample with its encoded image (validated by ingest). */
  public record Item(String id, Instant at, String label, String domain, byte[] image) {}

  /** The two sets the gate compares on. */
  public record Split(List<Item> recent, List<Item> guard) {}

  private final int recentMax;
  private final int guardMax;
  private final Deque<Item> newest = new ArrayDeque<>();
  private final List<Item> reservoir = new ArrayList<>();
  private final SplittableRandom random = new SplittableRandom(17);
  private long evicted;

  public HoldoutSet(int recentMax, int guardMax) {
    this.recentMax = recentMax;
    this.guardMax = guardMax;
  }

  public void add(Item item) {
    newest.addLast(item);
    if (newest.size() > recentMax + guardMax) {
      Item old = newest.removeFirst();
      evicted++;
      // reservoir sampling over everything that left the newest queue
      if (reservoir.size() < guardMax) {
        reservoir.add(old);
      } else {
        long j = random.nextLong(evicted);
        if (j < guardMax) {
          reservoir.set((int) j, old);
        }
      }
    }
  }

  public int size() {
    return newest.size() + reservoir.size();
  }

  /**
   * Recent = samples at or after {@code recentFrom} (the newest {@code recentMax}); guard = samples before {@code guardBefore}
   * (the newest {@code guardMax}). Samples in between are in neither: they may be of either domain. With no boundary
   * (null), the newest half is recent and the rest guard.
   */
  public Split split(Instant recentFrom, Instant guardBefore) {
    List<Item> all = new ArrayList<>(reservoir);
    all.addAll(newest);
    all.sort(Comparator.comparing(Item::at));
    List<Item> recent = new ArrayList<>();
    List<Item> guard = new ArrayList<>();
    if (recentFrom == null) {
      int half = all.size() / 2;
      guard.addAll(all.subList(0, half));
      recent.addAll(all.subList(half, all.size()));
    } else {
      Instant cut = guardBefore == null || guardBefore.isAfter(recentFrom) ? recentFrom : guardBefore;
      for (Item i : all) {
        if (!i.at().isBefore(recentFrom)) {
          recent.add(i);
        } else if (i.at().isBefore(cut)) {
          guard.add(i);
        }
      }
    }
    return new Split(tail(recent, recentMax), tail(guard, guardMax));
  }

  private static List<Item> tail(List<Item> l, int max) {
    return l.size() <= max ? l : new ArrayList<>(l.subList(l.size() - max, l.size()));
  }
}
