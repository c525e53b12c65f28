package dev.streamtune.standalone.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A self-contained HTML report: headings, paragraphs, tables and PNG charts written beside the HTML file. Built by {@code demo}
 * and {@code eval}.
 *
 * <p>The HTML has its CSS inline, no JavaScript and no link outside its directory, so it opens from a file anywhere, offline.
 * Every text given to the builder is HTML-escaped. Charts are drawn with JFreeChart in headless mode (no display needed) and
 * saved as {@code chart-1.png}, {@code chart-2.png}, … in the order they were added.
 *
 * <p>Usage: {@code HtmlReport.titled("Demo").paragraph("…").lineChart(…).table(…).write(dir)}. A builder is not thread-safe;
 * build it on one thread. Arguments are checked when added, so a bad one fails where it is passed, with the name of the value.
 */
public final class HtmlReport {
  static {
    // before any AWT class is touched: charts render into images, never onto a screen, and a server has no display
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  /** Size of every chart image, in pixels. */
  static final int CHART_WIDTH = 900;
  static final int CHART_HEIGHT = 400;

  /** One point of a series; {@code x} is in the chart's x unit (seconds since start, or labelled samples). */
  public record Point(double x, double y) {}

  /** A vertical marker on a line chart: {@code kind} is one of drift, retrain, promotion, rejection, failure, shift. */
  public record Marker(double x, String kind, String label) {}

  private final String title;
  private final List<Block> blocks = new ArrayList<>();

  private HtmlReport(String title) {
    this.title = requireText(title, "title");
  }

  /** Starts a report; {@code title} is the page title and its first heading. */
  public static HtmlReport titled(String title) {
    return new HtmlReport(title);
  }

  /** A section heading. */
  public HtmlReport heading(String text) {
    blocks.add(new Block.Heading(requireText(text, "heading")));
    return this;
  }

  /** A paragraph of plain text (escaped; line breaks are kept). */
  public HtmlReport paragraph(String text) {
    blocks.add(new Block.Paragraph(Objects.requireNonNull(text, "paragraph text")));
    return this;
  }

  /**
   * A line chart of one or more named series (e.g. accuracy per model version) with event markers.
   *
   * <p>Series are drawn in the map's iteration order. A point with a NaN {@code y} leaves a gap; {@code x} must be finite. When
   * every {@code y} lies in [0, 1] (accuracies, shares) the y axis spans exactly 0–1, so charts of one report compare by eye.
   * The x axis covers the points and the markers. Each marker is a dashed vertical line coloured by its kind, with its label
   * beside it; the chart's legend keys the series and the marker kinds, and the HTML lists the markers under the chart.
   *
   * @throws IllegalArgumentException for a blank title, a non-finite x, or a marker of an unknown kind
   */
  public HtmlReport lineChart(String title, String xLabel, String yLabel, Map<String, List<Point>> series, List<Marker> markers) {
    requireText(title, "chart title");
    Objects.requireNonNull(series, "series");
    Objects.requireNonNull(markers, "markers");
    Map<String, List<Point>> s = new LinkedHashMap<>();
    for (Map.Entry<String, List<Point>> e : series.entrySet()) {
      String name = requireText(e.getKey(), "series name");
      List<Point> points = List.copyOf(Objects.requireNonNull(e.getValue(), "points of series " + name));
      for (Point p : points) {
        if (!Double.isFinite(p.x())) {
          throw new IllegalArgumentException("series '" + name + "' of chart '" + title + "' has a point with x = " + p.x());
        }
      }
      s.put(name, points);
    }
    for (Marker m : markers) {
      Objects.requireNonNull(m, "marker");
      MarkerKind.of(m.kind());
      if (!Double.isFinite(m.x())) {
        throw new IllegalArgumentException("marker '" + m.label() + "' of chart '" + title + "' has x = " + m.x());
      }
    }
    blocks.add(new Block.Line(title, nullToEmpty(xLabel), nullToEmpty(yLabel), s, List.copyOf(markers)));
    return this;
  }

  /**
   * A grouped bar chart: one group per category, one bar per series (values in category order).
   *
   * @throws IllegalArgumentException when a series does not have one value per category, or a value is not finite
   */
  public HtmlReport barChart(String title, String yLabel, List<String> categories, Map<String, List<Double>> series) {
    requireText(title, "chart title");
    List<String> cats = List.copyOf(Objects.requireNonNull(categories, "categories"));
    Objects.requireNonNull(series, "series");
    Map<String, List<Double>> s = new LinkedHashMap<>();
    for (Map.Entry<String, List<Double>> e : series.entrySet()) {
      String name = requireText(e.getKey(), "series name");
      List<Double> values = List.copyOf(Objects.requireNonNull(e.getValue(), "values of series " + name));
      if (values.size() != cats.size()) {
        throw new IllegalArgumentException("series '" + name + "' of chart '" + title + "' has " + values.size()
            + " values for " + cats.size() + " categories");
      }
      for (Double v : values) {
        if (!Double.isFinite(v)) {
          throw new IllegalArgumentException("series '" + name + "' of chart '" + title + "' has the value " + v);
        }
      }
      s.put(name, values);
    }
    blocks.add(new Block.Bar(title, nullToEmpty(yLabel), cats, s));
    return this;
  }

  /**
   * A table with a header row; {@code caption} may be empty. Cells are plain text (escaped).
   *
   * @throws IllegalArgumentException when a row does not have one cell per header column
   */
  public HtmlReport table(String caption, List<String> header, List<List<String>> rows) {
    List<String> h = List.copyOf(Objects.requireNonNull(header, "header"));
    if (h.isEmpty()) {
      throw new IllegalArgumentException("table '" + caption + "' has no columns");
    }
    List<List<String>> r = new ArrayList<>();
    for (int i = 0; i < Objects.requireNonNull(rows, "rows").size(); i++) {
      List<String> row = rows.get(i);
      if (row.size() != h.size()) {
        throw new IllegalArgumentException("row " + (i + 1) + " of table '" + caption + "' has " + row.size() + " cells for "
            + h.size() + " columns");
      }
      r.add(row.stream().map(HtmlReport::nullToEmpty).toList());
    }
    blocks.add(new Block.Table(nullToEmpty(caption), h, List.copyOf(r)));
    return this;
  }

  /**
   * Writes {@code dir/report.html} and its PNG charts into {@code dir} (created if missing; files of an earlier report with the
   * same names are replaced); returns the HTML file.
   *
   * @throws UncheckedIOException naming the file that could not be written
   */
  public Path write(Path dir) {
    Objects.requireNonNull(dir, "dir");
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the report directory " + dir, e);
    }
    List<String> chartFiles = new ArrayList<>();
    int n = 0;
    for (Block b : blocks) {
      if (b instanceof Block.Line || b instanceof Block.Bar) {
        String name = "chart-" + (++n) + ".png";
        Path png = dir.resolve(name);
        try {
          Charts.save(b, png, CHART_WIDTH, CHART_HEIGHT);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot write the chart " + png, e);
        }
        chartFiles.add(name);
      }
    }
    Path html = dir.resolve("report.html");
    Path tmp = dir.resolve("report.html.tmp");
    try {
      Files.writeString(tmp, HtmlWriter.render(title, blocks, chartFiles, CHART_WIDTH, CHART_HEIGHT), StandardCharsets.UTF_8);
      // a reader (a browser left open on it) never sees half a page
      Files.move(tmp, html, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the report " + html, e);
    }
    return html;
  }

  private static String requireText(String s, String what) {
    if (s == null || s.isBlank()) {
      throw new IllegalArgumentException(what + " must not be blank");
    }
    return s;
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
