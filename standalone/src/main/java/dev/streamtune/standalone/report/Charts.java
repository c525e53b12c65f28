package dev.streamtune.standalone.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.font.FontRenderContext;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.io.IOException;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItem;
import org.jfree.chart.LegendItemCollection;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.Layer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** Draws the report's charts with JFreeChart and saves them as PNG. */
final class Charts {
  /**
   * Series colours: dark, saturated tones that stay apart from the marker colours (orange, gold, green, reds, black), so a line
   * is never mistaken for an event.
   */
  private static final Color[] SERIES = {new Color(0x1f, 0x77, 0xb4), new Color(0x94, 0x67, 0xbd), new Color(0x17, 0xbe, 0xcf),
      new Color(0x8c, 0x56, 0x4b), new Color(0xe3, 0x77, 0xc2), new Color(0x39, 0x3b, 0x79), new Color(0x7f, 0x7f, 0x7f),
      new Color(0xbc, 0xbd, 0x22)};
  private static final Color GRID = new Color(0xdd, 0xdd, 0xdd);
  private static final Font MARKER_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
  /** Rows of marker labels: neighbouring markers put theirs on different rows so close events stay readable. */
  private static final int LABEL_ROWS = 4;
  private static final FontRenderContext FRC = new FontRenderContext(null, true, true);

  private Charts() {}

  static void save(Block chart, Path png, int width, int height) throws IOException {
    JFreeChart c;
    if (chart instanceof Block.Line l) {
      c = line(l, width);
    } else if (chart instanceof Block.Bar b) {
      c = bar(b);
    } else {
      throw new IllegalArgumentException("not a chart: " + chart);
    }
    ChartUtils.saveChartAsPNG(png.toFile(), c, width, height);
  }

  static Color seriesColor(int i) {
    return SERIES[i % SERIES.length];
  }

  private static JFreeChart line(Block.Line l, int width) {
    XYSeriesCollection data = new XYSeriesCollection();
    double minX = Double.POSITIVE_INFINITY;
    double maxX = Double.NEGATIVE_INFINITY;
    boolean unitY = true;
    boolean anyY = false;
    for (Map.Entry<String, List<HtmlReport.Point>> e : l.series().entrySet()) {
      XYSeries s = new XYSeries(e.getKey(), true, true);
      for (HtmlReport.Point p : e.getValue()) {
        s.add(p.x(), p.y());
        minX = Math.min(minX, p.x());
        maxX = Math.max(maxX, p.x());
        if (!Double.isNaN(p.y())) {
          anyY = true;
          unitY &= p.y() >= 0 && p.y() <= 1;
        }
      }
      data.addSeries(s);
    }
    for (HtmlReport.Marker m : l.markers()) {
      minX = Math.min(minX, m.x());
      maxX = Math.max(maxX, m.x());
    }
    JFreeChart chart = ChartFactory.createXYLineChart(l.title(), l.xLabel(), l.yLabel(), data, PlotOrientation.VERTICAL, true,
        false, false);
    chart.setBackgroundPaint(Color.WHITE);
    XYPlot plot = chart.getXYPlot();
    style(plot);
    plot.setNoDataMessage("no data");

    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
    for (int i = 0; i < data.getSeriesCount(); i++) {
      r.setSeriesPaint(i, seriesColor(i));
      r.setSeriesStroke(i, new BasicStroke(2.2f));
      r.setSeriesShape(i, new Ellipse2D.Double(-2.5, -2.5, 5, 5));
    }
    plot.setRenderer(r);

    NumberAxis x = (NumberAxis) plot.getDomainAxis();
    x.setAutoRangeIncludesZero(false);
    double xLo = 0;
    double xHi = 1;
    if (minX <= maxX) {
      // the axis covers the markers too: an alarm after the last point must still show
      double pad = Math.max((maxX - minX) * 0.02, 0.5);
      xLo = minX - pad;
      xHi = maxX + pad;
      x.setRange(xLo, xHi);
    }
    NumberAxis y = (NumberAxis) plot.getRangeAxis();
    if (anyY && unitY) {
      y.setRange(0.0, 1.0);
      y.setTickUnit(new NumberTickUnit(0.1));
    }

    LegendItemCollection legend = new LegendItemCollection();
    for (int i = 0; i < data.getSeriesCount(); i++) {
      legend.add(new LegendItem(data.getSeriesKey(i).toString(), null, null, null, new Line2D.Double(-7, 0, 7, 0),
          new BasicStroke(2.2f), seriesColor(i)));
    }
    List<HtmlReport.Marker> sorted = new ArrayList<>(l.markers());
    sorted.sort(Comparator.comparingDouble(HtmlReport.Marker::x));
    Set<MarkerKind> kinds = EnumSet.noneOf(MarkerKind.class);
    Map<String, Double> lastSeen = new HashMap<>();
    double quietGap = minX <= maxX ? (maxX - minX) * 0.15 : 0;
    // where labels go: an estimate of the plot's width in pixels (the chart less the y axis), good enough to keep labels apart
    double pxPerUnit = (width - 80) / (xHi - xLo);
    double plotPx = width - 80;
    double[] rowEnd = new double[LABEL_ROWS];
    java.util.Arrays.fill(rowEnd, Double.NEGATIVE_INFINITY);
    for (HtmlReport.Marker m : sorted) {
      MarkerKind k = MarkerKind.of(m.kind());
      kinds.add(k);
      ValueMarker vm = new ValueMarker(m.x(), k.color, k.stroke());
      // a detector that fires again and again would bury the chart in one label: repeat it only after a quiet gap
      String key = k.id + '\n' + m.label();
      Double last = lastSeen.get(key);
      boolean label = m.label() != null && !m.label().isBlank() && (last == null || m.x() - last > quietGap);
      lastSeen.put(key, m.x());
      if (label) {
        double px = (m.x() - xLo) * pxPerUnit;
        double w = MARKER_FONT.getStringBounds(m.label(), FRC).getWidth() + 8;
        // right of the line, unless that runs off the plot: then left of it
        boolean left = px + w > plotPx;
        double start = left ? px - w : px;
        int row = 0;
        for (int candidate = 0; candidate < LABEL_ROWS; candidate++) {
          if (rowEnd[candidate] < start) {
            row = candidate;
            break;
          }
          if (rowEnd[candidate] < rowEnd[row]) {
            row = candidate; // no free row: the one that overlaps least
          }
        }
        rowEnd[row] = start + w;
        vm.setLabel(m.label());
        vm.setLabelFont(MARKER_FONT);
        vm.setLabelPaint(k.color.darker());
        vm.setLabelBackgroundColor(new Color(255, 255, 255, 150));
        vm.setLabelAnchor(left ? RectangleAnchor.TOP_LEFT : RectangleAnchor.TOP_RIGHT);
        vm.setLabelTextAnchor(left ? TextAnchor.TOP_RIGHT : TextAnchor.TOP_LEFT);
        vm.setLabelOffset(new RectangleInsets(4 + row * 14, 3, 3, 3));
      }
      plot.addDomainMarker(vm, Layer.FOREGROUND);
    }
    for (MarkerKind k : kinds) {
      legend.add(new LegendItem(k.description, null, null, null, new Line2D.Double(0, -7, 0, 7), k.stroke(), k.color));
    }
    plot.setFixedLegendItems(legend);
    return chart;
  }

  private static JFreeChart bar(Block.Bar b) {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    boolean unit = true;
    for (Map.Entry<String, List<Double>> e : b.series().entrySet()) {
      for (int i = 0; i < b.categories().size(); i++) {
        double v = e.getValue().get(i);
        unit &= v >= 0 && v <= 1;
        data.addValue(v, e.getKey(), b.categories().get(i));
      }
    }
    JFreeChart chart = ChartFactory.createBarChart(b.title(), null, b.yLabel(), data, PlotOrientation.VERTICAL, true, false,
        false);
    chart.setBackgroundPaint(Color.WHITE);
    CategoryPlot plot = chart.getCategoryPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(GRID);
    plot.setOutlineVisible(false);
    plot.setNoDataMessage("no data");
    BarRenderer r = (BarRenderer) plot.getRenderer();
    r.setBarPainter(new StandardBarPainter());
    r.setShadowVisible(false);
    r.setItemMargin(0.05);
    for (int i = 0; i < data.getRowCount(); i++) {
      r.setSeriesPaint(i, seriesColor(i));
    }
    r.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}",
        new DecimalFormat(unit ? "0.000" : "#,##0.##")));
    r.setDefaultItemLabelsVisible(true);
    r.setDefaultItemLabelFont(MARKER_FONT);
    NumberAxis y = (NumberAxis) plot.getRangeAxis();
    if (unit && data.getRowCount() > 0) {
      y.setRange(0.0, 1.0);
      y.setTickUnit(new NumberTickUnit(0.1));
    } else {
      y.setUpperMargin(0.1); // room for the value labels above the bars
    }
    return chart;
  }

  private static void style(XYPlot plot) {
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(GRID);
    plot.setRangeGridlinePaint(GRID);
    plot.setOutlineVisible(false);
  }
}
