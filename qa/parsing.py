"""Document understanding: split a corpus file into its official documents, drop layout noise,
repair broken sentences, rebuild flattened tables, and read each document's metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from qa import tables
from qa.metadata import DATE_LINE, history_events, is_history_line, iso, kind_of, read_dates, read_history
from qa.readers import SUFFIXES, CorpusError, Progress, read_document


class BlockKind(str, Enum):
    TITLE = "title"
    DOC_NUMBER = "doc_number"
    PART_TITLE = "part_title"
    PARAGRAPH = "paragraph"
    CAPTION = "caption"
    TABLE_ROW = "table_row"
    SIGNATURE = "signature"
    HISTORY = "history"


@dataclass
class Block:
    """One paragraph (or table row) of a document, in the corpus wording, with its offsets in the file."""

    text: str
    start: int
    end: int
    kind: BlockKind = BlockKind.PARAGRAPH
    part: str = ""
    table: str = ""


@dataclass
class Document:
    """One official document of a corpus file, with its metadata and cleaned blocks."""

    source_file: str
    title: str
    doc_number: str = ""
    kind: str = ""
    issuer: str = ""
    issue_date: str = ""
    amended_date: str = ""
    effective_date: str = ""
    valid_until: str = ""
    start: int = 0
    end: int = 0
    blocks: list[Block] = field(default_factory=list)

    @property
    def parts(self) -> list[str]:
        """Titles of attached plans or lists (in order), e.g. ``浙江省科技创新发展“十四五”规划``."""
        return list(dict.fromkeys(b.part for b in self.blocks if b.part))

    @property
    def year(self) -> int | None:
        return int(self.issue_date[:4]) if self.issue_date else None


@dataclass
class _Line:
    text: str
    start: int
    end: int

    @property
    def s(self) -> str:
        return self.text.strip()


# --- patterns ---------------------------------------------------------------------------------

_DOC_NUMBER = re.compile(r"^([\u4e00-\u9fa5]{1,10})\s*[〔\[［]\s*(\d{4})\s*[〕\]］]\s*(\d{1,4})\s*号$")
DOC_NUMBER_ANYWHERE = re.compile(  # a 发文字号 as printed: prefix, year, number
    r"([\u4e00-\u9fa5]{1,10})\s*[〔\[［(（]\s*(\d{4})\s*[〕\]］)）]\s*(\d{1,4})\s*号"
)
_TITLE_TAIL = re.compile(r"^[(（][^()（）]{1,20}[)）]$")
"""The last line of a title printed over two lines, e.g. ``(2024-2026 年)``."""
_SECTION = re.compile(r"^【(.+?)】\s*(.*)$")
_MASTHEAD = re.compile(r"^\S{2,12}人民政府公报$")
_TITLES_JOINED = re.compile(r"和(?=《|关于|[\u4e00-\u9fa5]{2,6}?[省市县区])")
"""Where a notice's title joins the titles of two plans it issues: 和 before a place or 关于."""
_HEADING_MARK = re.compile(r"^\s*#{1,6}\s+")
_HEAD = (BlockKind.TITLE, BlockKind.DOC_NUMBER, BlockKind.HISTORY)
"""History lines (通过, 批准, 修正…) are read between the title and the body only."""

_NOISE = [
    re.compile(p)
    for p in (
        r"^当前位置\s*[:：]",
        r"^朗读$",
        r"^产业动态$",
        r"^网站首页\s*正文$",
        r"^来源\s*[:：].*作者",
        r"^发布日期\s*[:：].*(浏览次数|信息来源)",
        r"^详细咨询\s*[:：]",
        r"^版权保护\s*[:：]",
        r"^关注微信公众号",
        r"^打开微信扫一扫",
        r"^站点关键词$",
        r"^[•·]",
        r"^附件\s*[:：].*\.(doc|docx|pdf|xls|xlsx|wps)$",
        r"^\d+\s*[.．、]\s*\S{1,20}名单$",
        r"发文目录(\s*\(\d+\))?$",
        r"^<!--.*-->$",
    )
]
_CHAPTER = re.compile(r"^([一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|专栏\s*\d|表\s*\d)")
_CLOSING = tuple("。！？；：!?;:…”’」』)）】》")
ATTACHMENT = re.compile(r"附件\s*\d{0,2}(?=\s|$)")
"""The mark above an attached document or table (``附件``, ``附件2``): its title is on the next line."""
_HEADING_START = re.compile(
    r"^([一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|\d{1,3}\s*[.．、]|[(（]\d{1,3}[)）]|专栏\s*\d|表\s*\d|——|第[一二三四五六七八九十百]+[章节条]|附件)"
)


def normalize_doc_number(text: str) -> str:
    """``浙政发〔2021〕16 号`` or ``嘉政发[2024]8号`` -> ``浙政发〔2021〕16号``."""
    m = DOC_NUMBER_ANYWHERE.search(text)
    return f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}号" if m else ""


def squash(text: str) -> str:
    """Remove all white space (titles are printed with stray spaces where lines were joined)."""
    return re.sub(r"\s+", "", text)


def _is_noise(line: str) -> bool:
    if not line or line.replace("\u00a0", "").strip() == "":
        return True
    if any(p.search(line) for p in _NOISE):
        return True
    # a 发文目录 row: doc number, tab, title
    if "\t" in line and _DOC_NUMBER.match(line.split("\t")[0].strip()):
        return True
    # keyword spam: many short space-separated words and no punctuation at all
    words = line.split()
    return (
        "\t" not in line
        and len(words) >= 8
        and not re.search(r"[，。,.；;:：]", line)
        and max(map(len, words)) <= 12
    )


# --- reading ----------------------------------------------------------------------------------


def _lines(text: str) -> list[_Line]:
    """The lines of a text with their offsets, Markdown heading marks (``# 标题``, ``## 第一章``) left out."""
    out, pos = [], 0
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        mark = _HEADING_MARK.match(line)
        skip = mark.end() if mark else 0
        out.append(_Line(line[skip:], pos + skip, pos + len(line)))
        pos += len(raw) + 1
    return out


def _kept_lines(lines: list[_Line]) -> list[_Line]:
    """Lines that carry policy text: drops noise, the table of contents and the colophon."""
    kept = [ln for ln in lines if not _is_noise(ln.s)]
    numbers = [i for i, ln in enumerate(kept) if _DOC_NUMBER.match(ln.s)]
    if numbers:
        # everything before the first document's title is masthead and table of contents
        kept = kept[numbers[0] - 1 :]
        # the colophon starts at the masthead printed again after the last document
        tail = next((i for i, ln in enumerate(kept) if _MASTHEAD.match(squash(ln.s))), None)
        if tail is not None:
            kept = kept[:tail]
    return kept


def _split_documents(kept: list[_Line]) -> list[tuple[int, int, str]]:
    """(first line, end line, doc number) of each document in ``kept``."""
    starts: list[tuple[int, str]] = []
    for i, ln in enumerate(kept):
        if _DOC_NUMBER.match(ln.s) and i > 0:
            starts.append((i - 1, normalize_doc_number(ln.s)))
        elif _SECTION.match(ln.s):
            starts.append((i, ""))
    if not starts or starts[0][0] != 0:
        starts.insert(0, (0, ""))
    bounds = [s for s, _ in starts] + [len(kept)]
    return [(bounds[k], bounds[k + 1], num) for k, (_, num) in enumerate(starts) if bounds[k] < bounds[k + 1]]


def _should_join(a: str, b: str) -> bool:
    """Whether line ``b`` continues the sentence that line ``a`` left unfinished (a page break in the
    source). Headings, titles, table cells and finished paragraphs are never joined."""
    if not a or not b or "\t" in a or "\t" in b:
        return False
    if a.endswith(_CLOSING) or _HEADING_START.match(b) or DATE_LINE.match(b) or _DOC_NUMBER.match(b):
        return False
    if a.endswith(("，", ",", "、")):
        return True
    if _HEADING_START.match(a):
        return "。" in a
    return len(a) >= 25 and bool(re.search(r"[，,。；、]", a))


def _part_candidates(title: str, first_lines: list[str]) -> set[str]:
    """Titles of the plans a notice issues: from its title (印发X和Y的通知) and 《…》 in its opening."""
    found = set(re.findall(r"《([^》]{4,60})》", "".join(first_lines)))
    m = re.search(r"(?:印发|公布|转发)(.+?)的(?:通知|复函)$", title)
    if m:
        found.update(p for p in re.split(_TITLES_JOINED, m.group(1)) if len(p) >= 4)
    return {squash(f).strip("《》") for f in found}


def _is_issuer_line(line: str) -> bool:
    return (
        0 < len(line) <= 25
        and not re.search(r"[，,。；;：:\t]", line)
        and not _HEADING_START.match(line)
        and not DATE_LINE.match(line)
    )


def _signature_end(lines: list[str], i: int) -> int:
    """If issuer lines start at ``lines[i]`` and end in a date line, that date line's index, else -1."""
    k = i
    while k < len(lines) and k - i < 8 and _is_issuer_line(lines[k]):
        k += 1
    return k if i < k < len(lines) and DATE_LINE.match(lines[k]) else -1


def _document(path_name: str, lines: list[_Line], doc_number: str) -> Document:
    texts = [ln.s for ln in lines]
    head_title = texts[0]
    section = _SECTION.match(head_title)
    title = squash(section.group(1) + section.group(2)) if section else squash(head_title)
    doc = Document(
        source_file=path_name, title=title, doc_number=doc_number, start=lines[0].start, end=lines[-1].end
    )
    candidates = _part_candidates(title, texts[:6])
    part = ""
    i = 0
    after_signature = False
    while i < len(lines):
        ln, s = lines[i], texts[i]
        if i == 0:
            doc.blocks.append(Block(s, ln.start, ln.end, BlockKind.TITLE))
            i += 1
            continue
        if doc_number and i == 1 and _DOC_NUMBER.match(s):
            doc.blocks.append(Block(s, ln.start, ln.end, BlockKind.DOC_NUMBER))
            i += 1
            continue
        after_history = doc.blocks[-1].kind == BlockKind.HISTORY
        if all(b.kind in _HEAD for b in doc.blocks) and is_history_line(s, after_history):
            doc.blocks.append(Block(s, ln.start, ln.end, BlockKind.HISTORY))
            i += 1
            continue
        end = _signature_end(texts, i)
        if end > 0:
            if not doc.issue_date:
                doc.issuer = "、".join(squash(t) for t in texts[i:end])
                doc.issue_date = iso(*DATE_LINE.match(texts[end]).groups())
            doc.blocks.append(
                Block(" ".join(texts[i : end + 1]), ln.start, lines[end].end, BlockKind.SIGNATURE, part)
            )
            i = end + 1
            after_signature = True
            continue
        mark = ln if ATTACHMENT.fullmatch(s) and i + 1 < len(lines) else None
        if mark:  # the attachment's title is on the next line
            i += 1
            ln, s = lines[i], texts[i]
            after_signature = True
        is_part = squash(s) in candidates or (
            after_signature and len(s) <= 40 and not s.endswith(_CLOSING) and not _HEADING_START.match(s)
        )
        after_signature = False
        if is_part and squash(s) != title:
            end = i + 1 if i + 1 < len(lines) and _TITLE_TAIL.match(texts[i + 1]) else i
            text = "".join(texts[i : end + 1])
            part = squash(text)
            if mark:
                text, ln = f"{squash(mark.s)} {text}", mark
            doc.blocks.append(Block(text, ln.start, lines[end].end, BlockKind.PART_TITLE, part))
            i = end + 1
            continue
        if "\t" in s:
            j = i
            while j < len(lines) and "\t" in lines[j].text:
                j += 1
            caption = _caption(doc)
            cells = [lines[k].text for k in range(i, j)]
            rows, head = tables.tab_rows(cells), tables.header_lines(cells)
            header = " ".join(texts[i : i + head]).replace("\t", " ")
            doc.blocks.append(
                Block(header, lines[i].start, lines[i + head - 1].end, BlockKind.CAPTION, part, caption)
            )
            for k, row in enumerate(rows, start=i + head):
                doc.blocks.append(
                    Block(row, lines[k].start, lines[k].end, BlockKind.TABLE_ROW, part, caption)
                )
            i = j
            continue
        if tables.is_caption(s):
            j = i + 1
            while j < len(lines) and len(texts[j]) <= 30 and not _CHAPTER.match(texts[j]):
                j += 1
            rows = tables.cell_rows(texts[i + 1 : j]) if j - i > 6 else None
            doc.blocks.append(Block(s, ln.start, ln.end, BlockKind.CAPTION, part, squash(s)))
            if rows:
                for row in rows:
                    doc.blocks.append(
                        Block(row, lines[i + 1].start, lines[j - 1].end, BlockKind.TABLE_ROW, part, squash(s))
                    )
                i = j
            else:
                i += 1
            continue
        # a paragraph, with sentences the source broke across lines joined again
        j = i
        text = s
        while j + 1 < len(lines) and _should_join(texts[j], texts[j + 1]):
            j += 1
            text += texts[j]
        doc.blocks.append(Block(text, ln.start, lines[j].end, BlockKind.PARAGRAPH, part))
        i = j + 1
    _read_metadata(doc)
    return doc


def _caption(doc: Document) -> str:
    """The caption of a table: the paragraph just before it, when it is short."""
    if (
        doc.blocks
        and doc.blocks[-1].kind in (BlockKind.PARAGRAPH, BlockKind.CAPTION)
        and len(doc.blocks[-1].text) <= 40
    ):
        return squash(doc.blocks[-1].text)
    return ""


def _read_metadata(doc: Document) -> None:
    """Kind, history (adoption, issuer, amendment), effective date and validity period."""
    doc.kind = kind_of(doc.title)
    history = read_history(
        [e for b in doc.blocks if b.kind == BlockKind.HISTORY for e in history_events(b.text)]
    )
    if history.issue_date:  # the adopting body, not the signature's, when the document records one
        doc.issue_date, doc.issuer, doc.amended_date = (
            history.issue_date,
            history.issuer,
            history.amended_date,
        )
    dates = read_dates(squash("".join(b.text for b in doc.blocks)), doc.issue_date, history.effective_date)
    doc.effective_date, doc.valid_until = dates.effective_date, dates.valid_until


def parse_text(text: str, source_file: str) -> list[Document]:
    """Split the text of one corpus file into its documents."""
    kept = _kept_lines(_lines(text))
    return [_document(source_file, kept[a:b], num) for a, b, num in _split_documents(kept)]


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every file of a corpus folder and its sub-folders (hidden ones left out), sorted by path: the
    readable ones and those to report as unreadable."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    files = sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )
    if not any(p.suffix.lower() in SUFFIXES for p in files):
        raise CorpusError(f"no documents in {corpus_dir} (read: {', '.join(sorted(SUFFIXES))})")
    return files


def source_name(path: Path, corpus_dir: Path) -> str:
    """How a corpus file is named in the index: its path under the corpus folder (``法规/条例.md``)."""
    return path.relative_to(corpus_dir).as_posix()


@dataclass
class Corpus:
    """The documents read from a corpus folder, and the files that could not be read (name -> why)."""

    documents: list[Document]
    problems: dict[str, str] = field(default_factory=dict)


def read_corpus(corpus_dir: Path, cache_dir: Path | None = None, progress: Progress | None = None) -> Corpus:
    """All documents of all readable files in ``corpus_dir``; a file that cannot be read is reported in
    :attr:`Corpus.problems` and the others are read all the same.

    Args:
        corpus_dir: the corpus folder (sub-folders included).
        cache_dir: where OCR results are cached (see :func:`qa.readers.read_document`).
        progress: told about slow steps (OCR pages).
    """
    corpus = Corpus([])
    for path in corpus_files(corpus_dir):
        try:
            corpus.documents.extend(read_source(path, corpus_dir, cache_dir, progress))
        except CorpusError as exc:
            corpus.problems[source_name(path, corpus_dir)] = str(exc)
    return corpus


def read_source(
    path: Path, corpus_dir: Path, cache_dir: Path | None = None, progress: Progress | None = None
) -> list[Document]:
    """The documents of one corpus file; raises :class:`CorpusError` when it cannot be read."""
    return parse_text(read_document(path, cache_dir, progress), source_name(path, corpus_dir))
