"""What every PDF the platform makes shares, with ReportLab: the styles, a grid table of
plain text (escaped), a titled section that says so when it is empty, and charts legible
in print (black and two greys, labelled axes, no colour needed to tell the series apart)."""

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

STYLES = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=STYLES["BodyText"], fontSize=9, leading=11)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8, leading=9.5)
H1, H2 = STYLES["Title"], STYLES["Heading2"]
GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)
SERIES_COLOURS = (colors.black, colors.HexColor("#777777"), colors.HexColor("#bbbbbb"))


def p(value: object, style: ParagraphStyle = SMALL) -> Paragraph:
    return Paragraph(escape("" if value is None else str(value)), style)


def table(header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float] | None = None) -> Table:
    data = [[p(h) for h in header]] + [[p(c) for c in row] for row in rows]
    grid = Table(data, colWidths=widths, repeatRows=1)
    grid.setStyle(GRID)
    return grid


def section(title: str, body: list[Any], empty: str) -> list[Any]:
    """A heading and its body; a sentence saying why when there is nothing to show."""
    return [Paragraph(escape(title), H2), *(body or [p(empty, BODY)]), Spacer(1, 4 * mm)]


def _legend(drawing: Drawing, names: Sequence[str], x: float, y: float) -> None:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.fontSize = 8
    legend.columnMaximum = len(names)
    legend.colorNamePairs = list(zip(SERIES_COLOURS, names, strict=False))
    drawing.add(legend)


def line_chart(
    title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], *, y_label: str
) -> Drawing:
    """A line per series over the labels (weeks, months), for print: 170 x 70 mm."""
    drawing = Drawing(170 * mm, 70 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 14 * mm, 12 * mm, 115 * mm, 48 * mm
    chart.data = [[v if v is not None else 0 for v in values] for values in series.values()]
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 45
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.labels.fontSize = 7
    values = [v for vs in chart.data for v in vs]
    low = min(values, default=0)
    chart.valueAxis.valueMin = max(0, int(low) - 5 - int(low) % 5)
    chart.valueAxis.valueMax = 100
    chart.valueAxis.valueStep = 5
    for i in range(len(chart.data)):
        chart.lines[i].strokeColor = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        chart.lines[i].strokeWidth = 1.5 if i == 0 else 1
        if i:
            chart.lines[i].strokeDashArray = (3, 2)
    drawing.add(chart)
    drawing.add(String(0, 66 * mm, title, fontName="Helvetica-Bold", fontSize=9))
    drawing.add(String(0, 6 * mm, y_label, fontSize=7))
    _legend(drawing, list(series), 132 * mm, 55 * mm)
    return drawing


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, y_label: str) -> Drawing:
    """One bar per label (bands, reasons), each bar's value printed on it."""
    drawing = Drawing(170 * mm, 70 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 14 * mm, 12 * mm, 150 * mm, 48 * mm
    chart.data = [list(values)]
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = SERIES_COLOURS[1]
    chart.barLabelFormat = "%g"
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    drawing.add(chart)
    drawing.add(String(0, 66 * mm, title, fontName="Helvetica-Bold", fontSize=9))
    drawing.add(String(0, 6 * mm, y_label, fontSize=7))
    return drawing
