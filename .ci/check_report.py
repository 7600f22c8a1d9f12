#!/usr/bin/env python3
"""Checks the demo's report.html in a real browser (headless Chromium).

Usage: check_report.py REPORT_HTML OUT_DIR

1. Renders the page and dumps its DOM: every chart's <svg id="chart-..."> must be
   there with drawn marks (rect, circle or line elements), readable text, and a
   <title> and <desc> for screen readers.
2. Screenshots the whole page: it must not be blank (enough non-white pixels).
3. Screenshots each chart on its own: every chart must have non-white pixels.
4. Reads the page as served, scripts off: no <pre> dump, nothing from elsewhere, under
   1 MB; a contents list linking to every section; every section present has a
   <table> with a <caption>, <th scope> headers and at least one data row; the
   numbers in a sample of cells equal report.json (beside the page).
5. Sorting, scripts on: a copy of the page with one more inline script that clicks a
   column header (once, then twice) is dumped by Chromium; the table's rows must come
   back in ascending, then descending order of that column.
6. Text colours reach WCAG AA contrast (4.5:1); the page prints to PDF.
Exits non-zero, naming what failed.
"""
import json
import re
import struct
import subprocess
import sys
import zlib
from decimal import Decimal
from html.parser import HTMLParser
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


class Page(HTMLParser):
    """The page's sections and their tables, as served (scripts off)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections = {}  # id -> {"missing": bool, "tables": [...]}
        self.order, self.links = [], []
        self.section = None
        self.table = self.row = self.cell = None
        self.part = None
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "pre":
            self.pre += 1
        elif tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
        elif tag == "section":
            self.section = a.get("id")
            self.order.append(self.section)
            self.sections[self.section] = {"missing": False, "tables": []}
        elif tag == "p" and a.get("class") == "missing" and self.section:
            self.sections[self.section]["missing"] = True
        elif tag == "table" and "data" in a.get("class", ""):
            self.table = {"id": a.get("id"), "caption": "", "head": [], "body": [],
                          "foot": [], "scopes": set()}
        elif self.table is not None:
            if tag in ("thead", "tbody", "tfoot", "caption"):
                self.part = tag
            elif tag == "tr":
                self.row = []
            elif tag in ("th", "td") and self.row is not None:
                if tag == "th" and a.get("scope"):
                    self.table["scopes"].add(a["scope"])
                self.cell = {"text": "", "v": a.get("data-v"), "th": tag == "th"}

    def handle_endtag(self, tag):
        if self.table is None:
            if tag == "section":
                self.section = None
            return
        if tag in ("th", "td") and self.cell is not None:
            self.cell["text"] = self.cell["text"].strip()
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            key = {"thead": "head", "tbody": "body", "tfoot": "foot"}.get(self.part)
            if key:
                self.table[key].append(self.row)
            self.row = None
        elif tag == "caption":
            self.part = None
        elif tag == "table":
            if self.section:
                self.sections[self.section]["tables"].append(self.table)
            self.tables_seen = getattr(self, "tables_seen", []) + [self.table]
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"] += data
        elif self.table is not None and self.part == "caption":
            self.table["caption"] += data


def parse(source):
    p = Page()
    p.feed(source)
    return p


def table(page, table_id):
    for t in getattr(page, "tables_seen", []):
        if t["id"] == table_id:
            return t
    return None


def count(text):
    return int(text.replace(",", ""))


def money(text):
    """`1,722,170.00 USD` -> Decimal("1722170.00")."""
    return Decimal(text.split()[0].replace(",", ""))


def k_of_n(text):
    m = re.search(r"\(([\d,]+) / ([\d,]+)", text)
    return (count(m.group(1)), count(m.group(2))) if m else None


def minor(amount):
    return Decimal(amount).quantize(Decimal("0.01"))


def check_tables(source, json_path):
    """Every section has a real table; a sample of cells equals report.json."""
    failures = []
    if "<pre" in source:
        failures.append("the page still has a <pre> dump")
    page = parse(source)
    if page.pre:
        failures.append("the page still has a <pre> element")
    if not page.sections:
        failures.append("the page has no sections")
    for sid in page.order:
        if sid not in page.links:
            failures.append(f"section {sid}: not linked from the contents list")
        sec = page.sections[sid]
        if sec["missing"]:
            print(f"section {sid}: not in this report (reason given)")
            continue
        if not sec["tables"]:
            failures.append(f"section {sid}: no <table>")
            continue
        for t in sec["tables"]:
            where = f"section {sid}, table {t['id']}"
            if not t["caption"].strip():
                failures.append(f"{where}: no <caption>")
            if not {"col", "row"} <= t["scopes"]:
                failures.append(f"{where}: headers without scope col/row")
            if not t["body"]:
                failures.append(f"{where}: no data row")
        print(f"section {sid}: {len(sec['tables'])} tables, "
              f"{sum(len(t['body']) for t in sec['tables'])} data rows")

    if not json_path.exists():
        return failures + [f"{json_path} is missing: cannot compare numbers"]
    report = json.loads(json_path.read_text(encoding="utf-8"))
    checked = 0

    def expect(what, got, want):
        nonlocal checked
        checked += 1
        if got != want:
            failures.append(f"{what}: the page shows {got}, report.json has {want}")

    f = report.get("funnel")
    t = table(page, "table-demand-waterfall")
    if f and t:
        all_ = f["cohort"]["total"]["all"]
        for i, row in enumerate(t["body"]):
            expect(f"demand waterfall, {row[0]['text']} reached",
                   count(row[1]["text"]), all_["reached"][i])
            if i > 0:
                r = all_["steps"][i - 1]["ratio"]
                expect(f"demand waterfall, {row[0]['text']} from the previous stage",
                       k_of_n(row[2]["text"]), (r["numerator"], r["denominator"]))
    p = report.get("pipeline")
    t = table(page, "table-pipeline-waterfall")
    if p and t:
        names = ["start", "created", "pulled_in", "increased", "decreased", "pushed_out",
                 "lost", "won", "end"]
        for name, row in zip(names, t["body"] + t["foot"]):
            flow = p["waterfall"][name]
            expect(f"pipeline waterfall, {name} amount", money(row[1]["text"]),
                   minor(flow["amount"]["amount"]))
            expect(f"pipeline waterfall, {name} deals", count(row[2]["text"]), flow["deals"])
    t = table(page, "table-win-rate")
    if p and t:
        r = p["win_rate"]["ratio"]
        expect("win rate", k_of_n(t["body"][0][1]["text"]), (r["numerator"], r["denominator"]))
    e = (report.get("economics") or {}).get("by_lead_source")
    t = table(page, "table-unit-economics")
    if e and t:
        for row, want in zip(t["body"], e["rows"]):
            name = want["key"]["channel"] or "(no source)"
            expect(f"unit economics, {name} lead source", row[0]["text"], name)
            expect(f"unit economics, {name} spend", money(row[1]["text"]),
                   minor(want["spend"]["amount"]))
            value = want["cost_per"][0]["value"]
            if value:
                expect(f"unit economics, {name} cost per {e['units'][0]}",
                       money(row[2]["text"]), minor(value["amount"]))
    s = (report.get("economics") or {}).get("sourcing")
    t = table(page, "table-sourced-influenced")
    if s and t:
        for row, want in zip(t["body"], s["by_channel"]):
            expect(f"sourced, {row[0]['text']}", count(row[1]["text"]), want["sourced"])
            expect(f"influenced, {row[0]['text']}", count(row[3]["text"]), want["influenced"])
    c = (report.get("forecast") or {}).get("calibration")
    t = table(page, "table-calibration")
    if c and t:
        for row, b in zip(t["body"], c["reliability"]["bins"]):
            expect(f"calibration bin {row[0]['text']} deals", count(row[1]["text"]), b["count"])
    pl = report.get("plan")
    t = table(page, "table-plan")
    if pl and t:
        for row, st in zip(t["body"], pl["plan"]["periods"][0]["stages"]):
            expect(f"plan, {st['stage']} needed", count(row[2]["text"]), st["count"])
    print(f"numbers: {checked} cells compared with report.json")
    if checked < 10:
        failures.append(f"only {checked} cells could be compared with report.json")
    return failures


def luminance(hex_colour):
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    def channel(v):
        v = int(v, 16) / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(h[i:i + 2]) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def check_contrast(source):
    """Every text colour (chart labels, CSS `color:`) reaches WCAG AA (4.5:1) on white,
    and table headers on their background."""
    failures = []
    colours = {c for tag in re.findall(r"<text\b[^>]*>", source)
               for c in re.findall(r'fill="(#[0-9a-fA-F]{3,6})"', tag)}
    colours |= set(re.findall(r'[{;]color:(#[0-9a-fA-F]{3,6})', source))
    for c in sorted(colours):
        ratio = contrast(c, "#ffffff")
        if ratio < 4.5:
            failures.append(f"text colour {c} has contrast {ratio:.2f}:1 on white (AA needs 4.5)")
    head = re.search(r"thead th\{background:(#[0-9a-fA-F]{3,6});color:(#[0-9a-fA-F]{3,6})", source)
    if head and contrast(head.group(1), head.group(2)) < 4.5:
        failures.append("table header text fails AA contrast on its background")
    print(f"contrast: {len(colours)} text colours checked against white")
    return failures


def sort_key(cell):
    return None if cell["v"] in (None, "") else float(cell["v"])


def check_sorting(source, out_dir):
    """Clicking a column header (scripts on) sorts the table by that column."""
    page = parse(source)
    pick = None
    in_sections = [t for sid in page.order for t in page.sections[sid]["tables"]]
    for t in in_sections:
        rows = t["body"]
        if len(rows) < 3 or len(rows[0]) < 2:
            continue
        keys = [sort_key(r[1]) for r in rows]
        if None in keys or keys == sorted(keys):
            continue
        pick = t
        break
    if pick is None:
        return ["no table with three unsorted figures to try sorting on"]
    failures = []
    for clicks, descending in ((1, False), (2, True)):
        hook = ("<script>(function(){var b=document.getElementById('%s')"
                ".tHead.rows[0].cells[1].querySelector('button');"
                "for(var i=0;i<%d;i++)b.click();})();</script></body>" % (pick["id"], clicks))
        copy = out_dir / f"sort-{clicks}.html"
        copy.write_text(source.replace("</body>", hook), encoding="utf-8")
        dom = chromium(out_dir, "--dump-dom", copy.as_uri())
        t = table(parse(dom.stdout), pick["id"])
        if t is None:
            failures.append(f"sorting {pick['id']}: the table is not in the rendered DOM")
            continue
        keys = [sort_key(r[1]) for r in t["body"]]
        want = sorted(keys, reverse=descending)
        order = "descending" if descending else "ascending"
        names = sorted(r[0]["text"] for r in t["body"])
        if keys != want or names != sorted(r[0]["text"] for r in pick["body"]):
            failures.append(f"sorting {pick['id']} by its second column ({clicks} clicks): "
                            f"rows not in {order} order: {keys}")
        else:
            print(f"sorting {pick['id']}: {clicks} click(s) -> {order}, {len(keys)} rows")
    return failures


def main():
    html, out_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    source = html.read_text(encoding="utf-8")
    for bad in ("<script src", "<link", "url(", "@import", "<img", "<iframe"):
        if bad in source:
            failures.append(f"the page loads something from elsewhere: {bad}")
    size = len(source.encode("utf-8"))
    print(f"page: {size} bytes")
    if size >= 1_000_000:
        failures.append(f"the page is {size} bytes (limit 1 MB)")
    failures += check_tables(source, html.with_name("report.json"))
    failures += check_sorting(source, out_dir)
    failures += check_contrast(source)

    dom = chromium(out_dir, "--dump-dom", html.as_uri())
    if dom.returncode != 0 or "</html>" not in dom.stdout:
        failures.append(f"chromium could not render the page: {dom.stderr[-500:]}")
    for cid in CHARTS:
        m = re.search(r'<svg id="%s".*?</svg>' % re.escape(cid), dom.stdout, re.S)
        if not m:
            failures.append(f"{cid}: not in the rendered DOM")
            continue
        svg = m.group(0)
        if f'<title id="{cid}-title">' not in svg or f'<desc id="{cid}-desc">' not in svg:
            failures.append(f"{cid}: no <title> and <desc> for screen readers")
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

    # Print (A4/Letter): the print stylesheet scales charts to the page width.
    pdf = out_dir / "report.pdf"
    chromium(out_dir, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri())
    if not pdf.exists() or pdf.stat().st_size < 10_000:
        failures.append("the page does not print to PDF")
    else:
        pages = pdf.read_bytes().count(b"/Type /Page") - pdf.read_bytes().count(b"/Type /Pages")
        print(f"print: {pdf.stat().st_size} bytes, {pages} pages")

    for f in failures:
        print(f"FAIL: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
