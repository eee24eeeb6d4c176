"""The answering step around the model: the prompt (numbered, labelled passages within a character
budget), the check of every reply (``[n]`` markers must name given passages; numbers and dates must
appear in a cited passage), and abstention ("资料中未提及") decided from the model's reply together
with the retrieval evidence. A question in another language is answered in that language, from the
same Chinese passages (its Chinese translation, the retrieval query, serves the checks)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from qa.chunking import PATH_SEP, Chunk, item_range
from qa.language import Language
from qa.lexical import normalize, tokenize
from qa.numerals import arabic_numerals
from qa.parsing import DOC_NUMBER_ANYWHERE
from qa.retrieval import Hit, short_plan
from qa.validity import Validity

NOT_FOUND = "资料中未提及"

SYSTEM_PROMPT = "你是政策文件问答助手，根据用户提供的资料回答问题。"

INSTRUCTION = (
    "请用中文简短回答，先直接给出答案；问题有几问就逐一回答。"
    "数字、日期、名称照抄资料原文，句末用[编号]注明依据的资料。"
)
"""Said after the passages. Telling this 1.5B model when to reply "资料中未提及" made it decline nearly
every question (answerable ones too), so abstention is decided by :func:`finish` instead."""

SYSTEM_PROMPT_OTHER = (
    "You answer questions about Chinese policy documents from the passages the user gives, in the "
    "language of the question."
)

INSTRUCTION_OTHER = (
    "Answer in the language of the question above, not in Chinese: briefly, the direct answer first. Copy "
    "numbers and dates exactly as the passages write them, and put the passage number such as [1] after "
    "each statement."
)
"""The system prompt and the words after the passages when the question is not in Chinese."""

WORDING = {
    Language.CHINESE: {
        "system": SYSTEM_PROMPT,
        "instruction": INSTRUCTION,
        "earlier": "此前的问题：",
        "joiner": "；",
        "question": "问题：",
        "passages": "资料：",
        "not_found": f"{NOT_FOUND}。",
        "nearby": "资料中相近的内容：",
        "note": "注意：",
        "source": "出处：",
    },
    Language.OTHER: {
        "system": SYSTEM_PROMPT_OTHER,
        "instruction": INSTRUCTION_OTHER,
        "earlier": "Earlier questions: ",
        "joiner": "; ",
        "question": "Question: ",
        "passages": "Passages:",
        "not_found": f"The documents do not mention this ({NOT_FOUND}).",
        "nearby": "Closest passages in the documents (资料中相近的内容):",
        "note": "Note: ",
        "source": "Source: ",
    },
}
"""What the answering step itself says, to the model and to the user, by the language of the question."""

_MARKER = re.compile(r"[\[【]\s*(?:资料|材料)?\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】]")
_DECLINES = re.compile(
    r"未提及|没有提及|未提到|没有提到|未涉及|没有涉及|没有相关|无相关|未找到|没有找到|无法回答|无法确定|不清楚"
    r"|(资料|材料|文件)(中|里)?(并)?(没有|未|无)(明确|具体)?(说明|规定|给出|写明|列出)"
    r"|(?i:\b(?:do|does) not (?:mention|say|state|specify|provide|contain)"
    r"|not (?:mentioned|stated|specified|provided)"
    r"|no (?:information|mention)|cannot (?:answer|be answered|find|be determined)|unable to)"
)
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
STOP = ("\n问题：", "\n问题:", "\nQuestion:")
"""Where a reply ends: the small model, done answering, sometimes writes a question of its own and
answers it again, over and over."""
_STRAY_COMMA = re.compile(r"([。！？；])[，,]")
"""A comma left after a full stop where ``根据资料[n]，`` opened the sentence."""
_CLOSERS = "。！？；;!?"
"""What ends a statement."""
_SENTENCE = re.compile(r"[^。！？；;!?\n]+[。！？；;!?\n]*")
_WHOLE_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?\n]*")
"""A sentence with its ；-parts, or a table row with its cells: what an answer quotes."""
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:/\d+)?")
"""A figure's number: an integer, a decimal or a fraction (2/3, as :func:`norm` writes 三分之二)."""
_UNIT = re.compile(
    r"个?(?:小时|月)|(?:万亿|亿|万|千)?(?:美元|元|吨|公里|千米|平方米|米|亩|倍)|分钟|工作日|日|天|周?岁|年"
    r"|万亿|亿|万|千|%|‰"
)
"""The unit written right after a figure (12800 万吨, 15%, 10 年): a figure stated with another unit is
another figure. Counting words (人, 名, 个, 家) are left out: 1.2 名 医师 is the passage's 1.2 人."""
_PLACES = re.compile(
    "杭州|宁波|温州|嘉兴|湖州|绍兴|金华|衢州|舟山|台州|丽水|义乌|南湖|秀洲|嘉善|平湖|海盐|海宁|桐乡|上海|江苏|安徽"
)
_PROVINCE = re.compile(r"浙江|全省|省里|省政府|省[“\"]?十[一二三四五六七八九]五")
_QUOTED = re.compile(r"[“\"]([^”\"]{2,12})[”\"]")
_YEAR = re.compile(r"((?:19|20)\d\d)年")
_LEVEL = re.compile(r"(国家|省|市|县|区)级")
"""A level of government that an award or a body belongs to."""
_LIST_NUMBER = re.compile(r"^\s*(?:\d{1,2}[.、．]|[(（]\d{1,2}[)）])(?!\d)")
"""The number of a list item (``1.``, ``2、``, ``(3)``) that starts a line: not a claim."""
_ASKING = set(
    "规定 要求 提出 文件 哪家 哪份 哪条 哪些 哪里 哪几 几个 什么 多少 是否 可以 分别 浙江 浙江省 "
    "一个 这个 时候".split()
)
MIN_COVERAGE = 0.3
"""An answer's cited passage holds at least this share of the question's content words (for every
answerable dev and held-out question, the best passage given held 0.5 or more)."""
WHERE_COVERAGE = 0.5
"""A question asking where a rule is written is answered from its best passage alone when the model's
reply is rejected and that passage holds this share of its content words."""
_WHERE = re.compile(r"哪份|哪个文件|哪一?[条节款]|哪一?部分|出自|出处|文号|条款")
"""A question asking where a rule is written (which document, which clause): answered with its source."""
_ASKS_TOTAL = re.compile(r"(?:一共|总共|共有|共列|合计|总计|共计).{0,8}(?:多少|几)")
"""A question asking how many items a list holds: a passage from a numbered list says which it numbers."""
_YES_NO = re.compile(r"吗\s*[?？]|吗\s*$|是否|能不能|可不可以|要不要|会不会|有没有")
QUOTE_CHARS = 160
"""The longest quote an answer carries; a longer sentence is cut to the part around its figure."""
TERSE_BIGRAMS = 4
"""A reply adding fewer bigrams than this to the question's wording, besides its figures, is a bare yes
or no or a bare figure (可以。/ 35000); the answer then quotes the sentence of its passage behind it."""
RECITE_MARGIN = 4
"""A statement moves to another passage when that one holds at least twice as many and this many more
of its wording's bigrams than the passage it cites."""
VERIFY = "资料：\n{quotes}\n\n问题：{question}\n\n仅凭这段资料，能回答上面的问题吗？只回答“能”或“不能”。"
"""Asked of the model once an answer with figures has passed the checks (see :func:`verification`)."""


def norm(text: str) -> str:
    """NFKC with white space and thousands separators removed and figures in Arabic numerals (十五日 ->
    15日, see :func:`arabic_numerals`), for comparing wording and figures."""
    text = arabic_numerals(unicodedata.normalize("NFKC", text))
    return re.sub(r"(?<=\d),(?=\d{3})|\s+", "", text)


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"[^\w%]", "", norm(text))
    return {text[i : i + 2] for i in range(len(text) - 1)}


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (ending at 。！？；, a line break, or the end)."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def _stating(text: str, figures: list[str], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Those of the ``spans`` of ``text`` (its sentences) that state any of the ``figures``."""
    return [s for s in spans if any(number_in(x, norm(text[slice(*s)])) for x in figures)]


def excerpt(text: str, query: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters: the sentences that share most with ``query``, in
    their order, with "…" where sentences were left out."""
    if len(text) <= limit:
        return text
    spans = sentences(text)
    wanted = _bigrams(query)
    ranked = sorted(range(len(spans)), key=lambda i: -len(_bigrams(text[slice(*spans[i])]) & wanted))
    keep: set[int] = set()
    used = 0
    for i in ranked:
        size = spans[i][1] - spans[i][0]
        if keep and used + size > limit:
            continue
        keep.add(i)
        used += size
    out, last = [], -1
    for i in sorted(keep):
        if i != last + 1:
            out.append("…")
        out.append(text[slice(*spans[i])][: limit if len(keep) == 1 else None].strip())
        last = i
    if last != len(spans) - 1:
        out.append("…")
    return "".join(out)


def _unit_at(text: str, at: int) -> str:
    match = _UNIT.match(text, at)
    return match.group().removeprefix("个").removeprefix("周") if match else ""  # 1个小时 is 1小时


def number_in(figure: str, text: str) -> bool:
    """Whether ``text`` (normalised) states ``figure``, a number with or without its unit (``12800万吨``),
    in either script (both through :func:`norm`). A unit must not contradict the text's: 12800 亿元 does not
    state 12800 万吨, while a bare 35000 (a table cell, its unit in the header) or 20 万元 states 20 万."""
    number, unit = _split_figure(figure)
    for match in re.finditer(rf"(?<![\d.]){re.escape(number)}(?![\d]|\.\d)", text):
        written = _unit_at(text, match.end())
        if not (unit and written) or written.startswith(unit) or unit.startswith(written):
            return True
    return False


def _split_figure(figure: str) -> tuple[str, str]:
    """A figure's number and unit: ``("12800", "万吨")``."""
    match = _NUMBER.match(figure)
    return (match.group(), figure[match.end() :]) if match else (figure, "")


def claims(text: str, question: str) -> list[str]:
    """The figures, each with its unit, that ``text`` states (markers and list numbers aside) and
    ``question`` does not: what the text claims, which a passage must state."""
    said = norm(unmarked(text))
    asked = norm(question)
    return [
        m.group() + _unit_at(said, m.end()) for m in _NUMBER.finditer(said) if not number_in(m.group(), asked)
    ]


def unmarked(text: str) -> str:
    """``text`` without its ``[n]`` markers and the numbers of its list items (``1.``): what it states."""
    return "\n".join(_LIST_NUMBER.sub("", line) for line in _MARKER.sub("", text).split("\n"))


def markers(text: str) -> list[int]:
    """The passage numbers that ``[n]`` / ``[n, m]`` / ``【n】`` markers in ``text`` name, in order."""
    found: list[int] = []
    for m in _MARKER.finditer(text):
        found += [int(n) for n in re.split(r"\s*[,，、]\s*", m.group(1))]
    return found


def renumber(text: str, numbers: Mapping[int, int]) -> str:
    """``text`` with the passage numbers of its markers replaced as ``numbers`` maps them (others kept)."""
    return _MARKER.sub(
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
    from the question) than the one it cites: the model often cites the first passage for what the second
    says. When the reply cites nothing, the passage that states most of its figures (then shares most
    wording) counts as cited.
    """
    given = range(1, len(passages) + 1)
    invalid = [n for n in markers(reply) if n not in given]

    def keep_valid(m: re.Match[str]) -> str:
        valid = [n for n in re.split(r"\s*[,，、]\s*", m.group(1)) if int(n) in given]
        return f"[{', '.join(valid)}]" if valid else ""

    reply = min((reply[: reply.find(s)] for s in STOP if s in reply), key=len, default=reply)
    reply = _LEAD_MARKER.sub(r"\2\1", reply, count=1)
    reply = _LISTING.sub(lambda m: "".join(f"[{n}]" for n in dict.fromkeys(markers(m.group()))), reply)
    text = _MARKER.sub(keep_valid, _PLACEHOLDER.sub("", reply)).strip()
    normalised = [norm(p) for p in passages]
    wording = [_bigrams(p) for p in passages]
    asked = _bigrams(question)
    fallback = [_best_source(text, normalised, question)] if passages and text and not markers(text) else []
    unsupported, pieces, vouched, last = [], [], [], 0
    for start, end in _statements(text):
        statement = text[start:end]
        stated = markers(statement)
        own = stated or fallback or markers(text)
        bare = unmarked(statement)
        figures = claims(statement, question)
        stating = [n for n in given if all(number_in(x, normalised[n - 1]) for x in figures)]
        content = _bigrams(bare) - asked
        support = {n: len(content & wording[n - 1]) for n in given}
        fit = {n: (support[n], len(asked & wording[n - 1])) for n in given}
        misplaced = bool(figures) and not set(own) & set(stating)
        if misplaced and stating and stated:
            statement = _recite(statement, max(stating, key=fit.__getitem__))
        elif figures and not misplaced and invalid and fallback and not markers(statement):
            statement = _recite(statement, fallback[0])  # its marker named no given passage
        elif misplaced and not stating:
            unsupported.append(statement.strip())
        vouched += markers(statement)  # as written, or moved to the passage stating its figures
        if stated and stating and not misplaced:
            best, held = max(stating, key=fit.__getitem__), max(support[n] for n in stated)
            if support[best] >= max(2 * held, held + RECITE_MARGIN):
                statement = _recite(statement, best)
        pieces += [text[last:start], statement]
        last = end
    text = _STRAY_COMMA.sub(r"\1", "".join([*pieces, text[last:]]))
    cited = list(dict.fromkeys(markers(text))) or fallback
    return Check(text, cited, invalid, unsupported, list(dict.fromkeys(vouched)))


def _statements(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text``, a marker written after the full stop (``…民生。[1]``, or
    ``…20万元。根据资料[1]。`` once its label is gone) kept with the sentence before it."""
    spans: list[tuple[int, int]] = []
    for start, end in sentences(text):
        if spans and not _MARKER.sub("", text[start:end]).strip().strip(_CLOSERS):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _recite(statement: str, n: int) -> str:
    """``statement`` with its markers replaced by one ``[n]`` before its closing punctuation."""
    statement = _MARKER.sub("", statement).rstrip()
    stop = len(statement.rstrip(_CLOSERS))
    return f"{statement[:stop]}[{n}]{statement[stop : stop + 1]}"


def _best_source(text: str, normalised: list[str], question: str) -> int:
    """The passage (numbered from 1) that states most of ``text``'s figures, then shares most wording."""
    figures = claims(text, question)
    wording = _bigrams(text)
    scores = [(sum(number_in(x, p) for x in figures), len(_bigrams(p) & wording)) for p in normalised]
    return scores.index(max(scores)) + 1


def declines(reply: str, question: str = "") -> bool:
    """Whether the model's reply says that the passages do not answer, or, to a question that is not a
    yes-or-no one, that there is none (``登月计划：无[1]``)."""
    head = reply[:80]
    return bool(_DECLINES.search(head) or (_NONE.search(head) and not _YES_NO.search(question)))


def label(hit: Hit) -> str:
    """How a passage's document is named to the model and the user: 《title》（发文字号）."""
    c = hit.chunk
    return f"《{c.part or c.doc_title}》" + (f"（{c.doc_number}）" if c.doc_number else "")


@dataclass
class Prompt:
    messages: list[dict[str, str]]
    passages: list[str]  # each passage's label and whole text, numbered from 1 (what the check reads)


def build_prompt(
    question: str,
    query: str,
    hits: list[Hit],
    budget: int,
    history: list[str] | None = None,
    language: Language = Language.CHINESE,
) -> Prompt:
    """The chat messages: the question, then the passages (grouped under their document's title and 发文字号,
    each labelled with its clause path and cut to share ``budget`` characters, more to the better ranked),
    the question again and the instruction. To a question asking how many items there are in all, a
    passage from a numbered list or table also says which items the whole list numbers (``第1-134项``).

    Args:
        question: the user's question as asked.
        query: what retrieval searched for (the question with the turns before it, in Chinese); the
            passages are cut to the sentences that share most with it.
        hits: the retrieved passages, best first.
        budget: characters of passage text in all.
        history: earlier questions of the conversation, oldest first.
        language: the question's; any but Chinese is answered in the question's language.
    """
    blocks: dict[str, list[str]] = {}
    given = []
    left = budget
    total = bool(_ASKS_TOTAL.search(query))
    for i, hit in enumerate(hits):
        share = max(left // (len(hits) - i), min(left, 2 * budget // (len(hits) + 1)))
        text = excerpt(hit.chunk.text, query, share)
        left -= len(text)
        c = hit.chunk
        path = c.clause_path
        if c.list_items and total:
            first, last = c.list_items.split("-")
            path += f"（所在列表共{last}项）" if first == "1" else f"（所在列表为第{first}至{last}项）"
        name = label(hit)
        blocks.setdefault(name, []).append(f"[{i + 1}] {path}\n{text}")
        given.append(f"{name} {path}\n{c.text}")
    context = "\n\n".join(f"{name}\n" + "\n\n".join(texts) for name, texts in blocks.items())
    words = WORDING[language]
    before = f"{words['earlier']}{words['joiner'].join(history)}\n" if history else ""
    asked = f"{before}{words['question']}{question}"
    user = f"{asked}\n\n{words['passages']}\n{context}\n\n{asked}\n\n{words['instruction']}"
    messages = [{"role": "system", "content": words["system"]}, {"role": "user", "content": user}]
    return Prompt(messages, given)


@dataclass
class Answer:
    """A checked answer with the passages it was given (numbered from 1) and what it cites."""

    question: str
    query: str
    text: str
    abstained: bool
    passages: list[Hit]
    cited: list[int] = field(default_factory=list)
    invalid_markers: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    reply: str = ""  # the model's reply before the check
    refocus: list[int] = field(default_factory=list)  # passages to ask again with (see finish)

    def highlights(self, n: int) -> list[tuple[int, int]]:
        """Spans of passage ``n``'s text that support the answer: the sentences sharing the answer's
        numbers, else the one sharing most of its wording."""
        if self.abstained or not 1 <= n <= len(self.passages):
            return []
        text = self.passages[n - 1].chunk.text
        with_numbers = _stating(text, claims(self.text, self.question), sentences(text))
        if with_numbers:
            return with_numbers[:3]
        shared, closest = _closest(text, sentences(text), _bigrams(_MARKER.sub("", self.text)))
        return [closest] if shared >= 2 else []

    def renumbered(self, numbers: Mapping[int, int], passages: list[Hit]) -> Answer:
        """This answer citing ``passages``, in which its passage ``n`` is number ``numbers[n]``."""
        return replace(
            self,
            text=renumber(self.text, numbers),
            passages=passages,
            cited=[numbers[n] for n in self.cited],
            unsupported=[renumber(u, numbers) for u in self.unsupported],
            refocus=[],
        )

    def to_dict(self) -> dict[str, object]:
        """The answer object of the benchmark contract (``citations`` are the cited passages, with
        ``n``), plus the passages given, unsupported statements and invalid markers."""
        return {
            "question": self.question,
            "query": self.query,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [{"n": n, **self.passages[n - 1].to_dict()} for n in self.cited],
            "passages": [{"n": i + 1, **h.to_dict()} for i, h in enumerate(self.passages)],
            "unsupported": self.unsupported,
            "invalid_markers": self.invalid_markers,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "reply": self.reply,
        }


def nearby(question: str, hits: list[Hit], limit: int = 2, language: Language = Language.CHINESE) -> str:
    """What the documents cover near an unanswered question: the best passages' documents and clauses,
    each with its sentence closest to the (Chinese) question, after a header in ``language``."""
    seen, lines = set(), []
    for hit in hits:
        c = hit.chunk
        key = (c.doc_title, c.clause_path)
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"《{c.part or c.doc_title}》{c.clause_path}：{excerpt(c.text, question, 80)}")
        if len(lines) == limit:
            break
    header = WORDING[language]["nearby"]
    return f"{header}\n" + "\n".join(f"- {line}" for line in lines) if lines else ""


def _plain(text: str) -> str:
    """Text for matching anchors: normalised, lower case, and a plan's full name in its short form
    (第十四个五年 -> 十四五, as questions say it)."""
    return normalize(norm(short_plan(text)))


def anchors(question: str) -> list[str]:
    """What a passage must name to answer ``question``: the places and quoted terms it names. (Not its
    years: a clause's target year is often stated in its parent heading only.)"""
    found = _PLACES.findall(question) + _QUOTED.findall(question)
    return list(dict.fromkeys(_plain(a) for a in found))


def _context(hit: Hit) -> str:
    c = hit.chunk
    return normalize(" ".join([c.doc_title, c.part, c.issuer, c.clause_path, c.text]))


def coverage(question: str, hit: Hit, vocabulary: Container[str] | None = None) -> float:
    """Share of the question's content words (jieba, without asking words, figures and places, which
    :func:`anchors` and :func:`in_scope` test) that the passage holds with its document title and
    clause path. With ``vocabulary`` (the index's tokens): a question mostly in words the documents never
    use (a citizen's 打零工, 工钱, 老板) is a paraphrase, judged by the words they do use; a few such
    words among theirs (火星, 载人) name what the documents lack, and count; a question none of whose
    words they use (嘉兴出租车起步价) is answered by nothing."""
    words = [
        w
        for w in dict.fromkeys(tokenize(question))
        if len(w) > 1 and w not in _ASKING and not w.isdigit() and not _PLACES.search(w)
    ]
    if not words:
        return 1.0
    known = [w for w in words if vocabulary is None or w in vocabulary]
    if 2 * len(known) <= len(words):
        words = known
    context = _context(hit)
    return sum(w in context for w in words) / len(words) if words else 0.0


def dated_elsewhere(question: str, figures: list[str], passage: str) -> bool:
    """Whether the passage dates the answer's figures to other years than the one asked about: the
    question names a year that the passage never does, and every sentence stating a figure names
    another year (``提高到2020年城乡同标886元`` for a question on 2025)."""
    asked = set(_YEAR.findall(norm(question)))
    text = norm(passage)
    if not asked or not figures or asked & set(_YEAR.findall(text)):
        return False
    return _stated_of_others(asked, figures, text, _YEAR)


def leveled_elsewhere(question: str, figures: list[str], passage: str) -> bool:
    """Whether the passage states the answer's figures of another level than the one asked about: the
    question names a level (市级), and every sentence stating a figure names another, not it
    (``对新认定的省级重点企业研究院…给予 300 万元`` for a 市级 institute)."""
    asked = set(_LEVEL.findall(norm(question)))
    return bool(asked and figures) and _stated_of_others(asked, figures, norm(passage), _LEVEL)


def _stated_of_others(asked: set[str], figures: list[str], text: str, kind: re.Pattern[str]) -> bool:
    """Whether every sentence of ``text`` stating each of the ``figures`` names a ``kind`` (a year, a
    level) other than the ``asked`` ones, and none of these (a figure that is one itself, 2030年, aside)."""
    holding = [text[slice(*span)] for span in sentences(text)]
    for figure in figures:
        stating = [sentence for sentence in holding if number_in(figure, sentence)]
        number = _split_figure(figure)[0]
        named = [set(kind.findall(sentence)) - {number} for sentence in stating]
        if not stating or any(not found or found & asked for found in named):
            return False
    return True


def in_scope(question: str, hit: Hit) -> bool:
    """Whether the passage's issuer fits the place the question asks about: a question on the province
    (浙江, 全省) that names no city is not answered by a city's document (嘉兴's minimum wage is not the
    province's)."""
    about_province = _PROVINCE.search(question) and not _PLACES.search(question)
    return not (about_province and _PLACES.search(hit.chunk.issuer))


def _on_topic(
    question: str, query: str, hit: Hit, vocabulary: Container[str] | None, least: float = MIN_COVERAGE
) -> bool:
    wanted = anchors(question) or anchors(query)
    context = _plain(_context(hit))
    return (
        all(a in context for a in wanted)
        and in_scope(question, hit)
        and coverage(question, hit, vocabulary) >= least
    )


def finish(
    question: str,
    query: str,
    reply: str,
    hits: list[Hit],
    given: list[str],
    language: Language = Language.CHINESE,
    vocabulary: Container[str] | None = None,
) -> Answer:
    """Check the model's ``reply`` and decide abstention from it and from the retrieval evidence.

    Abstains when nothing was retrieved; when the model says the passages do not answer; when every
    marker it wrote names a passage that was not given (see :func:`check_reply` for one stating figures);
    when it states
    figures of which none is in any passage, or names a place (温州, 宁波) that no passage names, or
    when every passage it cites states its figures of another year or level than the one asked (see
    :func:`dated_elsewhere`, :func:`leveled_elsewhere`): not grounded in what was retrieved; or when
    no passage it cites names the places and quoted terms of the question (or, for a follow-up naming none, of
    ``query``, which carries the conversation) and at least :data:`MIN_COVERAGE` of its content words
    (those in ``vocabulary``, the words the documents use), or when it is a city's document and the
    question asks about the province: otherwise it answered about something else. The cited passages
    are those after the check (a statement moves to the passage stating its figures, or holding clearly
    more of its wording). For a question in another language, ``query`` (its Chinese translation) stands
    for the question in these checks, and the answer's own words are in that language. An answer
    abstaining only because its passages are about something else lists in ``refocus`` the given passages
    that are about the question, to ask again with.
    """
    asked = question if language == Language.CHINESE else query
    check = check_reply(reply, given, question)
    figures = claims(check.text, question)  # markers aside: the same after they move
    where = bool(_WHERE.search(asked))
    moved = {}
    if where:  # the clause asked about: of the cited document's passages, the one holding the question
        moved = {n: _clause_asked(asked, hits, n, figures, vocabulary) for n in check.cited}
    elif _ASKS_TOTAL.search(asked):  # how many items a list has: the passage holding its last one
        moved = {n: _last_item(hits, n, figures) for n in check.cited}
    if moved:
        check.text = renumber(check.text, moved)
        check.cited = list(dict.fromkeys(moved[n] for n in check.cited))
    grounded = not figures or any(number_in(x, norm(p)) for x in figures for p in given)
    grounded = grounded and not (
        check.cited
        and all(
            dated_elsewhere(asked, figures, given[n - 1]) or leveled_elsewhere(asked, figures, given[n - 1])
            for n in check.cited
        )
    )
    places = set(_PLACES.findall(check.text)) - set(_PLACES.findall(asked))
    grounded = grounded and all(any(place in p for p in given) for place in places)
    on_topic = not check.cited or any(_on_topic(asked, query, hits[n - 1], vocabulary) for n in check.cited)
    invented = bool(check.invalid_markers) and not check.written  # cites only passages never given
    declined = declines(check.text, asked)
    abstained = not hits or not check.text or declined or not grounded or not on_topic or invented
    stating = _stating_asked(asked, given) if where else []
    if stating and (abstained or not set(check.cited) & set(stating)):
        # which document says it: the best passage stating what the question states (合同最长15年),
        # plainly about the question, where the model named another document or clause or none (it is
        # weak at this; retrieval ranks the source first); the 出处 line below gives its clause
        n = stating[0]
        if _on_topic(asked, query, hits[n - 1], vocabulary, WHERE_COVERAGE):
            check, abstained = Check(f"{label(hits[n - 1])}[{n}]", [n], [], []), False
    if abstained:
        refocus = []
        if hits and check.text and not (declined or invented or on_topic) and grounded:
            # the model answered from a passage about something else (the province's table for a
            # corridor's target): worth asking again with the passages about the question alone
            refocus = [n for n, hit in enumerate(hits, 1) if _on_topic(asked, query, hit, vocabulary)]
        return abstention(question, query, hits, reply, language, refocus)
    text = check.text
    if language == Language.CHINESE and check.cited and (where or terse(question, text)):
        text = with_basis(question, text, hits, check.cited[0])
    sources = [sources_line(hits, check.cited, language)] if where and check.cited else []
    text = "\n\n".join([text, *sources, *validity_notes([hits[n - 1] for n in check.cited], language)])
    return Answer(
        question, query, text, False, hits, check.cited, check.invalid_markers, check.unsupported, reply=reply
    )


def _stating_asked(question: str, given: list[str]) -> list[int]:
    """The given passages (numbered from 1) that state every figure of the question but its years: the
    clause a question such as 合同最长只能签15年,这个规定在哪一条 asks about states its 15 年."""
    asked = norm(question)
    figures = [m.group() + _unit_at(asked, m.end()) for m in _NUMBER.finditer(asked)]
    figures = [x for x in figures if not re.fullmatch(r"(?:19|20)\d\d年?", x)]
    return [n for n, p in enumerate(given, 1) if all(number_in(x, norm(p)) for x in figures)]


def _clause_asked(
    question: str, hits: list[Hit], n: int, figures: list[str], vocabulary: Container[str] | None
) -> int:
    """Of the given passages from the document of passage ``n`` that state what it states of the answer's
    ``figures``, the one holding most of the question's words (``n`` on a tie): where a question asks
    which clause says something, the answer names the document, and the model cites whichever of its
    passages came first."""
    c = hits[n - 1].chunk
    held = [x for x in figures if number_in(x, norm(c.text))]
    same = [
        m
        for m, hit in enumerate(hits, 1)
        if (hit.chunk.doc_title, hit.chunk.part) == (c.doc_title, c.part)
        and all(number_in(x, norm(hit.chunk.text)) for x in held)
    ]
    return max(same, key=lambda m: (coverage(question, hits[m - 1], vocabulary), m == n))


def _last_item(hits: list[Hit], n: int, figures: list[str]) -> int:
    """The given passage holding the last item of the numbered list that passage ``n`` belongs to, when
    the answer's ``figures`` state that last number (a list's total is proved by its last item: 13 by
    ``序号13``, not by items 1-12); else ``n``."""
    c = hits[n - 1].chunk
    last = c.list_items.rpartition("-")[2]
    if not last or all(_split_figure(x)[0] != last for x in figures):
        return n

    def parent(chunk: Chunk) -> tuple[str, str, str]:  # the list's heading, as the chunker groups it
        return chunk.doc_title, chunk.part, chunk.clause_path.rpartition(PATH_SEP)[0]

    for m, hit in enumerate(hits, 1):
        items = item_range(hit.chunk.clause_path)
        if items and items[1] == int(last) and parent(hit.chunk) == parent(c):
            return m
    return n


def _closest(text: str, spans: list[tuple[int, int]], wanted: set[str]) -> tuple[int, tuple[int, int]]:
    """Of the ``spans`` of ``text``, the one sharing most of the ``wanted`` bigrams, with how many."""
    return max(((len(_bigrams(text[slice(*s)]) & wanted), s) for s in spans), default=(0, (0, 0)))


def terse(question: str, answer: str) -> bool:
    """Whether ``answer`` says little more than yes or no to a yes-or-no question, or than a figure: fewer
    than :data:`TERSE_BIGRAMS` bigrams beyond the question's wording and the answer's numbers."""
    said = norm(_MARKER.sub("", answer))
    if not (_NUMBER.search(said) or _YES_NO.search(question)):
        return False
    return len(_bigrams(_NUMBER.sub("", said)) - _bigrams(question)) < TERSE_BIGRAMS


def with_basis(question: str, answer: str, hits: list[Hit], n: int) -> str:
    """``answer`` followed by the sentence (or table row) of cited passage ``n`` behind it (原文：“…”[n]):
    the one stating the answer's figures, else the one sharing most of the question's and answer's
    wording."""
    passage, title = hits[n - 1].chunk.text, norm(hits[n - 1].chunk.doc_title)
    said = norm(_MARKER.sub("", answer))
    figures = claims(answer, question)
    heading = (title, "")  # the title line and a bare 发文字号 line are not quoted
    spans = [
        (m.start(), m.end())
        for m in _WHOLE_SENTENCE.finditer(passage)
        if DOC_NUMBER_ANYWHERE.sub("", norm(m.group())) not in heading
    ]
    stating = [s for s in spans if figures and all(number_in(x, norm(passage[slice(*s)])) for x in figures)]
    shared, (start, end) = _closest(passage, stating or spans, _bigrams(question + said))
    if not stating and shared < 2:
        return answer
    start, end = _window(passage, start, end, figures)
    before = "…" if start > 0 and passage[start - 1] not in "。！？!?\n" else ""
    after = "…" if end < len(passage) and passage[end - 1] not in "。！？!?\n" else ""
    return f"{answer}\n\n原文：“{before}{passage[start:end].strip()}{after}”[{n}]"


def _window(text: str, start: int, end: int, figures: list[str]) -> tuple[int, int]:
    """The span ``start:end`` of ``text``, or when longer than :data:`QUOTE_CHARS` a window of it from a
    little before the first of the ``figures`` it states."""
    if end - start <= QUOTE_CHARS:
        return start, end
    numbers = {_split_figure(x)[0] for x in figures}
    at = next((m.start() for m in _NUMBER.finditer(text, start, end) if m.group() in numbers), start)
    start = max(start, min(at - QUOTE_CHARS // 3, end - QUOTE_CHARS))
    return start, start + QUOTE_CHARS


def sources_line(hits: list[Hit], cited: list[int], language: Language = Language.CHINESE) -> str:
    """Where the cited passages stand: document, 发文字号 and clause path of each (出处：…[n]), for a
    question that asks which document or clause."""
    seen: dict[str, int] = {}
    for n in cited:
        seen.setdefault(f"{label(hits[n - 1])} {hits[n - 1].chunk.clause_path}", n)
    return WORDING[language]["source"] + "；".join(f"{where}[{n}]" for where, n in seen.items())


def validity_notes(cited: list[Hit], language: Language = Language.CHINESE) -> list[str]:
    """A line for each cited document that is not in force (已失效, 尚未施行) on the configured date."""
    notes: dict[str, str] = {}
    for hit in cited:
        status = hit.validity
        if status and status.validity in (Validity.EXPIRED, Validity.NOT_YET):
            name = hit.chunk.part or hit.chunk.doc_title
            notes[name] = f"{WORDING[language]['note']}《{name}》{status.validity.value}（{status.reason}）。"
    return list(notes.values())


def abstention(
    question: str,
    query: str,
    hits: list[Hit],
    reply: str = "",
    language: Language = Language.CHINESE,
    refocus: list[int] | None = None,
) -> Answer:
    """The answer "资料中未提及", with what the documents cover near the question (its Chinese ``query``
    when it is in another language; see :func:`nearby`)."""
    asked = question if language == Language.CHINESE else query
    parts = (WORDING[language]["not_found"], nearby(asked, hits, language=language))
    text = "\n\n".join(part for part in parts if part)
    return Answer(question, query, text, True, hits, reply=reply, refocus=refocus or [])


def _added(language: Language) -> tuple[str, ...]:
    """How the paragraphs start that the answering step adds to a reply: the quote, the source, a note."""
    words = WORDING[language]
    return ("原文：", words["source"], words["note"])


def statements(text: str, language: Language = Language.CHINESE) -> str:
    """An answer's ``text`` without the paragraphs added to the reply (see :func:`with_basis`,
    :func:`sources_line`, :func:`validity_notes`): what it states."""
    return "\n\n".join(p for p in text.split("\n\n") if not p.startswith(_added(language)))


def verification(answer: Answer, language: Language = Language.CHINESE) -> list[dict[str, str]]:
    """The messages asking the model whether the sentences of the cited passages that state the answer's
    figures state them of what the question asks (:data:`VERIFY`): the checks before test that a figure
    is in its passage, not what the passage says it of. Empty when the answer states no figure.

    Args:
        answer: a checked answer that does not abstain.
        language: the question's.
    """
    figures = claims(statements(answer.text, language), answer.query)
    quotes = []
    for n in answer.cited:
        hit = answer.passages[n - 1]
        text = hit.chunk.text
        rows = [m.span() for m in _WHOLE_SENTENCE.finditer(text)]  # a table row whole, with its name
        spans = [_window(text, *span, figures) for span in _stating(text, figures, rows)]
        stating = [text[slice(*span)].strip() for span in spans]
        if stating:
            quotes.append(f"{label(hit)} {hit.chunk.clause_path}：{''.join(stating)}")
    if not quotes:
        return []
    user = VERIFY.format(question=answer.query, quotes="\n".join(quotes))
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def confirms(reply: str) -> bool:
    """Whether the model's reply to :func:`verification` does not deny (不能, 否)."""
    return not reply.strip().startswith(("不", "否"))


def merge(
    question: str, query: str, parts: list[tuple[str, Answer]], language: Language = Language.CHINESE
) -> Answer:
    """One answer to a question split into parts (see :mod:`qa.decomposition`) from the answers to each,
    all numbering the same passages: each part's statement on its own line, after the thing it asks about
    unless it names it (``资料中未提及`` for a part that abstains), then the quotes, sources and validity
    notes, each once. Abstains, with what the documents cover nearby, when every part does.

    Args:
        question: the question as asked.
        query: what stands for it in retrieval.
        parts: the thing each part asks about, with its answer (see :meth:`Answer.renumbered`).
        language: the question's.
    """
    words = WORDING[language]
    answers = [answer for _, answer in parts]
    hits = answers[-1].passages
    reply = "\n".join(answer.reply for answer in answers)
    if all(answer.abstained for answer in answers):
        return abstention(question, query, hits, reply, language)
    lines: list[str] = []
    extras: dict[str, None] = {}
    added = _added(language)
    for subject, answer in parts:
        said = words["not_found"]
        if not answer.abstained:
            said = statements(answer.text, language)
            extras.update(dict.fromkeys(p for p in answer.text.split("\n\n") if p.startswith(added)))
        lines.append(said if subject in said else f"{subject}：{said}")
    tail = sorted(extras, key=lambda p: p.startswith(words["note"]))  # validity notes last
    return Answer(
        question,
        query,
        "\n\n".join(["\n".join(lines), *tail]),
        False,
        hits,
        list(dict.fromkeys(n for answer in answers for n in answer.cited)),
        [n for answer in answers for n in answer.invalid_markers],
        [u for answer in answers for u in answer.unsupported],
        reply=reply,
    )
