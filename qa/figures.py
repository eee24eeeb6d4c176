"""What a text states, for comparing a reply with its passages: wording normalised (figures in Arabic
numerals whatever the script), its sentences, the figures it states with their units, and its ``[n]``
citation markers."""

from __future__ import annotations

import re
import unicodedata

from qa.numerals import arabic_numerals

MARKER = re.compile(r"[\[【]\s*(?:资料|材料)?\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】]")


_SENTENCE = re.compile(r"[^。！？；;!?\n]+[。！？；;!?\n]*")


WHOLE_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?\n]*")
"""A sentence with its ；-parts, or a table row with its cells: what an answer quotes."""


NUMBER = re.compile(r"\d+(?:\.\d+)?(?:/\d+)?")
"""A figure's number: an integer, a decimal or a fraction (2/3, as :func:`norm` writes 三分之二)."""


_UNIT = re.compile(
    r"个?(?:小时|月|星期)|(?:万亿|亿|万|千)?(?:美元|元|吨|公里|千米|平方米|米|亩|倍)|分钟|工作日|日|天|周(?!岁)|周?岁|年"
    r"|万亿|亿|万|千|%|‰"
)
"""The unit written right after a figure (12800 万吨, 15%, 10 年): a figure stated with another unit is
another figure. Counting words (人, 名, 个, 家) are left out: 1.2 名 医师 is the passage's 1.2 人."""


REFERENCE = re.compile(r"第\d+[编章节条款项]")
"""A reference to a part of a document (第17条, in :func:`norm`'s form): a place in it, not a figure."""


_LIST_NUMBER = re.compile(r"^\s*(?:\d{1,2}[.、．]|[(（]\d{1,2}[)）])(?!\d)")
"""The number of a list item (``1.``, ``2、``, ``(3)``) that starts a line: not a claim."""


QUOTE_CHARS = 160
"""The longest quote an answer carries; a longer sentence is cut to the part around its figure."""


_DAYS = re.compile(r"(?<=\d)天")
"""天 after a figure: the same unit as 日."""


def norm(text: str) -> str:
    """NFKC with white space and thousands separators removed, figures in Arabic numerals (十五日 ->
    15日, see :func:`arabic_numerals`) and days counted in 日 (30天 -> 30日), for comparing wording and
    figures."""
    text = re.sub(r"(?<=\d),(?=\d{3})|\s+", "", unicodedata.normalize("NFKC", text))
    return _DAYS.sub("日", arabic_numerals(text))


def bigrams(text: str) -> set[str]:
    text = re.sub(r"[^\w%]", "", norm(text))
    return {text[i : i + 2] for i in range(len(text) - 1)}


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (ending at 。！？；, a line break, or the end)."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def stating_spans(text: str, figures: list[str], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Those of the ``spans`` of ``text`` (its sentences) that state any of the ``figures``."""
    return [s for s in spans if any(number_in(x, norm(text[slice(*s)])) for x in figures)]


def unit_at(text: str, at: int) -> str:
    match = _UNIT.match(text, at)
    unit = match.group().removeprefix("个") if match else ""  # 1个小时 is 1小时
    return {"星期": "周", "周岁": "岁"}.get(unit, unit)  # 2个星期 is 2周, 60周岁 is 60岁


def number_in(figure: str, text: str) -> bool:
    """Whether ``text`` (normalised) states ``figure``, a number with or without its unit (``12800万吨``),
    in either script (both through :func:`norm`). A unit must not contradict the text's: 12800 亿元 does not
    state 12800 万吨, while a bare 35000 (a table cell, its unit in the header) or 20 万元 states 20 万."""
    number, unit = split_figure(figure)
    for match in re.finditer(rf"(?<![\d.]){re.escape(number)}(?![\d]|\.\d)", text):
        written = unit_at(text, match.end())
        if not (unit and written) or written.startswith(unit) or unit.startswith(written):
            return True
    return False


def split_figure(figure: str) -> tuple[str, str]:
    """A figure's number and unit: ``("12800", "万吨")``."""
    match = NUMBER.match(figure)
    return (match.group(), figure[match.end() :]) if match else (figure, "")


def claims(text: str, question: str) -> list[str]:
    """The figures, each with its unit, that ``text`` states (markers and list numbers aside) and
    ``question`` does not: what the text claims, which a passage must state. An ordinal (第三卫生间, 第四批,
    第二十一条) is a name, not a figure, unless the question asks which one (第几)."""
    said = norm(unmarked(text))
    asked = norm(question)
    ordinals = "第几" in asked
    return [
        m.group() + unit_at(said, m.end())
        for m in NUMBER.finditer(said)
        if not number_in(m.group(), asked) and (ordinals or not said[: m.start()].endswith("第"))
    ]


def unmarked(text: str) -> str:
    """``text`` without its ``[n]`` markers and the numbers of its list items (``1.``): what it states."""
    return "\n".join(_LIST_NUMBER.sub("", line) for line in MARKER.sub("", text).split("\n"))


def markers(text: str) -> list[int]:
    """The passage numbers that ``[n]`` / ``[n, m]`` / ``【n】`` markers in ``text`` name, in order."""
    found: list[int] = []
    for m in MARKER.finditer(text):
        found += [int(n) for n in re.split(r"\s*[,，、]\s*", m.group(1))]
    return found


def closest_span(text: str, spans: list[tuple[int, int]], wanted: set[str]) -> tuple[int, tuple[int, int]]:
    """Of the ``spans`` of ``text``, the one sharing most of the ``wanted`` bigrams, with how many."""
    return max(((len(bigrams(text[slice(*s)]) & wanted), s) for s in spans), default=(0, (0, 0)))


def window(text: str, start: int, end: int, figures: list[str]) -> tuple[int, int]:
    """The span ``start:end`` of ``text``, or when longer than :data:`QUOTE_CHARS` a window of it from a
    little before the first of the ``figures`` it states."""
    if end - start <= QUOTE_CHARS:
        return start, end
    numbers = {split_figure(x)[0] for x in figures}
    at = next((m.start() for m in NUMBER.finditer(text, start, end) if m.group() in numbers), start)
    start = max(start, min(at - QUOTE_CHARS // 3, end - QUOTE_CHARS))
    return start, start + QUOTE_CHARS
