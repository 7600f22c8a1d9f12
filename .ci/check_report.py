#!/usr/bin/env python3
"""Checks the demo's report.html in a real browser (headless Chromium).

Usage: check_report.py REPORT_HTML OUT_DIR

1. Renders the page and dumps its DOM: every chart's <svg id="chart-..."> must be
   there with drawn marks (rect, circle or line elements) and readable text.
2. Screenshots the whole page: it must not be blank (enough non-white pixels).
3. Screenshots each chart on its own: every chart must have non-white pixels.
Exits non-zero, naming what failed.
"""
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

CHARTS = ["chart-funnel", "chart-attribution", "chart-cost-per-stage",
          "chart-pipeline-waterfall", "chart-calibration", "chart-plan"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-quic", "--hide-scrollbars"]


def chromium(out_dir, *args):
    profile = out_dir / "chromium-profile"
    cmd = ["chromium", *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA PNG; returns (width, height, rows of bytes, channels)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), f"{path}: unsupported PNG format"
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, channels


def ink_fraction(path):
    """Share of pixels that are not (near) white."""
    w, h, rows, ch = png_pixels(path)
    ink = 0
    for row in rows:
        for x in range(0, w * ch, ch):
            if min(row[x], row[x + 1], row[x + 2]) < 235:
                ink += 1
    return ink / (w * h)


def main():
    html, out_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    source = html.read_text(encoding="utf-8")
    for bad in ("<script", "<link", "url(", "@import"):
        if bad in source:
            failures.append(f"the page loads something from elsewhere: {bad}")

    dom = chromium(out_dir, "--dump-dom", html.as_uri())
    if dom.returncode != 0 or "</html>" not in dom.stdout:
        failures.append(f"chromium could not render the page: {dom.stderr[-500:]}")
    for cid in CHARTS:
        m = re.search(r'<svg id="%s".*?</svg>' % re.escape(cid), dom.stdout, re.S)
        if not m:
            failures.append(f"{cid}: not in the rendered DOM")
            continue
        svg = m.group(0)
        marks = len(re.findall(r"<(rect|circle|line)\b", svg))
        texts = len(re.findall(r"<text\b", svg))
        if marks < 5 or texts < 3:
            failures.append(f"{cid}: only {marks} marks and {texts} labels")
        # Render the chart alone and look for ink.
        w = float(re.search(r'width="([\d.]+)"', svg).group(1))
        h = float(re.search(r'height="([\d.]+)"', svg).group(1))
        page = out_dir / f"{cid}.html"
        page.write_text(f'<!DOCTYPE html><html><body style="margin:0">{svg}</body></html>',
                        encoding="utf-8")
        shot = out_dir / f"{cid}.png"
        chromium(out_dir, f"--window-size={int(w)},{int(h)}", f"--screenshot={shot}",
                 page.as_uri())
        if not shot.exists():
            failures.append(f"{cid}: no screenshot")
            continue
        ink = ink_fraction(shot)
        print(f"{cid}: {marks} marks, {texts} labels, {100 * ink:.1f}% ink")
        if ink < 0.01:
            failures.append(f"{cid}: blank ({100 * ink:.2f}% ink)")

    shot = out_dir / "report.png"
    chromium(out_dir, "--window-size=1000,2400", f"--screenshot={shot}", html.as_uri())
    if not shot.exists():
        failures.append("no screenshot of the page")
    else:
        ink = ink_fraction(shot)
        print(f"page: {100 * ink:.1f}% ink")
        if ink < 0.02:
            failures.append(f"the page looks blank ({100 * ink:.2f}% ink)")

    for f in failures:
        print(f"FAIL: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
