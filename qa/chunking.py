"""Clause chunking along the heading hierarchy of the documents (一、/(一)/1./(1)/专栏/——/第X条).

Each chunk is one clause, or a bounded run of short sibling clauses; over-long clauses are split at
sentence boundaries with their clause path kept. ``text`` is the corpus wording, and what the dense
model embeds; ``keyword_text`` adds the document title and the clause path for BM25 (prefixing
them to the embedded text too made dense retrieval worse on the dev questions: hit@1 0.58 vs 0.65)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from langchain_text_splitters import RecursiveCharacterTextSplitter

from qa.metadata import KINDS
from qa.parsing import ATTACHMENT, Block, BlockKind, Document, squash

CHUNKER_VERSION = "19"
"""Bump when parsing or chunking changes, so that existing indexes are rebuilt."""

PATH_SEP = " > "

_BOX_LEVEL, _ITEM_LEVEL = 2.5, 3.0  # a 专栏 box, and a numbered item (see _after_box)
_CHAPTER_LEVEL, _ARTICLE_LEVEL = 0.0, 1.5  # 第X章; 第X条: its paragraphs and items belong to it (_units)
_DIVISION_TITLE_MAX = 20
_ATTACHED_LEVEL = -1.0  # an attachment, above all of its headings
_N = "一二三四五六七八九十百千零〇"
_ARTICLE = re.compile(rf"^第[{_N}]+条(?:之[{_N}]+)?")
_DIVISION = re.compile(rf"^第[{_N}]+(?:分编|编|章|节)")
_DIVISION_MAX = 0.75
"""Divisions above articles (编, 分编, 章, 节, and those printed without a number) have levels up to this."""
# (level, pattern); a heading's level decides which open headings it closes
_LEVELS: list[tuple[float, re.Pattern[str]]] = [
    (-0.5, re.compile(rf"^第[{_N}]+编")),
    (-0.25, re.compile(rf"^第[{_N}]+分编")),
    (_CHAPTER_LEVEL, re.compile(rf"^第[{_N}]+章")),
    (0.5, re.compile(rf"^第[{_N}]+节")),
    (1.0, re.compile(r"^[一二三四五六七八九十]+、")),
    (_ARTICLE_LEVEL, _ARTICLE),
    (2.0, re.compile(r"^[(（][一二三四五六七八九十]+[)）]")),
    (_BOX_LEVEL, re.compile(r"^(专栏|表)\s*\d+")),
    (_ITEM_LEVEL, re.compile(r"^\d{1,3}\s*[.．、](?!\d)")),
    (4.0, re.compile(r"^[(（]\d{1,2}[)）]")),
    (5.0, re.compile(r"^——")),
]
_LABEL_MAX = 40
_MARKER = re.compile(r"^([(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十\d]+(?=[.．、-]|$))")
"""The number of a numbered heading (``3.`` -> ``3``, ``(二)`` -> ``(二)``), or the first number of a
merged run (``1-3``): merged siblings get the clause path ``1-3``."""
_CLOSING_CLAUSE = re.compile(
    rf"^(?:第[{_N}]+条\s*)?本(?:{'|'.join(KINDS)}|政策)[^。]{{0,40}}?"
    r"(?:[自从][^。]{0,30}(?:起|之日)[^。]{0,6}(?:施行|实施|执行|生效)|解释|有效期|废止)"
)
"""A closing provision: 本办法自…起施行, 本条例自公布之日起施行, 本意见由…负责解释, 本规定有效期至… (not a
clause on what happens once it is in force: 本条例施行前…)."""
_SCOPE_SENTENCE = re.compile(rf"(?:适用|制定)本(?:{'|'.join(KINDS)})|本(?:{'|'.join(KINDS)})适用于")
"""A sentence stating a document's purpose or scope: 为了…，制定本条例; 本市行政区域内的…，适用本条例;
本条例适用于…."""
_AFTER_NUMBER = re.compile(rf"^(?:[^\n]*\n)?第[{_N}]+条\s*")
_ITEM = re.compile(r"^(?:序号)?(\d{1,3})(?:-(\d{1,3}))?(?=[.．、\s]|$)")
"""The clause path label of a numbered item or table row, or of a run of them (``2. 强化…``, ``1-12``,
``序号13``)."""
CLOSING_PATH = "文末施行条款"
"""Clause path of a document's closing provision (when it takes effect, who interprets it)."""
HISTORY_PATH = "题注"
"""Clause path of a document's history lines (adopted, approved, amended: when and by whom)."""


@dataclass
class Chunk:
    """A retrievable passage: corpus wording plus where it comes from."""

    chunk_id: str
    text: str
    source_file: str
    doc_title: str
    doc_number: str
    issuer: str
    date: str
    clause_path: str
    start: int
    end: int
    part: str = ""
    kind: str = ""
    amended_date: str = ""
    effective_date: str = ""
    valid_until: str = ""
    list_items: str = ""
    """The numbers of the first and last item of the numbered list or table holding this chunk (``1-134``:
    what ``一共列了多少个`` asks, when a chunk holds only some of them), empty when it is in none."""
    cited: str = ""
    """The wording of the articles (or their items) of the same document that this clause cites by
    number (``违反本条例第十四条第一项规定的…``): a penalty names the act it punishes only there."""

    @property
    def keyword_text(self) -> str:
        """What BM25 indexes: title, part and clause path before the wording, and the wording it cites."""
        head = self.doc_title + (f" {self.part}" if self.part else "")
        return f"{head}\n{self.clause_path}\n{self.text}" + (f"\n{self.cited}" if self.cited else "")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def is_closing(text: str) -> bool:
    """Whether a clause is a document's closing provision: when it takes effect or expires, who
    interprets it (``本办法自2024年4月1日起施行``, ``第四十八条 本条例自…起施行``)."""
    return any(_CLOSING_CLAUSE.match(line) for line in text.split("\n")[:2])  # below its chapter's title


def scope_share(text: str) -> float:
    """How much of a clause (by characters) states its document's purpose or scope: the sentences
    saying why the document was made or what it applies to (1 for a purpose article, less for a scope
    article that also defines its terms or lists what it covers)."""
    if not _SCOPE_SENTENCE.search(text):
        return 0.0  # most clauses, read at every load: no need to split them
    body = _AFTER_NUMBER.sub("", text.strip(), count=1)  # below its chapter's title, if any
    sentences = [s for s in re.split(r"(?<=[。；])", body) if s.strip()]
    scope = sum(len(s) for s in sentences if _SCOPE_SENTENCE.search(s))
    return scope / max(sum(len(s) for s in sentences), 1)


def heading_level(text: str) -> float | None:
    """The hierarchy level of a paragraph that starts with a heading marker, else None."""
    for level, pattern in _LEVELS:
        if pattern.match(text):
            return level
    return None


def heading_label(text: str) -> str:
    """The heading itself: an article's number (``第二十一条``: an article has no title, its first sentence
    is its content), else a paragraph's text up to its first full stop (inline headings), white space
    closed up to one space (``第三章　监督管理`` -> ``第三章 监督管理``)."""
    article = _ARTICLE.match(text)
    if article:
        return article.group()
    division = _DIVISION.match(text)
    if division:  # 第三章监督管理, 第三章　监督管理, 第三章 监 督 管 理 -> 第三章 监督管理
        text = f"{division.group()} {squash(text[division.end() :])}".strip()
    head = re.split(r"[。:：]", text, maxsplit=1)[0].strip()
    return re.sub(r"\s+", " ", head)[:_LABEL_MAX]


@dataclass
class _Unit:
    path: list[str]
    blocks: list[Block]
    heading_only: bool = False
    table: bool = False

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)


def _units(doc: Document) -> list[_Unit]:
    """Group a document's blocks into clauses, each with its heading path."""
    stack: list[tuple[float, str, int | None]] = []  # open headings: level, label, number (see _after_box)
    units: list[_Unit] = []
    unnumbered_level = None  # the level of divisions printed without a number, once one is seen
    for k, block in enumerate(doc.blocks):
        if block.kind == BlockKind.PART_TITLE:  # an attachment is a clause of its own: 附件 分类表
            stack = [(_ATTACHED_LEVEL, block.text, None)] if ATTACHMENT.match(block.text) else []
            units.append(_Unit([label for _, label, _ in stack], [block], heading_only=True))
            continue
        if block.kind == BlockKind.TABLE_ROW:
            path = [label for _, label, _ in stack]
            if block.table and (not path or squash(path[-1]) != squash(block.table)):
                path.append(block.table)  # a caption that is not a heading of its own
            path.append(_row_label(block.text))
            units.append(_Unit(path, [block], table=True))
            continue
        if block.kind == BlockKind.CAPTION and not block.table:
            continue  # a tab table's header row: every rebuilt row names its headers
        if block.kind == BlockKind.HISTORY:
            stack = []
            if units and units[-1].path == [] and all(b.kind == BlockKind.TITLE for b in units[-1].blocks):
                units.pop()  # a title above history lines: every chunk names its document already
            if units and units[-1].path == [HISTORY_PATH]:
                units[-1].blocks.append(block)
            else:
                units.append(_Unit([HISTORY_PATH], [block]))
            continue
        level = heading_level(block.text) if block.kind in (BlockKind.PARAGRAPH, BlockKind.CAPTION) else None
        unnumbered = level is None and _unnumbered_division(doc.blocks, k)
        if unnumbered:  # a level of its own: one below the numbered division open above it (章 -> 节)
            division = max((lv for lv, _, _ in stack if lv < _ARTICLE_LEVEL), default=None)
            if unnumbered_level is None:
                unnumbered_level = _CHAPTER_LEVEL if division is None else division + 0.25
            level = unnumbered_level
        ends_article = level is not None and (level <= _DIVISION_MAX or level == _ARTICLE_LEVEL)
        if any(lv == _ARTICLE_LEVEL for lv, _, _ in stack) and not ends_article:
            level = None  # only the next article or a division ends one: its items ((一), 1.) are its text
        if level is None and stack and stack[-1][0] == _ARTICLE_LEVEL:
            units[-1].blocks.append(block)
            units[-1].heading_only = False
        elif level is None and block.kind == BlockKind.PARAGRAPH and is_closing(block.text):
            stack = [(0.0, CLOSING_PATH, None)]
            units.append(_Unit([CLOSING_PATH], [block]))
        elif level is not None:
            number = int(_ITEM.match(block.text).group(1)) if level == _ITEM_LEVEL else None
            if number is not None:
                _after_box(stack, number)
            displaced = None
            while stack and stack[-1][0] >= level:
                displaced = stack.pop()
            if level == _BOX_LEVEL and displaced and displaced[0] in (_BOX_LEVEL, _ITEM_LEVEL):
                number = displaced[2]  # the item before the box (or before the box before it)
            stack.append((level, heading_label(block.text), number))
            heading_only = unnumbered or _heading_alone(block.text)
            units.append(_Unit([label for _, label, _ in stack], [block], heading_only=heading_only))
        elif units and not units[-1].table and units[-1].path == [label for _, label, _ in stack]:
            units[-1].blocks.append(block)
            units[-1].heading_only = False
        else:
            units.append(_Unit([label for _, label, _ in stack], [block]))
    return units


def _unnumbered_division(blocks: list[Block], k: int) -> bool:
    """Whether block ``k`` is the title of a division printed without its number (``总则`` before
    ``第一条``): a short line, no punctuation, right before an article."""
    text = blocks[k].text
    return (
        blocks[k].kind == BlockKind.PARAGRAPH
        and len(text) <= _DIVISION_TITLE_MAX
        and not re.search(r"[，。；：,.;:、]", text)
        and k + 1 < len(blocks)
        and bool(_ARTICLE.match(blocks[k + 1].text))
    )


def _after_box(stack: list[tuple[float, str, int | None]], number: int) -> None:
    """Close an open 专栏 box when item ``number`` continues the numbered items before it (``2.`` after
    ``1.`` and 专栏1), not the box's own items (``4.`` after the box's ``3.``): a box has no closing mark."""
    box = next((i for i, (level, _, _) in enumerate(stack) if level == _BOX_LEVEL), None)
    if box is None or stack[box][2] is None:
        return
    inner = next((n for level, _, n in stack[box + 1 :] if level == _ITEM_LEVEL), None)
    if number == stack[box][2] + 1 and inner != number - 1:
        del stack[box:]


def _row_label(row: str) -> str:
    m = re.search(r"序号[:：](\d+)", row)
    return f"序号{m.group(1)}" if m else row.split("；")[0][:_LABEL_MAX]


def _is_prefix(a: list[str], b: list[str]) -> bool:
    return len(a) <= len(b) and b[: len(a)] == a


def _merge(units: list[_Unit], max_chars: int, min_chars: int) -> list[_Unit]:
    """Carry heading-only units into the clause below them, and merge short siblings (table rows of
    one table, short clauses under one parent, or the items of a list that are headings only) up to
    ``max_chars``."""
    out: list[_Unit] = []
    pending: list[Block] = []
    pending_path: list[str] = []

    def add(unit: _Unit) -> None:
        prev = out[-1] if out else None
        if (
            prev is not None
            and len(prev.text) + 1 + len(unit.text) <= max_chars  # joined by a line break
            and _siblings(prev, unit, min_chars)
        ):
            prev.blocks.extend(unit.blocks)
            prev.path = _common_path(prev.path, unit.path, prev.table)
        else:
            out.append(unit)

    for unit in units:
        if unit.heading_only:
            if pending and not _is_prefix(pending_path, unit.path):
                add(_Unit(pending_path, pending))
                pending = []
            pending.extend(unit.blocks)
            pending_path = unit.path
            continue
        if pending:
            if _is_prefix(pending_path, unit.path):
                unit = _Unit(unit.path, pending + unit.blocks, table=unit.table)
            else:
                add(_Unit(pending_path, pending))
            pending = []
        add(unit)
    if pending:
        add(_Unit(pending_path, pending))
    return out


def _siblings(prev: _Unit, unit: _Unit, min_chars: int) -> bool:
    if _is_article(prev) or _is_article(unit) or [HISTORY_PATH] in (prev.path, unit.path):
        return False  # an article is cited by its number, and the history is not a clause
    if prev.table or unit.table:
        return prev.table and unit.table and prev.path[:-1] == unit.path[: len(prev.path) - 1]
    short = len(unit.text) < min_chars or len(prev.text) < min_chars
    return short and prev.path[:-1] == unit.path[:-1]


def _is_article(unit: _Unit) -> bool:
    return bool(unit.path) and heading_level(unit.path[-1]) == _ARTICLE_LEVEL


def _common_path(a: list[str], b: list[str], table: bool) -> list[str]:
    if table and a and b and a[:-1] == b[:-1]:
        first = a[-1].split("-")[0]
        return a[:-1] + [f"{first}-{b[-1].removeprefix('序号')}" if first.startswith("序号") else a[-1]]
    if a == b:
        return a
    if len(a) != len(b):
        return a
    first, last = _MARKER.match(a[-1]), _MARKER.match(b[-1])
    if first and last:
        return a[:-1] + [f"{first.group(1)}-{last.group(1)}"]
    return a[:-1]


def _split(unit: _Unit, max_chars: int, min_chars: int, overlap_chars: int) -> list[tuple[str, int, int]]:
    """(text, start, end) pieces of a unit, split at sentence boundaries when it is too long. Headings
    on lines of their own at the start stay with the first sentences below them, and a first piece
    shorter than ``min_chars`` is joined to the next, so that piece may reach ``max_chars + min_chars``."""
    text = unit.text
    start, end = unit.blocks[0].start, unit.blocks[-1].end
    if len(text) <= max_chars or unit.table:
        return [(text, start, end)]
    head = 0
    for line in text.split("\n")[:-1]:
        if not _heading_alone(line) or head + len(line) + 1 > max_chars // 2:
            break
        head += len(line) + 1
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max_chars - head,
        chunk_overlap=overlap_chars,
        separators=["\n", "。", "；", ";", "，", ",", "、", ""],
        keep_separator="end",
    )
    spans: list[tuple[int, int]] = []
    pos = head
    for piece in splitter.split_text(text[head:]):
        if piece.strip():
            local = max(text.find(piece, pos), pos)
            spans.append((0 if not spans else local, local + len(piece)))
            pos = local + 1
    while len(spans) > 1 and spans[0][1] - spans[0][0] < min_chars:
        spans[:2] = [(spans[0][0], spans[1][1])]
    return [(text[a:b], _offset(unit.blocks, a), _offset(unit.blocks, b)) for a, b in spans]


def _heading_alone(line: str) -> bool:
    """A heading with no text of its own: short, and no sentence after its first full stop."""
    line = line.strip()
    return len(line) <= _LABEL_MAX and "。" not in line[:-1] and heading_level(line) is not None


def _offset(blocks: list[Block], local: int) -> int:
    """Map an offset in the joined text of ``blocks`` back into the source file (approximately
    inside a block whose broken lines were joined)."""
    for block in blocks:
        if local <= len(block.text):
            return min(block.start + local, block.end)
        local -= len(block.text) + 1
    return blocks[-1].end


def chunk_document(
    doc: Document, max_chars: int = 360, min_chars: int = 60, overlap_chars: int = 80
) -> list[Chunk]:
    """Chunks of one document, in reading order.

    Args:
        doc: the parsed document.
        max_chars: clauses longer than this are split at sentence boundaries.
        min_chars: shorter sibling clauses are merged up to ``max_chars``.
        overlap_chars: a piece of a split clause repeats up to this many characters (whole
            sentences) of the piece before it, so that a list keeps the sentence that announces it.
    """
    chunks: list[Chunk] = []
    stem = Path(doc.source_file).with_suffix("").as_posix()
    for unit in _merge(_units(doc), max_chars, min_chars):
        part = next((b.part for b in unit.blocks if b.part), "")
        path = PATH_SEP.join(unit.path) or "正文"
        for text, start, end in _split(unit, max_chars, min_chars, overlap_chars):
            chunks.append(
                Chunk(
                    chunk_id=f"{stem}@{start}",
                    text=text,
                    source_file=doc.source_file,
                    doc_title=doc.title,
                    doc_number=doc.doc_number,
                    issuer=doc.issuer,
                    date=doc.issue_date,
                    clause_path=path,
                    start=start,
                    end=end,
                    part=part,
                    kind=doc.kind,
                    amended_date=doc.amended_date,
                    effective_date=doc.effective_date,
                    valid_until=doc.valid_until,
                )
            )
    _item_spans(chunks)
    _cite(chunks)
    return chunks


_CITATION = re.compile(
    rf"本(?:{'|'.join(KINDS)})(第[{_N}]+条(?:之[{_N}]+)?)(?:第[{_N}]+款)?((?:第[（(]?[{_N}]+[)）]?项[、和及或]?)*)"
)
"""A clause citing another of its document by number: 本条例第十四条第一款, 本办法第五条第(二)项."""
_CITED_CHARS = 300


def _cite(chunks: list[Chunk]) -> None:
    """Set ``cited`` of each chunk that cites articles of its document: their wording (only the cited
    items, with the article's first line, when it names items), up to ``_CITED_CHARS`` characters."""
    articles: dict[str, str] = {}
    for c in chunks:
        label = c.clause_path.rpartition(PATH_SEP)[2]
        if _ARTICLE.fullmatch(label):
            articles[label] = articles.get(label, "") + c.text
    for c in chunks:
        cited = []
        for m in _CITATION.finditer(c.text):
            text = articles.get(m.group(1), "")
            items = re.findall(rf"第[（(]?([{_N}]+)[)）]?项", m.group(2))
            if text and items:
                lines = text.split("\n")
                text = "\n".join(
                    [lines[0], *(ln for ln in lines if re.match(rf"[(（]({'|'.join(items)})[)）]", ln))]
                )
            if text and text not in cited:
                cited.append(text[:_CITED_CHARS])
        c.cited = "\n".join(cited)


def item_range(clause_path: str) -> tuple[int, int] | None:
    """The first and last number of the numbered items or table rows that a clause path's last level
    names (``2. 强化…``: 2 and 2; ``1-12``; ``序号13``), or None when it names none."""
    m = _ITEM.match(clause_path.rpartition(PATH_SEP)[2])
    return (int(m.group(1)), int(m.group(2) or m.group(1))) if m else None


def _item_spans(chunks: list[Chunk]) -> None:
    """Set ``list_items`` of each numbered item or table row: the first and last number under its parent."""
    groups: dict[tuple[str, str], list[tuple[Chunk, int, int]]] = {}
    for c in chunks:
        if items := item_range(c.clause_path):
            parent = c.clause_path.rpartition(PATH_SEP)[0]
            groups.setdefault((c.part, parent), []).append((c, *items))
    for group in groups.values():
        span = f"{min(first for _, first, _ in group)}-{max(last for _, _, last in group)}"
        for c, _, _ in group:
            c.list_items = span


def chunk_documents(
    docs: list[Document], max_chars: int = 360, min_chars: int = 60, overlap_chars: int = 80
) -> list[Chunk]:
    """Chunks of all documents (arguments as :func:`chunk_document`); chunk ids are unique."""
    return unique_ids([c for doc in docs for c in chunk_document(doc, max_chars, min_chars, overlap_chars)])


def unique_ids(chunks: list[Chunk]) -> list[Chunk]:
    """``chunks`` with a repeated chunk id numbered (``a.md#x``, ``a.md#x.1``); ids already unique stay."""
    seen: set[str] = set()
    for c in chunks:
        base, n = c.chunk_id, 0
        while c.chunk_id in seen:
            n += 1
            c.chunk_id = f"{base}.{n}"
        seen.add(c.chunk_id)
    return chunks
