"""Render the static open-data portal of one release: `releases/<id>/portal/`.

    portal/index.html            datasets grouped by produsen data and by topic (Bahasa Indonesia)
    portal/<publication>.html    one page per dataset: metadata, columns, downloads, quality, chart
    portal/en/...                the same pages in English (UI translated; metadata as the agency wrote it)

Plain files with relative links only, so the portal works from any web server, straight from disk
(file://) and from a USB stick. Pages load nothing: the CSS is inlined, the chart is inline SVG drawn
here from the data, there is no JavaScript, and a Content-Security-Policy forbids scripts and remote
loads. Everything written depends only on the release (same input -> same bytes; the only time shown
is the manifest's `created_at`), because the manifest lists the portal files with their sha256.
"""

from __future__ import annotations

import html
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingestion.catalog import Catalog, PublicationEntry
from publication.errors import ReleaseError
from publication.metadata import KODE_WILAYAH, TIPE_INSTANSI, tahun_tersedia
from publication.portal.chart import ChartData, chart_data, format_number, render_svg
from publication.portal.strings import FIELD_LABELS, LANGUAGES, UI

log = logging.getLogger(__name__)

PORTAL_DIR = "portal"
CSS = Path(__file__).with_name("portal.css")
# Scripts and remote loads are refused even if a page were ever mis-escaped; inline styles are ours.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
SUPPRESSED_COLUMN = "disembunyikan"
DEFAULT_MAX_SUPPRESSED = 9

# Downloadable files of a publication, in the order the page lists them: (file suffix, label key or label).
DOWNLOADS = (("csv", "CSV"), ("json", "JSON"), ("parquet", "Parquet"), ("metadata.json", None))
# Release-level files the index links when the manifest lists them: (file, label key).
RELEASE_FILES = (("data.json", "dcat"), ("datapackage.json", "datapackage"), ("validation/index.html", "quality_report"))
GATE_ORDER = ("quality", "metadata", "privacy")
METADATA_ORDER = (
    "judul", "definisi", "konsep", "kode_daftar_data", "kode_standar_data", "satuan", "ukuran", "produsen_data",
    "walidata", "frekuensi", "akses", "tipe_instansi", "kode_wilayah", "tingkat_penyajian", "cakupan",
    "tahun_tersedia", "lisensi", "topik",
)


def _e(value: Any) -> str:
    """Escape text for HTML content and attribute values: metadata is agency-provided text."""
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class _Dataset:
    """Everything one dataset page shows, gathered once and rendered per language."""

    entry: PublicationEntry
    columns: list[tuple[str, str]]  # (name, type) from the released data; the catalog's names if none
    years: list[int]
    chart: ChartData | None
    gates: list[tuple[str, str]]  # (gate, 'pass' | 'fail' | 'not_checked')
    report: dict[str, Any] | None  # validation/<id>.json

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def status(self) -> str:
        # a gate that did not run for this table (privacy on a table without person counts) is no failure
        states = {state for _, state in self.gates}
        return "fail" if "fail" in states else "pass" if "pass" in states else "not_checked"


# --- Gathering ----------------------------------------------------------------------------------------


def _type_name(data_type: pa.DataType) -> str:
    # the catalog's vocabulary (text, integer, ...), which the metadata document uses too
    checks = (
        (pa.types.is_integer, "integer"), (pa.types.is_floating, "decimal"), (pa.types.is_decimal, "decimal"),
        (pa.types.is_boolean, "boolean"), (pa.types.is_date, "date"), (pa.types.is_timestamp, "timestamp"),
    )
    for check, name in checks:
        if check(data_type):
            return name
    return "text" if pa.types.is_string(data_type) or pa.types.is_large_string(data_type) else str(data_type)


def _read_table(release_dir: Path, pid: str, files: dict[str, Any]) -> pa.Table | None:
    """The released data of a publication: its Parquet file (exact types), else its CSV."""
    if f"{pid}.parquet" in files:
        return pq.read_table(release_dir / f"{pid}.parquet")
    if f"{pid}.csv" in files:
        return pacsv.read_csv(release_dir / f"{pid}.csv")
    log.warning("release %s lists no data file for %s: its page has no chart", release_dir.name, pid)
    return None


def _gate_state(value: Any) -> str:
    # gates are written as 'pass'/'fail'; accept booleans and {'status': ...} from other gate writers
    if isinstance(value, dict):
        value = value.get("status", value.get("passed"))
    if value is True or value == "pass":
        return "pass"
    if value is False or value == "fail":
        return "fail"
    return "not_checked"


def _gates(manifest: dict[str, Any], pid: str) -> list[tuple[str, str]]:
    gates = manifest.get("gates") or {}
    names = [name for name in GATE_ORDER if name in gates] + sorted(set(gates) - set(GATE_ORDER))
    return [(name, _gate_state((gates[name] or {}).get(pid))) for name in names]


def _report(release_dir: Path, pid: str, validation: dict[str, Any] | None) -> dict[str, Any] | None:
    if validation is not None:
        return validation.get(pid)
    path = release_dir / "validation" / f"{pid}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _gather(
    release_dir: Path, manifest: dict[str, Any], entry: PublicationEntry, validation: dict[str, Any] | None
) -> _Dataset:
    files = manifest.get("files") or {}
    table = _read_table(release_dir, entry.id, files)
    if table is None:
        columns = [(name, "") for name in entry.spec.columns]
        years = sorted(entry.spec.metadata.tahun_tersedia)
        chart = None
    else:
        columns = [(field.name, _type_name(field.type)) for field in table.schema]
        years = tahun_tersedia(entry, table)
        chart = chart_data(entry, table)
    return _Dataset(entry, columns, years, chart, _gates(manifest, entry.id), _report(release_dir, entry.id, validation))


# --- HTML pieces ----------------------------------------------------------------------------------------


class _Page:
    """Where a page sits: relative paths from it to the portal root, the release root and its other language."""

    def __init__(self, lang: str, name: str) -> None:
        self.lang = lang
        self.name = name
        self.t = UI[lang]
        self.default = lang == LANGUAGES[0]
        self.portal = "" if self.default else "../"  # from this page to portal/
        self.release = self.portal + "../"  # from this page to the release folder
        other = self.t["other_language_code"]
        self.other_href = (f"{other}/" if self.default else "../" + ("" if other == LANGUAGES[0] else f"{other}/")) + name

    def release_href(self, name: str) -> str:
        return _e(self.release + quote(name))

    def path(self, portal: Path) -> Path:
        return (portal if self.default else portal / self.lang) / self.name


def _size(count: int | None, t: dict[str, str], lang: str) -> str:
    if count is None:
        return "—"
    if count < 1024:
        return t["bytes"].format(n=format_number(count, lang))
    if count < 1024 * 1024:
        return t["kb"].format(n=format_number(round(count / 1024, 1), lang).rstrip("0").rstrip(",."))
    return t["mb"].format(n=format_number(round(count / 1024 / 1024, 1), lang).rstrip("0").rstrip(",."))


def _badge(state: str, t: dict[str, str]) -> str:
    css = state if state in ("pass", "fail") else "unknown"
    return f'<span class="badge {css}">{_e(t[state])}</span>'


def _document(page: _Page, title: str, body: str, css: str, manifest: dict[str, Any]) -> str:
    t = page.t
    other_lang = t["other_language_code"]
    release = f'{_e(t["release"])} {_e(manifest.get("release_id", ""))}'
    if manifest.get("created_at"):
        release += f', {_e(t["created_at"])} <time datetime="{_e(manifest["created_at"])}">{_e(manifest["created_at"])}</time>'
    return (
        f'<!DOCTYPE html>\n<html lang="{page.lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">\n'
        f"<title>{_e(title)} · {_e(t['site'])}</title>\n"
        f'<link rel="alternate" hreflang="{other_lang}" href="{_e(page.other_href)}">\n'
        f"<style>\n{css}</style>\n</head>\n<body>\n"
        f'<header class="site"><nav class="lang" aria-label="Language"><a href="{_e(page.other_href)}" '
        f'hreflang="{other_lang}" lang="{other_lang}">{_e(t["other_language"])}</a></nav>'
        f'<a class="brand" href="{page.portal or ""}index.html">{_e(t["site"])}</a>'
        f'<p class="tagline">{_e(t["tagline"])}</p></header>\n'
        f"<main>\n{body}</main>\n"
        f'<footer><p>{release}</p><p>{_e(t["offline_note"])}</p></footer>\n</body>\n</html>\n'
    )


# --- Index ------------------------------------------------------------------------------------------------


def _dataset_item(page: _Page, data: _Dataset) -> str:
    t, meta = page.t, data.entry.spec.metadata
    facts = [meta.topik or t["no_topic"], f'{t["level"]}: {meta.tingkat_penyajian}', meta.produsen_data]
    return (
        f'<li><a href="{_e(quote(data.id))}.html">{_e(meta.judul)}</a> {_badge(data.status, t)}'
        f'<div class="meta">{" · ".join(_e(fact) for fact in facts)}</div></li>\n'
    )


def _grouped(page: _Page, datasets: list[_Dataset], key: str) -> str:
    groups: dict[str, list[_Dataset]] = {}
    for data in datasets:
        value = getattr(data.entry.spec.metadata, key)
        groups.setdefault(value or "", []).append(data)
    out = []
    # named groups alphabetically, the group without a topic last
    for name in sorted(groups, key=lambda g: (g == "", g.casefold())):
        items = sorted(groups[name], key=lambda d: (d.entry.spec.metadata.judul.casefold(), d.id))
        out.append(f'<h3>{_e(name or page.t["no_topic"])}</h3>\n<ul class="datasets">\n')
        out.extend(_dataset_item(page, data) for data in items)
        out.append("</ul>\n")
    return "".join(out)


def _index(page: _Page, datasets: list[_Dataset], manifest: dict[str, Any], css: str) -> str:
    t = page.t
    files = manifest.get("files") or {}
    body = [
        f'<h1>{_e(t["tagline"])}</h1>\n',
        f'<p class="muted">{_e(t["release"])} {_e(manifest.get("release_id", ""))} · '
        f'{_e(t["datasets_count"].format(n=len(datasets)))}</p>\n',
        f'<section aria-labelledby="by-agency"><h2 id="by-agency">{_e(t["by_agency"])}</h2>\n',
        _grouped(page, datasets, "produsen_data"),
        "</section>\n",
        f'<section aria-labelledby="by-topic"><h2 id="by-topic">{_e(t["by_topic"])}</h2>\n',
        _grouped(page, datasets, "topik"),
        "</section>\n",
    ]
    listed = [(name, key) for name, key in RELEASE_FILES if name in files]
    if listed:
        body.append(f'<section aria-labelledby="release-files"><h2 id="release-files">{_e(t["release_files"])}</h2>\n<ul>\n')
        body.extend(f'<li><a href="{page.release_href(name)}">{_e(t[key])}</a></li>\n' for name, key in listed)
        body.append("</ul>\n</section>\n")
    return _document(page, t["tagline"], "".join(body), css, manifest)


# --- Dataset page -------------------------------------------------------------------------------------------


def _chart_section(page: _Page, data: _Dataset) -> str:
    t, lang, chart = page.t, page.lang, data.chart
    out = [f'<section aria-labelledby="chart"><h2 id="chart">{_e(t["chart"])}</h2>\n']
    if chart is None:
        return "".join([*out, f'<p class="muted">{_e(t["chart_none"])}</p>\n</section>\n'])
    title = t["chart_title"].format(value=chart.value.replace("_", " "), by=chart.by.replace("_", " "))
    if chart.tahun is not None:
        title += ", " + t["chart_year"].format(tahun=chart.tahun)
    notes = []
    if chart.suppressed_values:
        notes.append(t["chart_suppressed"].format(n=format_number(chart.suppressed_values, lang)))
    if chart.all_suppressed:
        names = ", ".join(t["unknown_category"] if name is None else name for name in chart.all_suppressed)
        notes.append(t["chart_all_suppressed"].format(names=names))
    if chart.categories > len(chart.bars):
        notes.append(t["chart_top"].format(shown=len(chart.bars), total=chart.categories))
    if not chart.bars:
        out.append(f'<p class="muted">{_e(t["chart_empty"])}</p>\n')
    else:
        top, top_value = chart.bars[0]
        description = t["chart_desc"].format(
            n=len(chart.bars), top=t["unknown_category"] if top is None else top, top_value=format_number(top_value, lang)
        )
        svg = render_svg(chart, title=title, description=description, unknown=t["unknown_category"], lang=lang,
                         chart_id="chart-svg")
        out.append(f'<figure class="chart">{svg}<figcaption>{_e(title)}</figcaption></figure>\n')
        rows = "".join(
            f'<tr><th scope="row">{_e(t["unknown_category"] if name is None else name)}</th>'
            f'<td class="num">{_e(format_number(value, lang))}</td></tr>\n'
            for name, value in chart.bars
        )
        out.append(
            f'<details><summary>{_e(t["chart_table"])}</summary>\n<table>\n<caption>{_e(title)}</caption>\n'
            f'<thead><tr><th scope="col">{_e(chart.by)}</th><th scope="col">{_e(chart.value)}</th></tr></thead>\n'
            f"<tbody>\n{rows}</tbody>\n</table>\n</details>\n"
        )
    out.extend(f'<p class="note">{_e(note)}</p>\n' for note in notes)
    out.append("</section>\n")
    return "".join(out)


def _downloads(page: _Page, data: _Dataset, files: dict[str, Any]) -> str:
    t, lang = page.t, page.lang
    rows = []
    for suffix, label in DOWNLOADS:
        name = f"{data.id}.{suffix}"
        info = files.get(name)
        if info is None:
            continue
        download = " download" if suffix in ("csv", "parquet", "json") else ""
        rows.append(
            f'<tr><th scope="row">{_e(label or t["metadata_file"])}</th>'
            f'<td><a href="{page.release_href(name)}"{download}>{_e(name)}</a></td>'
            f'<td class="num">{_e(_size(info.get("bytes"), t, lang))}</td>'
            f'<td class="num">{_e("—" if info.get("rows") is None else format_number(info["rows"], lang))}</td>'
            f'<td><code>{_e(info.get("sha256", ""))}</code></td></tr>\n'
        )
    head = "".join(f'<th scope="col">{_e(t[key])}</th>' for key in ("format", "file", "size", "rows", "sha256"))
    return (
        f'<section aria-labelledby="downloads"><h2 id="downloads">{_e(t["downloads"])}</h2>\n'
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{''.join(rows)}</tbody>\n</table>\n</section>\n"
    )


def _metadata(page: _Page, data: _Dataset) -> str:
    t, meta = page.t, data.entry.spec.metadata
    labels = FIELD_LABELS[page.lang]
    values: dict[str, Any] = {name: getattr(meta, name, None) for name in METADATA_ORDER}
    values.update(tipe_instansi=TIPE_INSTANSI, kode_wilayah=KODE_WILAYAH,
                  tahun_tersedia=", ".join(str(year) for year in data.years) or t["years_none"])
    shown = {name: t["not_assigned"] if values[name] in (None, "") else values[name] for name in METADATA_ORDER}
    rows = "".join(
        f'<tr><th scope="row">{_e(labels[name])}</th><td>{_e(shown[name])}</td></tr>\n' for name in METADATA_ORDER
    )
    return (
        f'<section aria-labelledby="metadata"><h2 id="metadata">{_e(t["metadata"])}</h2>\n'
        f"<table>\n<tbody>\n{rows}</tbody>\n</table>\n</section>\n"
    )


def _max_suppressed(entry: PublicationEntry) -> int:
    cells = entry.spec.small_cells
    return cells.max_suppressed if cells is not None else DEFAULT_MAX_SUPPRESSED


def _columns(page: _Page, data: _Dataset) -> str:
    t, entry = page.t, data.entry
    rows = []
    for name, type_name in data.columns:
        text = entry.spec.columns.get(name)
        if not text and name == SUPPRESSED_COLUMN:
            text = t["disembunyikan"].format(max=_max_suppressed(entry))
        rows.append(
            f'<tr><th scope="row"><code>{_e(name)}</code></th><td>{_e(type_name)}</td>'
            f'<td>{_e(text or t["no_explanation"])}</td></tr>\n'
        )
    head = "".join(f'<th scope="col">{_e(t[key])}</th>' for key in ("column", "type", "explanation"))
    out = [
        f'<section aria-labelledby="columns"><h2 id="columns">{_e(t["columns"])}</h2>\n',
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{''.join(rows)}</tbody>\n</table>\n",
    ]
    names = [name for name, _ in data.columns]
    if entry.spec.small_cells is not None or SUPPRESSED_COLUMN in names:
        counts = entry.spec.small_cells.counts + entry.spec.small_cells.derived if entry.spec.small_cells else []
        listed = ", ".join(counts) or SUPPRESSED_COLUMN
        out.append(f'<p class="note">{_e(t["suppression_note"].format(max=_max_suppressed(entry), columns=listed))}</p>\n')
    out.append("</section>\n")
    return "".join(out)


def _quality(page: _Page, data: _Dataset, files: dict[str, Any]) -> str:
    t, lang = page.t, page.lang
    rows = "".join(
        f'<tr><th scope="row">{_e(t.get("gate_" + gate, gate))}</th><td>{_badge(state, t)}</td></tr>\n'
        for gate, state in data.gates
    )
    out = [
        f'<section aria-labelledby="quality"><h2 id="quality">{_e(t["quality"])}</h2>\n',
        f'<table>\n<thead><tr><th scope="col">{_e(t["gate"])}</th><th scope="col">{_e(t["status"])}</th></tr></thead>\n'
        f"<tbody>\n{rows}</tbody>\n</table>\n",
    ]
    stats = (data.report or {}).get("statistics") or {}
    if "evaluated_expectations" in stats:
        line = t["checks_passed"].format(
            passed=format_number(int(stats.get("successful_expectations", 0)), lang),
            total=format_number(int(stats["evaluated_expectations"]), lang),
            rows=format_number(int((data.report or {}).get("rows") or 0), lang),
        )
        out.append(f"<p>{_e(line)}</p>\n")
    if "validation/index.html" in files:
        out.append(f'<p><a href="{page.release_href("validation/index.html")}">{_e(t["quality_report"])}</a></p>\n')
    out.append("</section>\n")
    return "".join(out)


def _dataset_page(page: _Page, data: _Dataset, manifest: dict[str, Any], css: str) -> str:
    t, meta = page.t, data.entry.spec.metadata
    files = manifest.get("files") or {}
    body = "".join(
        [
            f'<p class="breadcrumb"><a href="index.html">{_e(t["home"])}</a> › {_e(meta.produsen_data)}</p>\n',
            f"<h1>{_e(meta.judul)}</h1>\n",
            f'<p>{_badge(data.status, t)} <span class="muted">{_e(meta.topik or t["no_topic"])} · '
            f'{_e(t["level"])}: {_e(meta.tingkat_penyajian)}</span></p>\n',
            f'<p><strong>{_e(t["definition"])}:</strong> {_e(meta.definisi)}</p>\n',
            _chart_section(page, data),  # early on the page: the first thing a visitor looks at
            _downloads(page, data, files),
            _metadata(page, data),
            _columns(page, data),
            _quality(page, data, files),
        ]
    )
    return _document(page, meta.judul, body, css, manifest)


# --- Entry point ----------------------------------------------------------------------------------------------


def _entries(manifest: dict[str, Any], catalog: Catalog) -> list[PublicationEntry]:
    by_id = {entry.id: entry for entry in catalog.publications}
    wanted = manifest.get("publications")
    if wanted is None:
        return list(by_id.values())
    missing = [pid for pid in wanted if pid not in by_id]
    if missing:
        raise ReleaseError(f"manifest publications {missing} are not in the catalog: cannot render their portal pages")
    return [by_id[pid] for pid in wanted]


def render_portal(
    release_dir: Path, manifest: dict[str, Any], catalog: Catalog, *, validation: dict[str, Any] | None = None
) -> Path:
    """Write the portal of a release into `release_dir/portal/` (replacing any earlier one); returns its index.html.

    `manifest` is the release manifest as `audit_candidate` builds it (release_id, created_at, publications,
    files with sha256/rows/bytes, gates); only files it lists are linked. `validation` maps publication id to
    its validation report (ValidationReport.to_dict()); by default `validation/<id>.json` is read.
    """
    release_dir = Path(release_dir)
    portal = release_dir / PORTAL_DIR
    if portal.exists():
        shutil.rmtree(portal)
    css = CSS.read_text(encoding="utf-8")
    datasets = [_gather(release_dir, manifest, entry, validation) for entry in _entries(manifest, catalog)]
    pages = 0
    for lang in LANGUAGES:
        index = _Page(lang, "index.html")
        documents = [(index, _index(index, datasets, manifest, css))]
        for data in datasets:
            page = _Page(lang, f"{data.id}.html")
            documents.append((page, _dataset_page(page, data, manifest, css)))
        for page, text in documents:
            path = page.path(portal)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            pages += 1
    log.info("portal of release %s: %d page(s) in %s", manifest.get("release_id"), pages, portal)
    return portal / "index.html"
