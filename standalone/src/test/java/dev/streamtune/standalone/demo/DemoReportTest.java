package dev.streamtune.standalone.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.standalone.report.HtmlReport;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemoReportTest {
  @Test
  void shouldChartTheEstimateOfEachVersionBesideItsServedAccuracy() {
    List<DemoReport.Estimate> readings = List.of(new DemoReport.Estimate(2, 1, 0.93), new DemoReport.Estimate(4, 1, 0.92),
        new DemoReport.Estimate(6, 2, 0.80), new DemoReport.Estimate(8, 1, Double.NaN), new DemoReport.Estimate(10, 2, 0.81));

    Map<String, List<HtmlReport.Point>> series = DemoReport.estimateSeries(readings, 1);

    assertThat(series).containsOnlyKeys("v1 (base) estimated, before labels", "v2 estimated, before labels");
    assertThat(series.keySet()).first().isEqualTo("v1 (base) estimated, before labels");
    assertThat(series.get("v1 (base) estimated, before labels"))
        .containsExactly(new HtmlReport.Point(2, 0.93), new HtmlReport.Point(4, 0.92));
    assertThat(series.get("v2 estimated, before labels"))
        .containsExactly(new HtmlReport.Point(6, 0.80), new HtmlReport.Point(10, 0.81));
    assertThat(DemoReport.estimateSeries(List.of(), 1)).isEmpty();
  }
}
