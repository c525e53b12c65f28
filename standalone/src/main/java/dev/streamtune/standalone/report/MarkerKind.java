package dev.streamtune.standalone.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.util.Locale;

/** The kinds of event a line chart marks, each with its own colour and dash so that they read apart in print too. */
enum MarkerKind {
  SHIFT("shift", "domain shift", new Color(0x22, 0x22, 0x22), new float[] {10f, 4f}),
  DRIFT("drift", "drift alarm", new Color(0xff, 0x7f, 0x0e), new float[] {6f, 4f}),
  RETRAIN("retrain", "retrain (candidate)", new Color(0xb8, 0x86, 0x0b), new float[] {2f, 3f}),
  PROMOTION("promotion", "promotion", new Color(0x2c, 0xa0, 0x2c), new float[] {8f, 3f, 2f, 3f}),
  REJECTION("rejection", "rejected by the gate", new Color(0xd6, 0x27, 0x28), new float[] {8f, 3f, 2f, 3f}),
  FAILURE("failure", "training failed", new Color(0x8b, 0x00, 0x00), new float[] {2f, 2f});

  final String id;
  final String description;
  final Color color;
  private final float[] dash;

  MarkerKind(String id, String description, Color color, float[] dash) {
    this.id = id;
    this.description = description;
    this.color = color;
    this.dash = dash;
  }

  BasicStroke stroke() {
    return new BasicStroke(this == SHIFT ? 2.0f : 1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, dash.clone(), 0f);
  }

  String hex() {
    return String.format("#%02x%02x%02x", color.getRed(), color.getGreen(), color.getBlue());
  }

  /** @throws IllegalArgumentException naming the kind and the ones known */
  static MarkerKind of(String kind) {
    if (kind != null) {
      String k = kind.trim().toLowerCase(Locale.ROOT);
      for (MarkerKind m : values()) {
        if (m.id.equals(k)) {
          return m;
        }
      }
    }
    throw new IllegalArgumentException("unknown marker kind '" + kind + "': use one of drift, retrain, promotion, rejection, "
        + "failure, shift");
  }
}
