package dev.streamtune.standalone.imports;

import dev.streamtune.core.model.Network;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;

/**
 * The freeze boundaries a fine-tune of an imported network may pick among, top first, as the method teaches: the embedding
 * (head only), then the boundary below the next weighted layer (that layer and the head), then below the next one. A boundary
 * is a <em>cut</em>: every path from the input to the top passes through it, so freezing it and everything below it leaves a
 * whole top part to train (a residual block's output, never the middle of a block). At most three.
 */
final class Boundaries {
  static final int MAX = 3;

  private Boundaries() {}

  static List<String> candidates(Network net, String embedding) {
    List<String> out = new ArrayList<>(List.of(embedding));
    String from = embedding;
    while (out.size() < MAX) {
      String weighted = null;
      for (String v = from; v != null && weighted == null; v = first(net, v)) {
        Layer l = net.layer(v);
        weighted = l != null && l.numParams() > 0 ? v : null;
      }
      String cut = null;
      for (String v = weighted == null ? null : first(net, weighted); v != null && cut == null; v = first(net, v)) {
        cut = isCut(net, v) ? v : null;
      }
      if (cut == null || out.contains(cut)) {
        break;
      }
      out.add(cut);
      // the next boundary frees the next weighted layer at or below this one
      from = cut;
    }
    return out;
  }

  private static String first(Network net, String v) {
    List<String> in = Heads.inputsOf(net, v);
    if (in.isEmpty()) {
      return null;
    }
    String f = in.get(0);
    return net.layerNames().contains(f) ? f : null;
  }

  /** Whether no layer outside {@code v} and its ancestors reads from one of its ancestors. */
  static boolean isCut(Network net, String v) {
    Set<String> anc = new HashSet<>();
    Deque<String> todo = new ArrayDeque<>(Heads.inputsOf(net, v));
    while (!todo.isEmpty()) {
      String a = todo.pop();
      if (anc.add(a)) {
        todo.addAll(Heads.inputsOf(net, a));
      }
    }
    for (String u : net.layerNames()) {
      if (u.equals(v) || anc.contains(u)) {
        continue;
      }
      for (String in : Heads.inputsOf(net, u)) {
        if (anc.contains(in)) {
          return false;
        }
      }
    }
    return true;
  }
}
