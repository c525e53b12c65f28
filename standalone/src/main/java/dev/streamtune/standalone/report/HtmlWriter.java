package dev.streamtune.standalone.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/** Renders the blocks as one HTML page: inline CSS, no script, every given text escaped. */
final class HtmlWriter {
  private static final String CSS = """
      body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;max-width:1000px;\
      margin:2em auto;padding:0 1em;line-height:1.45}
      h1{font-size:1.6em;border-bottom:2px solid #1f77b4;padding-bottom:.2em}
      h2{font-size:1.25em;margin-top:1.8em}
      figure{margin:1.2em 0}
      figure img{max-width:100%;height:auto;border:1px solid #ddd}
      figcaption{font-size:.9em;color:#555}
      table{border-collapse:collapse;margin:1em 0;font-size:.9em}
      caption{text-align:left;font-weight:600;padding:.3em 0}
      th,td{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
      th{background:#f0f3f7}
      tr:nth-child(even) td{background:#fafafa}
      td.num{text-align:right;font-variant-numeric:tabular-nums}
      .key{font-size:.85em;color:#444}
      .key span{display:inline-block;margin-right:1.2em}
      .swatch{display:inline-block;width:1.6em;height:0;border-top:3px dashed;vertical-align:middle;margin-right:.35em}
      details{font-size:.9em}
      """;
  private static final Pattern NUMBER = Pattern.compile("[-+]?(\\d[\\d,]*)?(\\.\\d+)?(e[-+]?\\d+)?\\s*%?",
      Pattern.CASE_INSENSITIVE);

  private HtmlWriter() {}

  static String render(String title, List<Block> blocks, List<String> chartFiles, int width, int height) {
    StringBuilder b = new StringBuilder(8_192);
    b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>").append(escape(title)).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n")
        .append("<h1>").append(escape(title)).append("</h1>\n");
    Iterator<String> charts = chartFiles.iterator();
    for (Block block : blocks) {
      if (block instanceof Block.Heading h) {
        b.append("<h2>").append(escape(h.text())).append("</h2>\n");
      } else if (block instanceof Block.Paragraph p) {
        b.append("<p>").append(escape(p.text()).replace("\n", "<br>\n")).append("</p>\n");
      } else if (block instanceof Block.Line l) {
        figure(b, charts.next(), l.title(), width, height);
        markers(b, l.markers());
      } else if (block instanceof Block.Bar bar) {
        figure(b, charts.next(), bar.title(), width, height);
      } else if (block instanceof Block.Table t) {
        table(b, t);
      }
    }
    b.append("</body>\n</html>\n");
    return b.toString();
  }

  private static void figure(StringBuilder b, String file, String title, int width, int height) {
    b.append("<figure><img src=\"").append(escape(file)).append("\" alt=\"").append(escape(title)).append("\" width=\"")
        .append(width).append("\" height=\"").append(height).append("\"><figcaption>").append(escape(title))
        .append("</figcaption></figure>\n");
  }

  /** The key of the marker kinds on the chart and the list of its markers, so an event can be read exactly, not only seen. */
  private static void markers(StringBuilder b, List<HtmlReport.Marker> markers) {
    if (markers.isEmpty()) {
      return;
    }
    List<HtmlReport.Marker> sorted = new ArrayList<>(markers);
    sorted.sort(Comparator.comparingDouble(HtmlReport.Marker::x));
    Set<MarkerKind> kinds = EnumSet.noneOf(MarkerKind.class);
    sorted.forEach(m -> kinds.add(MarkerKind.of(m.kind())));
    b.append("<p class=\"key\">");
    for (MarkerKind k : kinds) {
      b.append("<span><i class=\"swatch\" style=\"border-color:").append(k.hex()).append("\"></i>").append(escape(k.description))
          .append("</span>");
    }
    b.append("</p>\n<details><summary>").append(sorted.size()).append(sorted.size() == 1 ? " event" : " events")
        .append(" marked on the chart</summary>\n<table>\n<tr><th>x</th><th>kind</th><th>event</th></tr>\n");
    for (HtmlReport.Marker m : sorted) {
      MarkerKind k = MarkerKind.of(m.kind());
      b.append("<tr><td class=\"num\">").append(escape(formatX(m.x()))).append("</td><td><i class=\"swatch\" style=\"border-color:")
          .append(k.hex()).append("\"></i>").append(escape(k.id)).append("</td><td>")
          .append(escape(m.label() == null ? "" : m.label())).append("</td></tr>\n");
    }
    b.append("</table>\n</details>\n");
  }

  private static void table(StringBuilder b, Block.Table t) {
    b.append("<table>\n");
    if (!t.caption().isBlank()) {
      b.append("<caption>").append(escape(t.caption())).append("</caption>\n");
    }
    b.append("<tr>");
    t.header().forEach(h -> b.append("<th>").append(escape(h)).append("</th>"));
    b.append("</tr>\n");
    for (List<String> row : t.rows()) {
      b.append("<tr>");
      for (String cell : row) {
        b.append(isNumber(cell) ? "<td class=\"num\">" : "<td>").append(escape(cell)).append("</td>");
      }
      b.append("</tr>\n");
    }
    b.append("</table>\n");
  }

  private static boolean isNumber(String s) {
    return !s.isBlank() && s.chars().anyMatch(Character::isDigit) && NUMBER.matcher(s.trim()).matches();
  }

  private static String formatX(double x) {
    return x == Math.rint(x) && Math.abs(x) < 1e15 ? Long.toString((long) x) : String.format(Locale.ROOT, "%.1f", x);
  }

  /** Escapes text for HTML element content and double- or single-quoted attribute values. */
  static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
