package dev.streamtune.standalone.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HtmlReportTest {
  @TempDir
  Path dir;

  private static Map<String, List<HtmlReport.Point>> accuracyPerVersion() {
    Map<String, List<HtmlReport.Point>> series = new LinkedHashMap<>();
    series.put("v1", List.of(new HtmlReport.Point(0, 0.88), new HtmlReport.Point(5, 0.87), new HtmlReport.Point(10, 0.41),
        new HtmlReport.Point(15, 0.40)));
    series.put("v2", List.of(new HtmlReport.Point(20, 0.79), new HtmlReport.Point(25, 0.81)));
    return series;
  }

  @Test
  void shouldWriteChartsAsDecodablePngsAndEscapeTextInTheHtml() throws IOException {
    List<HtmlReport.Marker> markers = List.of(new HtmlReport.Marker(8, "shift", "shift: contrast"),
        new HtmlReport.Marker(11, "drift", "page-hinkley"), new HtmlReport.Marker(16, "retrain", "v2 trained"),
        new HtmlReport.Marker(18, "promotion", "v2 promoted"), new HtmlReport.Marker(30, "rejection", "v3 <rejected>"));

    Path html = HtmlReport.titled("Demo & <run>")
        .heading("Accuracy")
        .paragraph("served accuracy by \"ground truth\"")
        .lineChart("Accuracy per version", "seconds", "accuracy", accuracyPerVersion(), markers)
        .barChart("Gate", "accuracy", List.of("recent", "guard"), Map.of("candidate v2", List.of(0.8, 0.86)))
        .table("Verdicts", List.of("verdict", "reason"), List.of(List.of("REJECT", "gain 0.01 < 0.02 && p > 0.05")))
        .write(dir);

    assertThat(html).isEqualTo(dir.resolve("report.html"));
    for (String chart : List.of("chart-1.png", "chart-2.png")) {
      BufferedImage img = ImageIO.read(dir.resolve(chart).toFile());
      assertThat(img).as(chart + " decodes").isNotNull();
      assertThat(img.getWidth()).isEqualTo(HtmlReport.CHART_WIDTH);
      assertThat(img.getHeight()).isEqualTo(HtmlReport.CHART_HEIGHT);
    }
    String page = Files.readString(html);
    assertThat(page)
        .contains("<title>Demo &amp; &lt;run&gt;</title>")
        .contains("gain 0.01 &lt; 0.02 &amp;&amp; p &gt; 0.05")
        .contains("served accuracy by &quot;ground truth&quot;")
        .contains("v3 &lt;rejected&gt;")
        .contains("<img src=\"chart-1.png\" alt=\"Accuracy per version\"")
        .contains("<img src=\"chart-2.png\" alt=\"Gate\"")
        .doesNotContain("<run>", "<rejected>", "<script", "http://", "https://");
  }

  @Test
  void shouldDrawTheMarkersInTheirKindsColours() throws IOException {
    // one series far from the markers, so that columns at the markers' x hold only the marker lines
    Map<String, List<HtmlReport.Point>> series = Map.of("v1", List.of(new HtmlReport.Point(0, 0.9),
        new HtmlReport.Point(100, 0.9)));
    HtmlReport.titled("markers")
        .lineChart("with", "x", "y", series, List.of(new HtmlReport.Marker(50, "drift", "")))
        .lineChart("without", "x", "y", series, List.of())
        .write(dir);

    assertThat(countPixels(dir.resolve("chart-1.png"), MarkerKind.DRIFT.color.getRGB())).isGreaterThan(50);
    assertThat(countPixels(dir.resolve("chart-2.png"), MarkerKind.DRIFT.color.getRGB())).isZero();
  }

  @Test
  void shouldRejectAMarkerOfAnUnknownKind() {
    assertThatThrownBy(() -> HtmlReport.titled("t").lineChart("c", "x", "y", accuracyPerVersion(),
        List.of(new HtmlReport.Marker(1, "swap", "v2"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("swap");
  }

  @Test
  void shouldRejectABarSeriesWithoutOneValuePerCategory() {
    assertThatThrownBy(() -> HtmlReport.titled("t").barChart("c", "y", List.of("a", "b"), Map.of("s", List.of(1.0))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'s'").hasMessageContaining("2 categories");
  }

  @Test
  void shouldRejectATableRowOfTheWrongWidth() {
    assertThatThrownBy(() -> HtmlReport.titled("t").table("verdicts", List.of("a", "b"), List.of(List.of("1"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 1").hasMessageContaining("verdicts");
  }

  private static int countPixels(Path png, int rgb) throws IOException {
    BufferedImage img = ImageIO.read(png.toFile());
    int n = 0;
    for (int y = 0; y < img.getHeight(); y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        if ((img.getRGB(x, y) & 0xffffff) == (rgb & 0xffffff)) {
          n++;
        }
      }
    }
    return n;
  }
}
