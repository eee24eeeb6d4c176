"""Readers: one per file format, each turning a file into plain text for the document model.

The contract every reader keeps: UTF-8 text, one paragraph per line, a table row as its cells joined by
tabs, the document's title on the first line it prints, no layout noise of the format (page headers and
numbers, navigation, scripts). Parsing (:mod:`qa.parsing`) reads documents from that text whatever the
format was. :func:`read_document` picks the reader by the file's suffix; scanned pages go through OCR
(:mod:`qa.ocr`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.ocr import Line, Progress, layout_text, ocr_image_file, ocr_pdf_pages


class CorpusError(RuntimeError):
    """A corpus folder or file that cannot be read (the message names it and says what to do)."""


class UnreadableFile(CorpusError):
    """A corpus file that no reader can turn into text (the message names it and says what to do)."""


SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".html", ".htm", ".docx", ".pdf", ".png", ".jpg", ".jpeg"}
)
"""The suffixes :func:`read_document` reads (compared lower-case)."""

_AS_DOCX = "open it in Word or WPS, save it as .docx (or PDF) and add it again"
_AS_PDF = "save the sheet as PDF (or paste its table into a .docx) and add it again"
UNSUPPORTED: dict[str, str] = {
    **dict.fromkeys((".doc", ".wps", ".wpt", ".rtf", ".odt"), _AS_DOCX),
    **dict.fromkeys((".xls", ".xlsx", ".et"), _AS_PDF),
    **dict.fromkeys((".ppt", ".pptx", ".dps"), "save the slides as PDF and add it again"),
    **dict.fromkeys((".ofd", ".caj", ".xps"), "export it as PDF and add it again"),
    **dict.fromkeys((".mht", ".mhtml"), "save the page as .html and add it again"),
    **dict.fromkeys((".tif", ".tiff", ".bmp", ".gif", ".webp"), "save it as .png or .jpg and add it again"),
    **dict.fromkeys((".zip", ".rar", ".7z"), "unpack it and add the documents inside"),
}
"""Suffixes met in government corpora that are not read, with what to do instead."""


def read_document(path: Path, cache_dir: Path | None = None, progress: Progress | None = None) -> str:
    """The text of a corpus file in the reader contract, by its suffix (case-insensitive).

    Scanned pages are read by OCR; their text is cached under ``cache_dir / "ocr"`` by the file's sha256
    (no cache when ``cache_dir`` is None) and ``progress`` is told each page. Raises
    :class:`UnreadableFile`, naming the file and what to do, for whatever cannot be read."""
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        hint = UNSUPPORTED.get(suffix, "save it as .docx, PDF or UTF-8 .txt and add it again")
        kind = f"{suffix} files" if suffix else "files without a suffix"
        raise UnreadableFile(f"{path}: {kind} cannot be read; {hint}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot be opened ({exc.strerror or exc})") from exc
    if size == 0:
        raise UnreadableFile(f"{path}: the file is empty; add the document again with its text")
    try:
        text = reader(path, cache_dir, progress)
    except UnreadableFile:
        raise
    except Exception as exc:  # a library's error on a damaged file: a plain message instead of its traceback
        raise UnreadableFile(f"{path}: {_explain(suffix, exc)}") from exc
    if not text.strip():
        raise UnreadableFile(f"{path}: no text found in it; check the file opens and shows the document")
    return text


def _explain(suffix: str, exc: Exception) -> str:
    names = {type(e).__name__ for e in _chain(exc)}
    if suffix == ".pdf" and any("Password" in n or "Encrypt" in n for n in names):
        return "the PDF is encrypted (password protected); save an unprotected copy (print to PDF) and add it"
    if suffix == ".docx" and names & {"BadZipFile", "PackageNotFoundError", "KeyError"}:
        return f"not a valid .docx file (damaged, or another format renamed); {_AS_DOCX}"
    what = {".pdf": "a PDF", ".docx": "a .docx", ".html": "a web page", ".htm": "a web page"}
    what = what.get(suffix, "an image" if suffix in (".png", ".jpg", ".jpeg") else "text")
    return f"cannot be read as {what} ({type(exc).__name__}: {exc}); check that it opens, save it anew"


def _chain(exc: BaseException | None) -> list[BaseException]:
    out = []
    while exc is not None and len(out) < 10:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


# --- text and Markdown -------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """Read a text file as UTF-8 (with or without BOM), falling back to GB18030; clear error otherwise."""
    raw = path.read_bytes()
    if b"\x00" not in raw:  # NUL bytes: UTF-16 or binary, never text in these encodings
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise UnreadableFile(f"{path}: not UTF-8 or GB18030 text; convert it to UTF-8 and rebuild the index")


_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")


def _md_cells(line: str) -> str:
    s = line.strip()
    s = s[1:] if s.startswith("|") else s
    s = s[:-1] if s.endswith("|") and not s.endswith("\\|") else s
    return "\t".join(c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", s))


def _read_markdown(path: Path, *_: object) -> str:
    """Markdown as text: pipe tables become tab rows, ``**`` and link targets go; headings stay."""
    lines = read_text(path).splitlines()
    out: list[str] = []
    in_table = False
    for i, line in enumerate(lines):
        starts = "|" in line and i + 1 < len(lines) and bool(_MD_TABLE_RULE.match(lines[i + 1]))
        in_table = starts or (in_table and "|" in line and bool(line.strip()))
        if in_table and _MD_TABLE_RULE.match(line) and not starts:
            continue
        out.append(_MD_LINK.sub(r"\1", (_md_cells(line) if in_table else line).replace("**", "")))
    return "\n".join(out)


# --- web pages ----------------------------------------------------------------------------------

_HTML_BLOCKS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol dl dt dd section article blockquote pre table tr br hr center "
    "header footer main figure figcaption caption address tbody thead tfoot".split()
)
_HTML_SKIP = frozenset("script style noscript template iframe form button select input textarea".split())
_HTML_NOISE_CLASS = re.compile(
    r"share|bdshare|jiathis|print|tool|crumb|nav|menu|footer|related|comment|qrcode|ewm|fenxiang", re.I
)
_HTML_NOISE_LINE = re.compile(
    r"^(分享到|打印本页|关闭窗口|【\s*打印\s*】|字号\s*[:：]|扫一扫|相关链接|上一篇|下一篇)|【\s*关闭\s*】$"
)


def _read_html(path: Path, *_: object) -> str:
    """The article of a web page (readability-lxml finds it), block elements as lines, tables as rows."""
    import lxml.html
    from readability import Document as Readable
    from readability.encoding import get_encoding

    raw = path.read_bytes()
    page = raw.decode(get_encoding(raw) or "utf-8", "replace").lstrip("\ufeff")
    readable = Readable(page)
    body = lxml.html.fragment_fromstring(readable.summary(html_partial=True))
    for el in body.xpath(".//*[@class or @id]"):  # share buttons and tools inside the article: short
        noisy = _HTML_NOISE_CLASS.search(f"{el.get('class')} {el.get('id')}")
        if noisy and el.getparent() is not None and len(_squash(el.text_content())) <= 120:
            el.drop_tree()
    lines = [ln for ln in _html_lines(body) if not _HTML_NOISE_LINE.search(ln)]
    title = _html_title(lxml.html.document_fromstring(page), readable.short_title())
    head = [i for i, ln in enumerate(lines[:3]) if _squash(ln) == _squash(title)]
    return "\n".join(lines[head[0] :] if head else [title, *lines] if title else lines)


def _html_title(doc: object, short_title: str) -> str:
    """The page's heading that its ``<title>`` names, else readability's short title."""
    full = _squash(" ".join(doc.xpath("//title//text()")))  # type: ignore[attr-defined]
    for h in doc.xpath("//h1|//h2|//h3"):  # type: ignore[attr-defined]
        text = " ".join(h.text_content().split())
        if len(_squash(text)) >= 4 and _squash(text) in full:
            return text
    return " ".join(short_title.split())


def _html_lines(root: object) -> list[str]:
    lines: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        text = " ".join("".join(buf).split())
        buf.clear()
        if text:
            lines.append(text)

    def walk(el: object) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""  # type: ignore[attr-defined]
        if tag == "table":
            flush()
            for row in el.xpath("./tr|./*/tr"):  # type: ignore[attr-defined]
                cells = row.xpath("./td|./th")
                if len(cells) > 1:
                    lines.append("\t".join(" ".join(c.text_content().split()) for c in cells))
                else:  # a layout table's one cell: its paragraphs
                    for c in cells:
                        walk(c)
                    flush()
        elif tag and tag not in _HTML_SKIP:
            if tag in _HTML_BLOCKS:
                flush()
            buf.append(el.text or "")  # type: ignore[attr-defined]
            for child in el:  # type: ignore[attr-defined]
                walk(child)
            if tag in _HTML_BLOCKS:
                flush()
        buf.append(el.tail or "")  # type: ignore[attr-defined]

    walk(root)
    flush()
    return lines


# --- Word ---------------------------------------------------------------------------------------


def _read_docx(path: Path, *_: object) -> str:
    """Paragraphs and tables of a .docx body in document order; merged cells once per row."""
    import docx
    from docx.table import Table

    lines = []
    for block in docx.Document(str(path)).iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = list({id(c._tc): c for c in row.cells}.values())
                lines.append("\t".join(" ".join(c.text.split()) for c in cells))
        else:
            lines.extend(" ".join(part.split()) for part in block.text.split("\n"))
    return "\n".join(ln for ln in lines if ln.strip())


# --- PDF ----------------------------------------------------------------------------------------


def _read_pdf(path: Path, cache_dir: Path | None, progress: Progress | None) -> str:
    """A PDF's text layer through pdfplumber; pages without one (scans), or whose fonts map to no
    characters (``(cid:12)``), through OCR, cached."""
    import pdfplumber

    cached = _cache_file(path, cache_dir)
    if cached and cached.is_file():
        return cached.read_text(encoding="utf-8")
    pages: list[list[Line]] = []
    scanned: list[int] = []
    with pdfplumber.open(path) as pdf:
        for i, page in enumerate(pdf.pages):
            unmapped = sum(c["text"].startswith("(cid:") for c in page.chars)
            lines = _pdf_page_lines(page)
            if (
                unmapped > len(page.chars) / 2
                or sum(len(_squash(ln.text)) for ln in lines) < 20
                and page.images
            ):
                scanned.append(i)
            pages.append(lines)
    if not scanned:
        return layout_text(pages)
    for i, lines in ocr_pdf_pages(path, scanned, progress).items():
        pages[i] = lines
    return _store(cached, layout_text(pages))


def _pdf_page_lines(page: object) -> list[Line]:
    """The page's lines in reading order, the rows of ruled tables as tab-joined cells."""
    tables = page.find_tables()  # type: ignore[attr-defined]

    def in_table(d: dict[str, Any]) -> bool:
        mid = (d["x0"] + d["x1"]) / 2
        return any(x0 - 1 <= mid <= x1 + 1 and top <= d["top"] <= bottom for x0, top, x1, bottom in boxes)

    boxes = [t.bbox for t in tables]
    lines = [
        Line(_unspace(_CID.sub("", d["text"])), d["x0"], d["x1"], d["top"], d["bottom"])
        for d in page.extract_text_lines(return_chars=False, x_tolerance_ratio=0.15)  # type: ignore[attr-defined]
        if not in_table(d)
    ]
    for table in tables:
        for row, cells in zip(table.rows, table.extract(), strict=False):
            texts = [" ".join(c.split()) for c in cells if c is not None]  # None: a merged cell, read once
            if any(texts):
                x0, top, x1, bottom = row.bbox
                lines.append(Line("\t".join(texts), x0, x1, top, bottom))
    return sorted(lines, key=lambda ln: ln.top)


_CID = re.compile(r"\(cid:\d+\)")
_CJK = "[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
_CJK_PAIR = re.compile(f"(?<={_CJK})(\\s*)(?={_CJK})")


def _unspace(text: str) -> str:
    """A line's text with white space collapsed; when most CJK characters stand apart (letter-spaced
    print, wide justification read as spaces), the spaces between them go."""
    text = " ".join(text.split())
    gaps = [m.group(1) for m in _CJK_PAIR.finditer(text)]
    if len(gaps) >= 4 and sum(bool(g) for g in gaps) >= 0.5 * len(gaps):
        text = _CJK_PAIR.sub("", text)
    return text


# --- images and the OCR cache -------------------------------------------------------------------


def _read_image(path: Path, cache_dir: Path | None, progress: Progress | None) -> str:
    """A photo or scan of a page, through OCR (cached)."""
    cached = _cache_file(path, cache_dir)
    if cached and cached.is_file():
        return cached.read_text(encoding="utf-8")
    return _store(cached, layout_text([ocr_image_file(path, progress)]))


def _cache_file(path: Path, cache_dir: Path | None) -> Path | None:
    if cache_dir is None:
        return None
    return cache_dir / "ocr" / f"{hashlib.sha256(path.read_bytes()).hexdigest()}.txt"


def _store(cached: Path | None, text: str) -> str:
    if cached is not None and text.strip():
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(cached)
    return text


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _read_txt(path: Path, *_: object) -> str:
    return read_text(path)


_READERS: dict[str, Callable[[Path, Path | None, Progress | None], str]] = {
    ".txt": _read_txt,
    ".md": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".docx": _read_docx,
    ".pdf": _read_pdf,
    ".png": _read_image,
    ".jpg": _read_image,
    ".jpeg": _read_image,
}
