"""The dataset page's chart: a bar per category, computed from the released data and drawn as inline SVG.

No JavaScript: the SVG is written at render time, so the chart shows from a USB stick and in a browser
with scripts off. Suppressed (null) values are left out of the sums and counted, so the page can say so.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.catalog import PublicationEntry

log = logging.getLogger(__name__)

TAHUN = "tahun"
MAX_BARS = 30  # more categories (e.g. 139 desa) would make a chart nobody reads: the largest are shown
BAR_COLOR = "#3182bd"  # used nowhere else on a page: the browser test counts its pixels in a screenshot
WIDTH, LABEL_WIDTH, VALUE_WIDTH = 720, 190, 80
BAR_HEIGHT, BAR_GAP, TOP = 20, 8, 6
LABEL_CHARS = 26
_ID_SEPARATORS = str.maketrans(",.", ".,")  # Indonesian: 1.234,5 where English writes 1,234.5


@dataclass(frozen=True)
class ChartData:
    """What one chart shows: `value` summed by `by` over the rows of the latest `tahun` (if any)."""

    by: str
    value: str
    bars: list[tuple[str | None, float | int]]  # (category, sum), largest first; None = rows without a category
    categories: int  # categories with at least one published value (bars may show fewer: MAX_BARS)
    suppressed_values: int  # null values left out of the sums
    all_suppressed: list[str | None]  # categories with no published value at all (no bar)
    tahun: int | None


def _is_integer(data_type: pa.DataType) -> bool:
    return pa.types.is_integer(data_type)


def _is_numeric(data_type: pa.DataType) -> bool:
    return pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type)


def choose_columns(entry: PublicationEntry, table: pa.Table) -> tuple[str, str] | None:
    """(by, value): the catalog's `chart` when the data has those columns; otherwise the first integer
    count column summed by the first `nama_*` dimension that varies. None when the data has neither."""
    names = table.column_names
    chart = entry.spec.chart
    if chart is not None:
        if chart.by in names and chart.value in names and _is_numeric(table.schema.field(chart.value).type):
            return chart.by, chart.value
        log.warning("%s: chart %s by %s is not a numeric column pair of the data; choosing columns", entry.id,
                    chart.value, chart.by)
    values = [
        field.name
        for field in table.schema
        if _is_integer(field.type) and field.name != TAHUN and not field.name.startswith("kode_")
    ]
    dimensions = [name for name in names if name.startswith("nama_")]
    if not values or not dimensions:
        return None
    # nama_provinsi / nama_kabupaten_kota hold one value in a Paser table: a one-bar chart says nothing
    varying = [name for name in dimensions if pc.count_distinct(table[name]).as_py() > 1]
    return (varying or dimensions)[0], values[0]


def chart_data(entry: PublicationEntry, table: pa.Table) -> ChartData | None:
    """Sum the chart's value by its category over the latest year; None when no chart can be made."""
    columns = choose_columns(entry, table)
    if columns is None:
        return None
    by, value = columns
    tahun = None
    if TAHUN in table.column_names and table[TAHUN].null_count < table.num_rows:
        # a multi-year table summed over all years would double count: chart the latest year
        tahun = int(pc.max(table[TAHUN]).as_py())
        table = table.filter(pc.equal(table[TAHUN], pa.scalar(tahun, table.schema.field(TAHUN).type)))
    slim = table.select([by, value])
    grouped = slim.group_by(by).aggregate([(value, "sum"), (value, "count")]).to_pylist()
    suppressed = slim[value].null_count
    bars: list[tuple[str | None, float | int]] = []
    hidden: list[str | None] = []
    for row in grouped:
        category = None if row[by] is None else str(row[by])
        if row[f"{value}_count"] == 0:
            hidden.append(category)
        else:
            total = row[f"{value}_sum"]
            bars.append((category, total if isinstance(total, int) else float(total)))
    # largest first; ties by name, so the same data always draws the same chart
    bars.sort(key=lambda bar: (-bar[1], bar[0] is None, bar[0] or ""))
    hidden.sort(key=lambda name: (name is None, name or ""))
    return ChartData(by, value, bars[:MAX_BARS], len(bars), suppressed, hidden, tahun)


def format_number(value: float | int, lang: str) -> str:
    """1234567 -> '1.234.567' (id) or '1,234,567' (en); fractions with two decimals."""
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    if lang == "id":
        text = text.translate(_ID_SEPARATORS)
    return text


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def render_svg(data: ChartData, *, title: str, description: str, unknown: str, lang: str, chart_id: str) -> str:
    """Horizontal bars (category names stay readable), one <rect> per shown category and no other rect.

    `title` and `description` become the SVG's <title>/<desc>, which screen readers announce.
    """
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    top_value = max((value for _, value in data.bars), default=0)
    height = TOP * 2 + len(data.bars) * (BAR_HEIGHT + BAR_GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{html.escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{html.escape(description)}</desc>',
    ]
    for index, (category, value) in enumerate(data.bars):
        label = unknown if category is None else category
        y = TOP + index * (BAR_HEIGHT + BAR_GAP)
        width = round(area * max(value, 0) / top_value, 2) if top_value > 0 else 0
        text_y = y + BAR_HEIGHT / 2 + 4
        shown = format_number(value, lang)
        parts.append(
            f'<g><text x="{LABEL_WIDTH - 8}" y="{text_y}" text-anchor="end">{html.escape(_short(label))}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" fill="{BAR_COLOR}" '
            f'data-value="{html.escape(str(value))}"><title>{html.escape(label)}: {html.escape(shown)}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{text_y}">{html.escape(shown)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
