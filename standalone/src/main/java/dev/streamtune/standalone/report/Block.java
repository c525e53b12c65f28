package dev.streamtune.standalone.report;

import java.util.List;
import java.util.Map;

/** One piece of a report, in page order. Values are checked and copied by {@link HtmlReport} before they get here. */
sealed interface Block {
  record Heading(String text) implements Block {}

  record Paragraph(String text) implements Block {}

  record Line(String title, String xLabel, String yLabel, Map<String, List<HtmlReport.Point>> series,
      List<HtmlReport.Marker> markers) implements Block {}

  record Bar(String title, String yLabel, List<String> categories, Map<String, List<Double>> series) implements Block {}

  record Table(String caption, List<String> header, List<List<String>> rows) implements Block {}
}
