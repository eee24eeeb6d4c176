"""Printed pages as text, and OCR of scanned ones.

The lines printed on a page, from a PDF's text layer (:mod:`qa.readers`) or from OCR, become paragraphs
in :func:`layout_text`: page numbers and running headers go, lines wrapped at the right edge are joined.
OCR uses RapidOCR: the PP-OCRv4 Chinese models ship inside the ``rapidocr-onnxruntime`` wheel, so nothing
is downloaded; the engine is created once per process, on first use."""

from __future__ import annotations

import re
import statistics
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Progress = Callable[[str], None]
"""Told what is being done, e.g. ``OCR 扫描件.pdf: page 2/5``."""


@dataclass
class Line:
    """One printed line of a page: its text and box (points from the page's top left)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float


_PAGE_NUMBER = re.compile(
    r"^([-—–－·•\s]*\d{1,4}[-—–－·•\s]*|第\s*\d{1,4}\s*页(\s*[,，/]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4}"
    r"|(page\s*)?\d{1,4}\s*(of\s*\d{1,4})?)$",
    re.I,
)
_SENTENCE_END = tuple("。！？；：!?;:")
_CLOSERS = "”’」』)）】》\"'"
_PARA_START = re.compile(
    r"^\s*(第[一二三四五六七八九十百零〇\d]+[章节条款编部分]|[一二三四五六七八九十]+、|[(（][一二三四五六七八九十\d]+[)）]"
    r"|\d{1,3}\s*[.．、](?!\d)|附件|附表|专栏|表\s*\d|[一二三四五六七八九十]+是)"
)


def layout_text(pages: list[list[Line]]) -> str:
    """Pages of printed lines as paragraphs: page numbers and running headers and footers dropped, lines
    wrapped at the text's right edge joined (a line reaching the right edge continues on the next unless
    it ends a sentence, or the next starts a paragraph: indented, or a heading such as 第三条, 一、)."""
    pages = _drop_page_furniture(pages)
    heights = [ln.bottom - ln.top for p in pages for ln in p if ln.text and "\t" not in ln.text]
    size = statistics.median(heights) if heights else 10.0
    edges = _edges(pages, size)
    flat = [_Placed(ln, left, right) for p, (left, right) in zip(pages, edges, strict=True) for ln in p]
    pairs = list(zip(flat, flat[1:], strict=False))
    # where paragraphs start indented, a line at the left margin after a full one continues it even
    # when that line ended a sentence
    starts = [b.indent(size) for a, b in pairs if a.body(size) and not a.full(size) and "\t" not in b.text]
    indented = len(starts) >= 3 and sum(starts) >= 0.7 * len(starts)
    out = [flat[0].line.text] if flat else []
    for a, b in pairs:
        if _continues(a, b, size, indented):
            out[-1] += _glue(out[-1], b.line.text)
        else:
            out.append(b.line.text)
    return "\n".join(s for s in (t.strip() for t in out) if s)


@dataclass
class _Placed:
    """A line with its page's text edges."""

    line: Line
    left: float
    right: float

    @property
    def text(self) -> str:
        return self.line.text

    def full(self, size: float) -> bool:
        return self.line.x1 >= self.right - 1.5 * size

    def body(self, size: float) -> bool:
        return self.line.x0 <= self.left + 3 * size

    def indent(self, size: float) -> bool:
        return self.line.x0 > self.left + 0.6 * size

    def centred(self, size: float) -> bool:
        return abs((self.line.x0 + self.line.x1) / 2 - (self.left + self.right) / 2) <= size


def _glue(a: str, b: str) -> str:
    """``b`` as it follows ``a`` on one line: a space between the words of a Latin line, none in CJK text
    (where a number or word broken at the edge goes on without one)."""
    latin = sum(c.isascii() and c.isalpha() for c in a) > sum(c >= "\u3400" for c in a)
    edge = a[-1:].isascii() and a[-1:].isalnum() and b[:1].isascii() and b[:1].isalnum()
    return " " + b if latin and edge else b


def _continues(a: _Placed, b: _Placed, size: float, indented: bool) -> bool:
    """Whether line ``b`` (next, perhaps on the next page) continues the paragraph of line ``a``."""
    ta, tb = a.line.text, b.line.text
    if "\t" in ta or "\t" in tb or not ta or not tb or _PARA_START.match(tb) or not a.full(size):
        return False
    ends = ta.rstrip(_CLOSERS).endswith(_SENTENCE_END)
    if a.body(size) and not b.indent(size):  # body text wrapped at the margin
        return indented or not ends
    # a title printed over lines, centred, in a type larger than the body's
    height_a, height_b = a.line.bottom - a.line.top, b.line.bottom - b.line.top
    return (
        not ends
        and min(height_a, height_b) >= 1.15 * size
        and abs(height_a - height_b) <= 0.2 * size
        and a.centred(size)
        and b.centred(size)
    )


def _edges(pages: list[list[Line]], size: float) -> list[tuple[float, float]]:
    """Each page's text left and right edge: the page's own where three lines reach it, else the
    document's (a last page of short lines has no edge of its own)."""

    def edge(values: list[float], pick: Callable[[list[float]], float], tol: float) -> float | None:
        if not values:
            return None
        e = pick(values)
        return e if sum(abs(v - e) <= tol for v in values) >= 3 else None

    per = [
        (
            edge([ln.x0 for ln in p], min, 0.6 * size),
            edge([ln.x1 for ln in p if "\t" not in ln.text], max, 1.5 * size),
        )
        for p in pages
    ]
    all_lines = [ln for p in pages for ln in p] or [Line("", 0, 0, 0, 0)]
    lefts = [v for v, _ in per if v is not None] or [min(ln.x0 for ln in all_lines)]
    rights = [v for _, v in per if v is not None] or [max(ln.x1 for ln in all_lines)]
    left, right = statistics.median(lefts), statistics.median(rights)
    return [(lo if lo is not None else left, hi if hi is not None else right) for lo, hi in per]


def _drop_page_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """Drop page numbers and running headers and footers: lines among the first or last two of a page
    that are a page number, or that (digits aside) stand at the top or bottom of at least two pages and
    of two fifths of all pages, in type no larger than the body's (a title that the header repeats
    stays where it is printed large)."""
    heights = [ln.bottom - ln.top for p in pages for ln in p]
    body = statistics.median(heights) if heights else 0.0

    def key(ln: Line) -> str:
        return re.sub(r"\d+", "#", _squash(ln.text))

    def edge_lines(page: list[Line]) -> list[tuple[str, Line]]:
        lines = [("top", ln) for ln in page[:2]] + [("bottom", ln) for ln in page[-2:]]
        return [(where, ln) for where, ln in lines if ln.bottom - ln.top <= 1.2 * body]

    counts: Counter[tuple[str, str]] = Counter()
    for page in pages:
        counts.update({(where, key(ln)) for where, ln in edge_lines(page) if len(ln.text) <= 50})
    repeated = {k for k, n in counts.items() if n >= 2 and n >= 0.4 * len(pages)}
    kept = []
    for page in pages:
        drop = {
            id(ln)
            for where, ln in edge_lines(page)
            if _PAGE_NUMBER.match(ln.text.strip()) or (where, key(ln)) in repeated
        }
        kept.append([ln for ln in page if id(ln) not in drop])
    return kept


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- OCR --------------------------------------------------------------------------------------------

DPI = 170
"""Resolution scanned PDF pages are rendered at: body text of 10–16 points is 24–38 pixels high."""
MIN_SCORE = 0.5
"""Boxes recognised with less confidence are dropped (stains, stamps, specks)."""

_engine: Any = None
_lock = threading.Lock()


def engine() -> Any:
    """The OCR engine, created once per process on first use (loading its models takes a second)."""
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR()
    return _engine


def ocr_lines(image: Any, scale: float = 1.0) -> list[Line]:
    """The printed lines of a page image (PIL), top to bottom, in points (pixels / ``scale``)."""
    import numpy as np

    result, _ = engine()(np.asarray(image.convert("RGB")), use_cls=False)
    boxes = []
    for box, text, score in result or []:
        if float(score) >= MIN_SCORE and text.strip():
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            x0, x1, top, bottom = (v / scale for v in (min(xs), max(xs), min(ys), max(ys)))
            boxes.append(Line(text.strip(), x0, x1, top, bottom))
    return group_lines(boxes)


def group_lines(boxes: list[Line]) -> list[Line]:
    """Boxes whose vertical centres lie within half a line height as one line, read left to right; a gap
    wider than two and a half characters between boxes is a tab (table cells, a header's two ends)."""
    if not boxes:
        return []
    height = statistics.median(b.bottom - b.top for b in boxes)
    rows: list[list[Line]] = []
    for b in sorted(boxes, key=lambda b: b.top + b.bottom):
        mid = (b.top + b.bottom) / 2
        if rows and abs(mid - statistics.fmean((r.top + r.bottom) / 2 for r in rows[-1])) <= height / 2:
            rows[-1].append(b)
        else:
            rows.append([b])
    lines = []
    for row in rows:
        row.sort(key=lambda b: b.x0)
        text = row[0].text
        for prev, b in zip(row, row[1:], strict=False):
            text += ("\t" + b.text) if b.x0 - prev.x1 > 2.5 * height else _glue(text, b.text)
        top, bottom = min(b.top for b in row), max(b.bottom for b in row)
        lines.append(Line(text, row[0].x0, max(b.x1 for b in row), top, bottom))
    return lines


def ocr_pdf_pages(path: Path, pages: list[int], progress: Progress | None = None) -> dict[int, list[Line]]:
    """OCR the given pages (0-based) of a PDF, rendered with pypdfium2; ``progress`` hears of each page."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        out = {}
        for i in pages:
            if progress:
                progress(f"OCR {path.name}: page {i + 1}/{len(pdf)}")
            out[i] = ocr_lines(pdf[i].render(scale=DPI / 72).to_pil(), DPI / 72)
        return out
    finally:
        pdf.close()


def ocr_image_file(path: Path, progress: Progress | None = None) -> list[Line]:
    """OCR a photo or scan of one page (.png, .jpg), upright as its EXIF orientation says."""
    from PIL import Image, ImageOps

    if progress:
        progress(f"OCR {path.name}: page 1/1")
    with Image.open(path) as image:
        return ocr_lines(ImageOps.exif_transpose(image) or image)
