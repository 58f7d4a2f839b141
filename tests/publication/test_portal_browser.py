"""The portal in a real browser: Debian's headless Chromium opens it straight from disk (file://).

Two ways in, both against a synthetic release (see test_portal.build_release):
- the command line (`--dump-dom`, `--screenshot`): the index links to a dataset page whose DOM holds the
  chart, and the screenshot shows its bars (pixels of the bar colour over the area the bars cover);
- the DevTools protocol over a pipe (`--remote-debugging-pipe`, no network port): click from the index to
  a dataset, click its CSV and Parquet links and compare the downloaded bytes with the released files,
  switch to English, open the quality report; no Content-Security-Policy violation on the way.
  (Chromium downloads CSV from file:// instead of showing it, so the download itself is compared.)

Without a `chromium` binary the tests skip, unless CI is set: in CI a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from test_portal import build_release, parse_html

from publication.portal.chart import BAR_COLOR

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu", "--hide-scrollbars",
                  "--no-first-run", "--window-size=1000,900"]
DATASET = "disdik__jumlah_sekolah_per_kecamatan"
TIMEOUT = 20.0


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but there is no chromium binary (Debian package 'chromium')")
        pytest.skip("no chromium binary (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    release_dir, manifest, _ = build_release(tmp_path_factory.mktemp("portal"))
    return release_dir, manifest


def _run(chromium: str, profile: Path, *args: str) -> bytes:
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout


def _path(url: str) -> Path:
    parts = urlsplit(url)
    assert parts.scheme == "file", url
    return Path(unquote(parts.path))


# --- A tiny PNG decoder (zlib + struct): 8-bit RGB/RGBA, not interlaced, as Chromium writes them ------------


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, channels, rows of raw pixel bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    previous, rows = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        method, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if method == 1:  # Sub
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif method == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, previous, strict=True))
        elif method == 3:  # Average
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif method == 4:  # Paeth
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b, c = previous[i], previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def test_decode_png_round_trip() -> None:
    # a 3x2 RGB image written with the Sub, Up and Paeth filters by hand
    pixels = [bytes([10, 20, 30, 40, 50, 60, 70, 80, 90]), bytes([15, 25, 35, 45, 55, 65, 75, 85, 95])]
    sub = bytes([1, *pixels[0][:3], *((pixels[0][i] - pixels[0][i - 3]) & 255 for i in range(3, 9))])
    up = bytes([2, *((pixels[1][i] - pixels[0][i]) & 255 for i in range(9))])
    data = b"\x89PNG\r\n\x1a\n"
    for kind, body in [(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)), (b"IDAT", zlib.compress(sub + up)),
                       (b"IEND", b"")]:
        data += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    assert decode_png(data) == (3, 2, 3, pixels)


# --- The command line: --dump-dom and --screenshot ------------------------------------------------------------


def test_index_links_to_a_dataset_page_with_a_drawn_chart(
    chromium: str, release: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    release_dir, manifest = release
    index_url = (release_dir / "portal" / "index.html").as_uri()
    index = parse_html(_run(chromium, tmp_path / "profile", "--dump-dom", index_url).decode("utf-8"))
    assert index.tags[0] == ("html", {"lang": "id"})
    dataset_links = [urljoin(index_url, str(a["href"])) for tag, a in index.tags
                     if tag == "a" and str(a.get("href", "")).endswith(f"{DATASET}.html")]
    assert dataset_links, "the index has no link to the dataset page"
    page_url = dataset_links[0]
    assert _path(page_url).is_file()

    dom = _run(chromium, tmp_path / "profile", "--dump-dom", page_url).decode("utf-8")
    svg = re.search(r"<svg [^>]*class=\"chart\".*?</svg>", dom, re.S)
    assert svg, "no chart in the dataset page's DOM"
    rects = [a for tag, a in parse_html(svg.group(0)).tags if tag == "rect"]
    assert len(rects) == 10  # one bar per kecamatan of Paser
    assert all(float(r["height"]) > 0 and float(r["width"]) > 0 for r in rects)
    assert "<title" in svg.group(0) and 'role="img"' in svg.group(0)
    downloads = {Path(urlsplit(urljoin(page_url, str(a["href"]))).path).name for tag, a in parse_html(dom).tags
                 if tag == "a" and "download" in a}
    assert downloads == {f"{DATASET}.csv", f"{DATASET}.parquet", f"{DATASET}.json"}
    assert all(name in manifest["files"] for name in downloads)

    shot = tmp_path / "dataset.png"
    _run(chromium, tmp_path / "profile", f"--screenshot={shot}", page_url)
    width, height, channels, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1000, 900)
    colours = {row[i : i + 3] for row in rows[::7] for i in range(0, len(row), channels * 7)}
    assert len(colours) > 10, "the screenshot is blank"
    bar = bytes.fromhex(BAR_COLOR.lstrip("#"))
    painted = sum(row[i : i + 3] == bar for row in rows for i in range(0, len(row), channels))
    area = sum(float(r["width"]) * float(r["height"]) for r in rects)
    # every bar is on screen, drawn at its size (edges blend with the background, hence the margin)
    assert 0.9 * area <= painted <= 1.05 * area, (painted, area)


# --- The DevTools protocol over a pipe: clicks and downloads --------------------------------------------------


class Browser:
    """Headless Chromium driven over `--remote-debugging-pipe` (fd 3 in, fd 4 out; NUL-separated JSON)."""

    def __init__(self, chromium: str, profile: Path) -> None:
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()

        def _wire() -> None:  # in the child: the two pipe ends become fd 3 and fd 4
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.process = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=_wire, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.out, self.inp = to_browser_w, from_browser_r
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        page = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page.enable", "Log.enable", "Runtime.enable"):
            self.call(domain, session=True)

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.inp], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("no message from chromium")
            chunk = os.read(self.inp, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply["result"]
            self.events.append(reply)

    def wait(self, method: str, until: Any = None) -> dict[str, Any]:
        """The next event `method` (already received or coming) whose params satisfy `until`."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method and (until is None or until(event["params"])):
                    return self.events.pop(index)
            self.events.append(self._message(deadline))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def click_and_load(self, selector: str) -> str:
        """Click the element as a user would; returns the URL of the page that loaded."""
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        self.wait("Page.loadEventFired")
        return str(self.evaluate("location.href"))

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.process.wait(timeout=10)
        except (OSError, EOFError, TimeoutError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self.out)
            os.close(self.inp)


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    session = Browser(chromium, tmp_path / "profile")
    try:
        yield session
    finally:
        session.close()


def test_click_through_download_and_switch_language(
    browser: Browser, release: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    release_dir, manifest = release
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.call("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True})
    browser.call("Page.navigate", {"url": (release_dir / "portal" / "index.html").as_uri()}, session=True)
    browser.wait("Page.loadEventFired")
    assert browser.evaluate("document.documentElement.lang") == "id"

    url = browser.click_and_load(f'a[href="{DATASET}.html"]')
    assert _path(url) == release_dir / "portal" / f"{DATASET}.html"
    assert browser.evaluate("document.querySelector('h1').textContent").startswith("Jumlah Sekolah menurut Kecamatan")
    # the inlined stylesheet applies in spite of the page's Content-Security-Policy
    assert browser.evaluate("getComputedStyle(document.querySelector('header.site')).backgroundColor") == "rgb(31, 111, 139)"
    # the bars are laid out: one per kecamatan, longer for larger values
    bars = browser.evaluate(
        "[...document.querySelectorAll('svg.chart rect')]"
        ".map(r => [Number(r.dataset.value), r.getBBox().width, r.getBBox().height])"
    )
    assert len(bars) == 10 and all(height > 0 for _, _, height in bars)
    assert sorted(bars, key=lambda bar: bar[0]) == sorted(bars, key=lambda bar: bar[1])
    assert browser.evaluate("document.querySelector('svg.chart title').textContent").startswith("jumlah sekolah menurut")

    for suffix in ("csv", "parquet"):
        name = f"{DATASET}.{suffix}"
        browser.evaluate(f"document.querySelector('a[href=\"../{name}\"]').click()")
        done = browser.wait("Browser.downloadProgress", lambda p: p["state"] != "inProgress")["params"]
        assert done["state"] == "completed", done
        saved = Path(done["filePath"])
        assert saved.parent == downloads and saved.name == name
        assert saved.read_bytes() == (release_dir / name).read_bytes()
        assert done["totalBytes"] == manifest["files"][name]["bytes"]

    url = browser.click_and_load('nav.lang a[hreflang="en"]')
    assert _path(url) == release_dir / "portal" / "en" / f"{DATASET}.html"
    assert browser.evaluate("document.documentElement.lang") == "en"
    assert browser.evaluate("document.querySelector('#downloads').textContent") == "Download the data"
    assert browser.evaluate("document.querySelectorAll('svg.chart rect').length") == 10

    url = browser.click_and_load('a[href="../../validation/index.html"]')
    assert _path(url) == release_dir / "validation" / "index.html"

    # nothing was blocked or failed to load on the way (a CSP violation or a missing file logs an error)
    errors = [e["params"]["entry"] for e in browser.events if e.get("method") == "Log.entryAdded"
              and e["params"]["entry"]["level"] == "error"]
    assert errors == []


def test_chart_has_an_accessible_name(browser: Browser, release: tuple[Path, dict[str, Any]]) -> None:
    release_dir, _ = release
    browser.call("Page.navigate", {"url": (release_dir / "portal" / "en" / "uji__kunjungan_per_desa.html").as_uri()},
                 session=True)
    browser.wait("Page.loadEventFired")
    tree = browser.call("Accessibility.getFullAXTree", session=True)["nodes"]
    images = [n for n in tree if n.get("role", {}).get("value") == "image"]
    assert len(images) == 1
    assert images[0]["name"]["value"].startswith("jumlah kunjungan by nama kecamatan, year 2026")
    # the page title shows the agency's text as text, not markup that ran
    assert browser.evaluate("document.querySelector('h1').textContent") == '<script>alert("judul")</script> & "kutip"'
    assert browser.evaluate("document.scripts.length") == 0
