"""Answerability: whether the passages an answer cites state what the question constrains (its places,
quoted terms, years, periods, the documents it names, the attribute it asks for), hold enough of its
content words and fit the place it asks about; decided from the question against the evidence, the
model's reply one input."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import jieba.posseg

from qa.expansion import Lexicon, rejoined
from qa.figures import NUMBER, REFERENCE, norm, number_in, sentences
from qa.lexical import normalize, tokenize
from qa.parsing import DOC_NUMBER_ANYWHERE, normalize_doc_number
from qa.replies import YES_NO
from qa.retrieval import Hit, short_plan
from qa.tagging import CITIES, COUNTIES, PROVINCES

_LOCAL = re.compile("|".join(sorted({*CITIES, *COUNTIES}, key=len, reverse=True)))
PLACES = re.compile(f"{_LOCAL.pattern}|{'|'.join(PROVINCES)}")
"""The places a question or reply may name: the cities and counties of the region tagging knows, and the
provinces; a place named in a question must be stated by the passage answering it."""


_PROVINCE = re.compile(r"浙江|全省|省里|省政府|省[“\"]?十[一二三四五六七八九]五")


_QUOTED = re.compile(r"[“\"]([^”\"]{2,12})[”\"]")


YEAR = re.compile(r"((?:19|20)\d\d)年")
_AMENDED = re.compile(r"((?:19|20)\d\d)年(?:的|那次)?(?:修正|修订|修改)")
"""A year a question says a document was amended in (2022年修正后): the document must have been."""


_LEVEL = re.compile(r"(国家|省|市|县|区)级")
"""A level of government that an award or a body belongs to."""


_PARTY = {"个人": re.compile(r"个人|自然人"), "单位": re.compile(r"单位|企业|法人")}
"""The two kinds of party a penalty or a measure is stated of."""


_ASKING = set(
    "规定 要求 提出 文件 哪家 哪份 哪条 哪些 哪里 哪几 几个 什么 多少 是否 可以 分别 浙江 浙江省 "
    "一个 这个 时候".split()
)


_CONTENT = ("n", "v", "a", "j", "l", "i", "eng")
"""jieba's tags of content words: nouns (names too), verbs, adjectives, abbreviations, set phrases; not
numerals and measure words (几次, 五十六岁), pronouns, adverbs, conjunctions, time and place words."""


MIN_COVERAGE = 0.2
"""An answer's cited passage holds at least this share of the question's content words (below it, on
the tuning files, the model's answers were mostly wrong; a citizen's plain words often share under a
third with the article that answers them)."""


WHERE_COVERAGE = 0.5
"""A question asking where a rule is written is answered from its best passage alone when the model's
reply is rejected and that passage holds this share of its content words."""


def _plain(text: str) -> str:
    """Text for matching anchors: normalised, lower case, and a plan's full name in its short form
    (第十四个五年 -> 十四五, as questions say it)."""
    return normalize(norm(short_plan(text)))


def anchors(question: str) -> list[str]:
    """What a passage must name to answer ``question``: the places (but the province, see
    :func:`in_scope`) and quoted terms it names."""
    found = [p for p in PLACES.findall(question) if p not in PROVINCES] + _QUOTED.findall(question)
    return list(dict.fromkeys(_plain(a) for a in found))


class Attribute(Enum):
    """What a question asks of its subject, when it asks for one of these."""

    DURATION = "时限"
    AMOUNT = "金额"
    RATE = "比例"
    DATE = "日期"
    BODY = "部门"


_ASKS = {
    Attribute.DURATION: re.compile(
        r"(?:多少|几)个?(?:工作日|天|日|周|月|年|小时|分钟)(?!份|级|龄|前|后)|多久|多长时间|期限|时限|有效期"
    ),
    Attribute.AMOUNT: re.compile(
        r"多少(?:钱|元|万元?|奖金|奖励金|补贴|补助|津贴|工资|费用?|罚款|资金)|罚(?:款)?多少|金额|罚款(?:标准|数额)"
    ),
    Attribute.RATE: re.compile(
        r"比例|比重|占比|百分之几|百分比|(?:增长|提高|下降|降低)(?:了)?多少|率(?:是|为|要)?多少"
    ),
    Attribute.DATE: re.compile(r"什么时候|何时|哪一?天|几月几[日号]|哪一年|(?:起|开始)施行|生效"),
    Attribute.BODY: re.compile(
        r"哪个部门|哪些部门|什么部门|哪个机构|哪些机构|哪个单位|谁(?:来)?负责|由谁|找谁|向谁|主管部门|哪里(?:办|申请|投诉|登记)"
    ),
}
"""How a question asks for each attribute (a yes-or-no question asks for none)."""
_STATES = {
    Attribute.DURATION: re.compile(
        r"(?<![\d.月])(?!(?:19|20)\d\d年)\d+(?:个?工作日|日|天|周|个月|年|小时|分钟)|当日|当天"
    ),
    Attribute.AMOUNT: re.compile(r"\d+(?:\.\d+)?(?:万|亿)?元"),
    Attribute.RATE: re.compile(r"[%‰]|\d+/\d+|\d+成|\d+倍|百分点"),
    Attribute.DATE: re.compile(r"\d{4}年|\d+月\d+日|之日|\d+个?(?:工作日|日|天|月)"),
    Attribute.BODY: re.compile(
        r"部门|机关|[厅局委办]|委员会|政府|机构|中心|单位|法院|检察院|协会|组织|主任|负责人"
        r"|(?<!城)[省市县区乡镇村]长(?![期效远久度])"
    ),
}
"""How a passage (in :func:`norm`'s form, figures in Arabic numerals) states each attribute."""
_SAYS = {
    Attribute.DURATION: re.compile(r"\d|当日|当天"),
    Attribute.AMOUNT: re.compile(r"\d"),
    Attribute.RATE: re.compile(r"\d"),
    Attribute.DATE: re.compile(r"\d|之日"),
    Attribute.BODY: _STATES[Attribute.BODY],
}
"""How a reply states each attribute: a figure (a bare 52.78 from a table's 比例(%) column is a rate),
or for a body, a body."""
_PERIOD = re.compile(r"中期|近期|远期|远景|上半年|下半年|季度|十[一二三四五六七八九]五")
"""The periods a question may ask about besides years: a plan's stages and five-year periods, parts
of a year."""
_PLAN_YEARS = {f"十{d}五": 2001 + 5 * i for i, d in enumerate("一二三四五六七八九", 1)}
"""The first year of each five-year period (十四五: 2021-2025)."""


_TITLE = re.compile(r"《((?:[^《》]|《[^《》]*》)+)》")
"""A title in 《》, which may hold another (《浙江省实施《中华人民共和国献血法》办法》)."""


@dataclass(frozen=True)
class Constraints:
    """What a question constrains, which the passage answering it must state."""

    places: tuple[str, ...] = ()  # places and quoted terms (see anchors)
    years: tuple[str, ...] = ()
    periods: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()  # 发文字号 and 《titles》, plain
    attribute: Attribute | None = None
    amended: tuple[str, ...] = ()  # years of an amendment the question speaks of

    @classmethod
    def of(cls, question: str) -> Constraints:
        """The constraints ``question`` states."""
        text = norm(question)
        asks = (
            None if YES_NO.search(question) else next((a for a, p in _ASKS.items() if p.search(text)), None)
        )
        numbers = [normalize_doc_number(m.group()) for m in DOC_NUMBER_ANYWHERE.finditer(text)]
        amended = tuple(dict.fromkeys(_AMENDED.findall(text)))
        return cls(
            tuple(anchors(question)),
            tuple(y for y in dict.fromkeys(YEAR.findall(text)) if y not in amended),
            tuple(dict.fromkeys(_PERIOD.findall(short_plan(question)))),
            tuple(dict.fromkeys([*numbers, *(_title(t) for t in _TITLE.findall(question))])),
            asks,
            amended,
        )

    def filled(self, other: Constraints) -> Constraints:
        """These constraints, each kind stated by none taken from ``other`` (a follow-up's, from the
        conversation before it)."""
        return Constraints(
            *(mine or theirs for mine, theirs in zip(self._fields(), other._fields(), strict=True))
        )

    def _fields(self) -> tuple[object, ...]:
        return self.places, self.years, self.periods, self.documents, self.attribute, self.amended

    def unmet(self, hits: list[Hit], reply: str | None = None) -> list[str]:
        """The constraints that none of the passages states (with its document's title, issuer and date
        and its clause path): a place or quoted term none names; a year none dates its wording to (a
        passage naming no year in its wording or clause path does not date it, nor does one naming its
        own document's year or a year its title names); an amendment of a year that no passage's document
        had as its latest; a period none names (a five-year period is also named by a document of its
        years); a document none is in; an attribute asked that none states (no time limit in a clause
        asked for one), or, given the ``reply``, that the reply does not state (a time limit asked and
        none given is not an answer; 第十七条 is no figure)."""
        named = [_plain(_context(h)) for h in hits]
        missing = [p for p in self.places if not any(p in context for context in named)]
        missing += [y for y in self.years if not any(_dated(h, y) for h in hits)]
        missing += [
            p for p in self.periods if not any(p in named[i] or _issued_in(h, p) for i, h in enumerate(hits))
        ]
        missing += [d for d in self.documents if not any(d in _document_names(h) for h in hits)]
        missing += [
            f"{y}年修正" for y in self.amended if not any(h.chunk.amended_date[:4] == y for h in hits)
        ]
        if self.attribute:
            unsaid = reply is not None and not _SAYS[self.attribute].search(REFERENCE.sub("", norm(reply)))
            if unsaid or not any(_STATES[self.attribute].search(norm(h.chunk.text)) for h in hits):
                missing.append(self.attribute.value)
        return missing


def _dated(hit: Hit, year: str) -> bool:
    """Whether the passage may be of ``year``: its document was issued in it, or the nearest of its
    wording with its clause path, the clauses heading it (:attr:`Hit.headings`) and its document's title
    that names years names it, or none does. A five-year period named counts as its last year, the one
    its targets are for (十四五: 2025)."""
    c = hit.chunk
    if year == c.date[:4]:
        return True
    for text in (f"{c.clause_path} {c.text}", hit.headings, c.doc_title):
        named = set(YEAR.findall(norm(text)))
        named |= {str(_PLAN_YEARS[p] + 4) for p in _PERIOD.findall(short_plan(text)) if p in _PLAN_YEARS}
        if named:
            return year in named
    return True


def _issued_in(hit: Hit, period: str) -> bool:
    """Whether the passage's document was issued in the year before the five-year ``period`` (十四五) or
    during it."""
    first, year = _PLAN_YEARS.get(period), hit.chunk.date[:4]
    return bool(first and year.isdigit() and first - 1 <= int(year) <= first + 4)


def _document_names(hit: Hit) -> str:
    """How the passage's document is named: its 发文字号 (as :func:`normalize_doc_number` writes it),
    title and part, plain and without brackets."""
    c = hit.chunk
    return " ".join([normalize_doc_number(c.doc_number), _title(c.doc_title), _title(c.part)])


def _title(text: str) -> str:
    """A title for matching: plain, without its brackets (《…〈…〉…》)."""
    return re.sub(r"[《》〈〉<>“”\"]", "", _plain(text))


def _context(hit: Hit) -> str:
    """The passage with what names it (title, part, issuer, clause path) and the wording it cites."""
    c = hit.chunk
    return normalize(" ".join([c.doc_title, c.part, c.issuer, c.clause_path, c.text, c.cited]))


def coverage(question: str, hit: Hit, lexicon: Lexicon | None = None) -> float:
    """Share of the question's content words (jieba, without asking words, figures and places, which
    :func:`anchors` and :func:`in_scope` test) that the passage holds with its document title and
    clause path, a word the documents never use held also by one of their words nearest to it (司机 by
    驾驶员). With a ``lexicon``: a question mostly in words the documents never use (a citizen's 打零工,
    工钱, 老板) is a paraphrase, judged by the words they do use and those the passage holds a near word
    for; a few such words among theirs (火星, 载人) name what the documents lack, and count; a question
    none of whose words they use (嘉兴出租车起步价) is answered by nothing. A separable word the question
    splits (献过好几次血) counts joined (献血), where the documents use it."""
    content = [w for w, flag in jieba.posseg.lcut(question) if flag.startswith(_CONTENT)]
    words = [
        w
        for w in dict.fromkeys(tokenize(question))
        if len(w) > 1 and w not in _ASKING and not PLACES.search(w) and any(w in c for c in content)
    ]
    if lexicon is not None:
        words += [w for w in rejoined(question, lexicon.vocabulary) if w not in words]
    if not words:
        return 1.0
    context = _context(hit)
    forms = lexicon.forms if lexicon is not None else lambda w: [w]
    held = [w for w in words if any(f in context for f in forms(w))]
    known = [w for w in words if lexicon is None or w in lexicon.vocabulary or w in held]
    if 2 * len(known) <= len(words):
        words = known
    return len(held) / len(words) if words else 0.0


def said_of_another(question: str, figures: list[str], passage: str) -> bool:
    """Whether the passage states the answer's figures of another level or party than the one asked
    about: the question names a level (市级), and every sentence stating each figure names another, not
    it (``对新认定的省级重点企业研究院…给予 300 万元`` for a 市级 institute); or it names one party (个人 or
    单位), and every clause stating each figure names the other (``对单位处五万元以上五十万元以下罚款`` for a
    person)."""
    text = norm(passage)
    asked = _parties(question)
    return bool(figures) and (
        _of_another(_levels(norm(question)), figures, _sentences(text), _levels)
        or _of_another(asked, figures, _clauses(text) if len(asked) == 1 else [], _parties)
    )


def party_clause(question: str, passage: str) -> str:
    """The one clause of the passage stating a figure of the party the question names (个人 or 单位) and
    not of the other (``对个人处二百元以上二千元以下罚款``), as the passage words it; empty when there is
    none or several."""
    asked = _parties(question)
    if len(asked) != 1:
        return ""
    found = [c.strip() for c in _clauses(passage) if _parties(c) == asked and NUMBER.search(norm(c))]
    return found[0] if len(found) == 1 else ""


def _levels(text: str) -> set[str]:
    return set(_LEVEL.findall(text))


def _parties(text: str) -> set[str]:
    return {party for party, names in _PARTY.items() if names.search(text)}


def _clauses(text: str) -> list[str]:
    """``text`` cut at commas, semicolons, colons, full stops and line ends (either width)."""
    return re.split(r"[，,；;。：:\n]", text)


def _sentences(text: str) -> list[str]:
    return [text[slice(*span)] for span in sentences(text)]


def _of_another(
    asked: set[str], figures: list[str], pieces: list[str], named: Callable[[str], set[str]]
) -> bool:
    """Whether every one of ``pieces`` stating each figure names something, and not what is ``asked``."""
    if not asked:
        return False
    for figure in figures:
        found = [named(piece) for piece in pieces if number_in(figure, piece)]
        if not found or any(not f or f & asked for f in found):
            return False
    return True


def in_scope(question: str, hit: Hit) -> bool:
    """Whether the passage's issuer fits the place the question asks about: a question on the province
    (浙江, 全省) that names no city is not answered by a city's document (嘉兴's minimum wage is not the
    province's)."""
    about_province = _PROVINCE.search(question) and not _LOCAL.search(question)
    return not (about_province and _LOCAL.search(hit.chunk.issuer))


def wanted(question: str, query: str) -> list[Constraints]:
    """The constraints of each sentence of ``question`` (a question may ask two things, each of its own
    year), each completed from the conversation before it (what ``query`` holds besides ``question``)."""
    before = Constraints.of(query.removesuffix(question))
    asked = [part for part in re.split(r"(?<=[?？])", question) if part.strip()] or [question]
    return [Constraints.of(part).filled(before) for part in asked]


def fits(
    question: str,
    query: str,
    hit: Hit,
    lexicon: Lexicon | None,
    least: float = MIN_COVERAGE,
    constrained: bool = True,
) -> bool:
    """Whether the passage fits the place ``question`` asks about (:func:`in_scope`), holds at least
    ``least`` of its content words (:func:`coverage`) and, if ``constrained``, states what it constrains
    (see :func:`wanted`; a follow-up's from ``query``, which carries the conversation)."""
    if not (in_scope(question, hit) and coverage(question, hit, lexicon) >= least):
        return False
    return not constrained or any(not c.unmet([hit]) for c in wanted(question, query))
