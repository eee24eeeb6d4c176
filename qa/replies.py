"""Reading the model's reply: where it ends, what it adds besides its answer, whether it declines, and the
check of its citations (every ``[n]`` names a given passage; every figure is in a passage it cites, a
statement moving to the passage that states it)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from qa.figures import MARKER, REFERENCE, bigrams, claims, markers, norm, number_in, sentences, unmarked
from qa.parsing import DOC_NUMBER_ANYWHERE
from qa.prompting import INSTRUCTION

_DECLINES = re.compile(
    r"未提及|没有提及|未提到|没有提到|未涉及|没有涉及|没有相关|无相关|未找到|没有找到|无法回答|无法确定|不清楚"
    r"|(资料|材料|文件)(中|里)?(并)?(没有|未|无)(明确|具体)?(说明|规定|给出|写明|列出)"
    r"|(?i:\b(?:do|does) not (?:mention|say|state|specify|provide|contain)"
    r"|not (?:mentioned|stated|specified|provided)"
    r"|no (?:information|mention)|cannot (?:answer|be answered|find|be determined)|unable to)"
)


QUOTED = 4
"""Characters before or after a decline phrase that, found with it in a passage, make it a quotation."""
_NONE = re.compile(r"[:：]\s*(?:无|没有)\s*(?:[\[【。，,；;]|$)")


_PLACEHOLDER = re.compile(
    r"\[编号\]|根据资料(?=\[\d)|^\s*(?:问题\s*[:：][^\n]*\n+\s*)?(?:(?:答案|回答)\s*[:：]\s*)?|"
    + "|".join(re.escape(part) for part in re.findall(r"[^，；。]+[，；。]", INSTRUCTION))
)
"""What the model writes besides its answer: a placeholder, a label before a marker, the question and an
"答案：" label before it, a sentence of the instruction."""


_LEAD_MARKER = re.compile(r"^\s*(?:根据|依据)资料\s*(\[[\d,，、\s]+\])\s*[，,：:]?\s*([^。！？\n]*)")
"""A reply opening with its marker (根据资料[1]，…): the marker goes to the end of that sentence."""


_LISTING = re.compile(r"\n\s*(?:(?:依据|参考)的?资料|资料(?:来源|依据)|来源|依据)\s*[:：].*", re.DOTALL)
"""The model's own list of the passages it used, after its answer: only its markers are kept."""


_CLAUSE = r"第[一二三四五六七八九十百零〇\d]+[条款项]"
_SOURCE_NOTE = re.compile(
    r"(?<=[。！？；\n])\s*(?:(?:根据|依据|参见|详见|见)\s*(?:资料)?\s*)?((?:\[[\d,，、\s]+\]\s*)+)"
    rf"(?:《[^》]{{1,60}}》\s*)?(?:{_CLAUSE}(?:\s*(?:[和、及与至]\s*)?{_CLAUSE})*)?\s*(?:的?(?:相关)?规定)?"
    r"\s*(?=[。.]?\s*$|[。.]\s*\n)[。.]?"
)
"""A sentence after the answer that only names its source (``根据资料[2]第三十八条。``,
``[3]第四条和第五条的规定。``): the model's own note, often naming the wrong clause; its markers are kept,
its words cut (the checked citation and the 出处 line name the clause)."""
_DOC_MARKER = re.compile(rf"[\[【]\s*({DOC_NUMBER_ANYWHERE.pattern})\s*[\]】]")
"""A marker naming a document by its 发文字号 instead of a passage number."""
STOP = ("\n问题：", "\n问题:", "\nQuestion:")
"""Where a reply ends: the small model, done answering, sometimes writes a question of its own and
answers it again, over and over."""


_STRAY_COMMA = re.compile(r"([。！？；])[，,]")
"""A comma left after a full stop where ``根据资料[n]，`` opened the sentence."""


CLOSERS = "。！？；;!?"
"""What ends a statement."""


YES_NO = re.compile(r"吗\s*[?？]|吗\s*$|是否|能不能|可不可以|要不要|会不会|有没有")


RECITE_MARGIN = 4
"""A statement moves to another passage when that one holds at least twice as many and this many more
of its wording's bigrams than the passage it cites (or as many, and more of the question's)."""


def renumber(text: str, numbers: Mapping[int, int]) -> str:
    """``text`` with the passage numbers of its markers replaced as ``numbers`` maps them (others kept)."""
    return MARKER.sub(
        lambda m: "[" + ", ".join(str(numbers.get(n, n)) for n in markers(m.group())) + "]", text
    )


def renumbered(pieces: Iterable[str], numbers: Mapping[int, int]) -> Iterator[str]:
    """The ``pieces`` of a streamed reply, :func:`renumber`-ed; a marker cut between pieces is held back
    until it closes."""
    held = ""
    for piece in pieces:
        held += piece
        opening = max(held.rfind("["), held.rfind("【"))
        open_marker = opening >= 0 and not re.search(r"[\]】]", held[opening:]) and len(held) - opening < 16
        cut = opening if open_marker else len(held)
        if cut:
            yield renumber(held[:cut], numbers)
            held = held[cut:]
    if held:
        yield renumber(held, numbers)


@dataclass
class Check:
    """What :func:`check_reply` found in a reply."""

    text: str  # the reply with markers naming no given passage removed
    cited: list[int]  # valid passage numbers, in order of first citation
    invalid_markers: list[int]  # numbers that name no given passage
    unsupported: list[str]  # statements with a number or date that no cited passage states
    written: list[int] = field(default_factory=list)  # as the model wrote them, or moved for their figures


def check_reply(reply: str, passages: list[str], question: str = "") -> Check:
    """Check a reply against the passages it was given (numbered from 1).

    The reply ends where the model starts a question of its own (:data:`STOP`); a list of the passages it
    used is cut to its markers. Every ``[n]`` must name a given passage (others are removed and reported).
    Every number in a statement must appear in a passage that the statement cites (or, for a statement
    without a marker, one that the reply cites elsewhere); numbers taken from the question are not claims.
    A statement whose figures its marker's passage lacks but another given passage states all of is
    re-cited to that passage (of several, the one sharing most of the statement's wording, then of the
    question's: the named plan's table row, not the outline stating the same target); otherwise it is
    unsupported. One whose only marker names no given passage (a table row's 序号 copied as one:
    平时保持在85%以上[7]) is cited to the passage stating its figures. A statement is also re-cited when
    another passage that states its figures holds clearly more of its own wording (the words not taken
    from the question) than the one it cites, or as much of it and more of the question's words: the
    model often cites the first passage for what the second says (a penalty article for the rule it
    enforces, in the same words). When the reply cites nothing, the passage that states most of its
    figures (then shares most wording) counts as cited.
    """
    given = range(1, len(passages) + 1)
    invalid = [n for n in markers(reply) if n not in given]

    def keep_valid(m: re.Match[str]) -> str:
        valid = [n for n in re.split(r"\s*[,，、]\s*", m.group(1)) if int(n) in given]
        return f"[{', '.join(valid)}]" if valid else ""

    reply = min((reply[: reply.find(s)] for s in STOP if s in reply), key=len, default=reply)
    reply = _named_markers(reply, passages)
    reply = _LEAD_MARKER.sub(r"\2\1", reply, count=1)
    reply = _SOURCE_NOTE.sub(_markers_only, _LISTING.sub(_markers_only, reply))
    text = MARKER.sub(keep_valid, _PLACEHOLDER.sub("", reply)).strip()
    normalised = [norm(p) for p in passages]
    wording = [bigrams(p) for p in passages]
    article = [_article(p) for p in normalised]
    asked = bigrams(question)
    fallback = [_best_source(text, normalised, question)] if passages and text and not markers(text) else []
    unsupported, pieces, vouched, last = [], [], [], 0
    for start, end in _statements(text):
        statement = text[start:end]
        stated = markers(statement)
        own = stated or fallback or markers(text)
        bare = unmarked(statement)
        figures = claims(statement, question)
        stating = [n for n in given if all(number_in(x, normalised[n - 1]) for x in figures)]
        content = bigrams(bare) - asked
        support = {n: len(content & wording[n - 1]) for n in given}
        fit = {n: (support[n], len(asked & wording[n - 1])) for n in given}
        misplaced = bool(figures) and not set(own) & set(stating)
        said = norm(bare)
        articles = REFERENCE.findall(said)
        rest = claims(REFERENCE.sub("", said), question) if articles else []
        named = [
            n
            for n in given
            if article[n - 1] in articles and all(number_in(x, normalised[n - 1]) for x in rest)
        ]
        if named:  # it names the article it cites (stating its other figures)
            statement = statement if set(own) & set(named) else _recite(statement, named[0])
        elif misplaced and stating and stated:
            statement = _recite(statement, max(stating, key=fit.__getitem__))
        elif figures and not misplaced and invalid and fallback and not markers(statement):
            statement = _recite(statement, fallback[0])  # its marker named no given passage
        elif misplaced and not stating:
            unsupported.append(statement.strip())
        vouched += markers(statement)  # as written, or moved to the passage stating its figures
        if stated and stating and not misplaced and not named:
            best, held = max(stating, key=fit.__getitem__), max(support[n] for n in stated)
            held_q = max(fit[n][1] for n in stated)
            if support[best] >= max(2 * held, held + RECITE_MARGIN) or (
                support[best] >= held and fit[best][1] > held_q
            ):
                statement = _recite(statement, best)
        pieces += [text[last:start], statement]
        last = end
    text = _STRAY_COMMA.sub(r"\1", "".join([*pieces, text[last:]]))
    cited = list(dict.fromkeys(markers(text))) or fallback
    return Check(text, cited, invalid, unsupported, list(dict.fromkeys(vouched)))


def _markers_only(match: re.Match[str]) -> str:
    """The markers of a matched note or listing of the model's sources, without its words."""
    return "".join(f"[{n}]" for n in dict.fromkeys(markers(match.group())))


def _named_markers(reply: str, passages: list[str]) -> str:
    """``reply`` with each marker that names a document by its 发文字号 (``[嘉政发〔2024〕8号]``) written as
    the numbers of the given passages of that document (``[2]``), or removed when none is."""

    def numbered(m: re.Match[str]) -> str:
        wanted = norm(m.group(1))
        found = [str(n) for n, p in enumerate(passages, 1) if wanted in norm(p.split("\n", 1)[0])]
        return f"[{', '.join(found)}]" if found else ""

    return _DOC_MARKER.sub(numbered, reply)


def _statements(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text``, a marker written after the full stop (``…民生。[1]``, or
    ``…20万元。根据资料[1]。`` once its label is gone) kept with the sentence before it."""
    spans: list[tuple[int, int]] = []
    for start, end in sentences(text):
        if spans and not MARKER.sub("", text[start:end]).strip().strip(CLOSERS):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


_ARTICLE = re.compile(r"(?:第\d+[编章节][^第]{0,24})?(第\d+条)")
"""The article a passage (in :func:`norm`'s form) is: the 第N条 it starts with, after its chapter's
heading."""


def _article(passage: str) -> str:
    """The article ``passage`` is (``第13条``), or '' for a passage that is no article."""
    match = _ARTICLE.match(passage)
    return match.group(1) if match else ""


def _recite(statement: str, n: int) -> str:
    """``statement`` with its markers replaced by one ``[n]`` before its closing punctuation."""
    statement = MARKER.sub("", statement).rstrip()
    stop = len(statement.rstrip(CLOSERS))
    return f"{statement[:stop]}[{n}]{statement[stop : stop + 1]}"


def _best_source(text: str, normalised: list[str], question: str) -> int:
    """The passage (numbered from 1) that states most of ``text``'s figures, then shares most wording."""
    figures = claims(text, question)
    wording = bigrams(text)
    scores = [(sum(number_in(x, p) for x in figures), len(bigrams(p) & wording)) for p in normalised]
    return scores.index(max(scores)) + 1


def declines(reply: str, question: str = "", passages: list[str] | None = None) -> bool:
    """Whether the model's reply says that the passages do not answer, or, to a question that is not a
    yes-or-no one, that there is none (``登月计划：无[1]``). Words quoted from the ``passages``
    (``无法确定权利人的`` of a rule) say nothing of the kind."""
    head = reply[:80]
    texts = [norm(p) for p in passages or []]

    def said(m: re.Match[str]) -> bool:  # the words before and after the match are the reply's own
        before, after = head[max(0, m.start() - QUOTED) : m.end()], head[m.start() : m.end() + QUOTED]
        quoted = [norm(words) for words in (before, after) if len(words) > m.end() - m.start()]
        return not any(words in text for words in quoted for text in texts)

    return any(said(m) for m in _DECLINES.finditer(head)) or bool(
        _NONE.search(head) and not YES_NO.search(question)
    )
