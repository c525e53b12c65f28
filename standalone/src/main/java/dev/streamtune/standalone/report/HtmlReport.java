package dev.streamtune.standalone.report;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A self-contained HTML report: headings, paragraphs, tables and PNG charts written beside the HTML file. Built by {@code demo}
 * and {@code eval}. (API fixed; the implementation is being written.)
 */
public final class HtmlReport {
  /** One point of a series; {@code x} is in the chart's x unit (seconds since start, or labelled samples). */
  public record Point(double x, double y) {}

  /** A vertical marker on a line chart: {@code kind} is one of drift, retrain, promotion, rejection, failure, shift. */
  public record Marker(double x, String kind, String label) {}

  private HtmlReport(String title) {}

  public static HtmlReport titled(String title) {
    return new HtmlReport(title);
  }

  public HtmlReport heading(String text) {
    throw new UnsupportedOperationException("not built yet");
  }

  public HtmlReport paragraph(String text) {
    throw new UnsupportedOperationException("not built yet");
  }

  /** A line chart of one or more named series (e.g. accuracy per model version) with event markers. */
  public HtmlReport lineChart(String title, String xLabel, String yLabel, Map<String, List<Point>> series, List<Marker> markers) {
    throw new UnsupportedOperationException("not built yet");
  }

  /** A grouped bar chart: one group per category, one bar per series (values in category order). */
  public HtmlReport barChart(String title, String yLabel, List<String> categories, Map<String, List<Double>> series) {
    throw new UnsupportedOperationException("not built yet");
  }

  public HtmlReport table(String caption, List<String> header, List<List<String>> rows) {
    throw new UnsupportedOperationException("not built yet");
  }

  /** Writes {@code dir/report.html} and its PNG charts into {@code dir}; returns the HTML file. */
  public Path write(Path dir) {
    throw new UnsupportedOperationException("not built yet");
  }
}
