"""What a clause does and to whom, read from its wording when the index is built.

A clause **gives** something when a sentence offers a benefit (给予, 补贴, 奖励, 减免, 优先, 免费, 享受,
有权, 提供, 支持…) to a party that is not the government itself; it **requires** something when a sentence
binds such a party (应当, 不得, 禁止, 必须) or punishes it (罚款, 责令); otherwise it only sets a target or
a government work item. The parties are the phrases that stand where a clause names its beneficiary
or its obligated party: ``对…给予``, ``为/向…提供``, the noun phrase after ``支持/鼓励…``, and the subject
before ``可以``, ``有权``, ``享受``, ``应当``, ``不得``, kept when they end in a word for a person or an
organisation. The thresholds are the bounds a sentence that gives or requires sets on its party: age
(``六十周岁以上``), headcount, revenue, R&D share. Every rule reads function words of Chinese official
writing, none names a document or a clause."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from jieba import posseg

from qa.numerals import arabic_numerals


class Role(str, Enum):
    """What a clause does for the parties it names."""

    GIVES = "gives"
    REQUIRES = "requires"
    TARGET = "target"
    """A target, or a work item of the government (推动…, 培育一批…): it gives nobody anything directly."""


class Attribute(str, Enum):
    """A property of a person or an enterprise that a clause may set a bound on."""

    AGE = "age"
    HEADCOUNT = "headcount"
    REVENUE = "revenue"
    """In 万元."""
    RD_SHARE = "rd_share"
    """Research and development spending, in percent of revenue."""


@dataclass(frozen=True)
class Bound:
    """A threshold: ``attribute`` at least (``at_least``) or below ``value``."""

    attribute: Attribute
    value: float
    at_least: bool

    def admits(self, value: float) -> bool:
        return value >= self.value if self.at_least else value < self.value

    def to_list(self) -> list[object]:
        return [self.attribute.value, self.value, self.at_least]


_SENTENCE = re.compile(r"[^。；\n]+")
_LEAD = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百零〇\d]+条|[（(]?[一二三四五六七八九十\d]+[)）、.．])\s*"
)
"""A clause number at a sentence's start (第十二条, （三）, 2.)."""
_RIGHT = r"(?<!所)有权(?!机关)"
"""有权 that grants a right (not 所有权人, not 有权机关)."""
_GIVE = re.compile(
    r"给予(?!(?:行政)?处分|处罚|警告|罚款)|予以(?:补助|补贴|奖励|表彰|资助|减免|优惠|扶持|支持)|享受|享有|免费|免收|免征|免缴|减免|减征|减半|"
    r"补贴|补助|奖励|奖补|资助|贴息|津贴|优先|倾斜|"
    + _RIGHT
    + r"|可以申请|可申请|提供|支持|鼓励|扶持|帮助|照顾|优待"
)
_DUTY = re.compile(r"应当|不得|禁止|必须|严禁|负责|承担")
_PENALTY = re.compile(r"罚款|处以|责令|没收|吊销|警告|追究|处分")
_MISCONDUCT = re.compile(r"玩忽职守|滥用职权|徇私舞弊")
"""The misconduct in office of the government's own staff: a clause punishing it binds the government."""
_PROHIBITION = re.compile(r"禁止|不得|严禁")
_AUTHORITY = re.compile(
    r"(?:政府|部门|机关|委员会|常委会|局|厅|委|办事处|办公室|各地|各级|有关单位|国家|本省|本市|省|市|县|区)$"
)
"""A party that is the government itself (its duties are work items, not requirements of a citizen)."""
_OBJECT = (
    re.compile(r"对([^。；：]{2,60}?)[，,]?(?:给予|予以|实行|实施|按|可|优先|免|减|发放|提供)"),
    re.compile(r"(?:为|向)([^，,。；：为向]{2,30}?)(?:提供|发放|给予|开放|免费)"),
)
"""Where a clause names whom it gives something to."""
_SUPPORTED = re.compile(r"(?:支持|鼓励|引导|帮助|扶持|奖励)([^，,。；：]{2,24})")
_SUBJECT = re.compile(
    r"^([^，,。；：]{2,30}?)(?:依法)?(?:(可以|可|"
    + _RIGHT
    + r"|享受|享有|免费)|(应当|不得|必须|须|负责|承担|禁止))"
)
"""A sentence's subject before a word that grants (group 2) or binds (group 3)."""
_AGENT = re.compile(
    r"(?:人|者|员|户|民|工|生|师|家庭|家属|群体|群众|企业|公司|单位|机构|组织|主体|医院|学校|院所|高校|"
    r"园|社|厂|店|站|业主|子女|父母|老人|儿童|婴幼儿|妇女|女性|青年|少年|人才|人员|职工)$"
)
"""The end of a phrase naming a person or an organisation (a party), not a thing or an activity."""
_ASIDE = re.compile(r"[（(][^）)]*[）)]")
"""A parenthetical inside a party (``(不含…)``)."""
_NOUNISH = "nbjmqf"
"""First letters of jieba's tags of the words a noun phrase is made of (nouns, distinguishing words,
abbreviations, numerals, measure words, locality words)."""
_SPLIT = re.compile(r"[、和及与或]|以及")

_BOUNDS: tuple[tuple[Attribute, re.Pattern[str], float], ...] = (
    (Attribute.AGE, re.compile(r"(年满|满|未满|不满)?(\d+)\s*周?岁(以上|以下|及以上|以内|不满)?"), 1.0),
    (
        Attribute.HEADCOUNT,
        re.compile(
            r"(?:职工|员工|从业人员|用工|人数)[^，。；]{0,8}?()(\d+)\s*(?:名|人)(以上|以下|及以上|以内)"
        ),
        1.0,
    ),
    (
        Attribute.REVENUE,
        re.compile(
            r"(?:营业收入|营收|销售收入|主营业务收入|产值|销售额)[^，。；]{0,8}?()(\d+(?:\.\d+)?)\s*亿元(以上|以下|及以上)"
        ),
        1e4,
    ),
    (
        Attribute.REVENUE,
        re.compile(r"()(\d+(?:\.\d+)?)\s*亿元(以上|以下|及以上)(?:的)?(?:规上|规模以上)?[^，。；]{0,6}企业"),
        1e4,
    ),
    (
        Attribute.RD_SHARE,
        re.compile(r"研发(?:投入|费用|经费)[^，。；]{0,15}?()(\d+(?:\.\d+)?)\s*[%％](以上|及以上)"),
        1.0,
    ),
)


@dataclass(frozen=True)
class Reading:
    """What one clause does: whom it gives something to (``beneficiaries``), whom it binds
    (``obligated``), the government left out of both, and the thresholds set on them."""

    beneficiaries: tuple[str, ...] = ()
    obligated: tuple[str, ...] = ()
    bounds: tuple[Bound, ...] = ()
    penalty: bool = False
    prohibits: bool = False
    """A prohibition naming no party (禁止下列行为…): it binds everyone."""

    @property
    def role(self) -> Role:
        """Its role for the parties it names: gives when it gives anyone something, else requires when
        it binds or punishes anyone, else a target or work item."""
        if self.beneficiaries:
            return Role.GIVES
        return Role.REQUIRES if self.obligated or self.penalty or self.prohibits else Role.TARGET


def sentences(text: str) -> list[str]:
    """The sentences of a clause, clause numbers at their start taken off."""
    return [_LEAD.sub("", s).strip() for s in _SENTENCE.findall(text) if s.strip()]


def _leading_noun(sentence: str) -> str:
    """The noun phrase a sentence starts with (``无偿献血者`` of ``无偿献血者累计献血量达到…的``), by jieba's
    parts of speech; '' when it starts with a verb."""
    words = []
    for word in posseg.cut(sentence[:24]):
        if not (word.flag[0] in _NOUNISH or word.flag in ("vn", "uj")):
            break
        words.append(word.word)
    return "".join(words).rstrip("的")


def _parties(spans: list[str]) -> list[str]:
    """The parties in phrases, split at 、和及与或: the parts that end in a word for a person or an
    organisation, the government's own bodies left out."""
    found: list[str] = []
    for span in spans:
        for part in _SPLIT.split(_ASIDE.sub("", span)):
            part = part.strip("的等，, ")
            if _AGENT.search(part) and not _AUTHORITY.search(part) and part not in found:
                found.append(part)
    return found


def parties_of(sentence: str) -> tuple[list[str], list[str]]:
    """Whom a sentence gives something to and whom it binds: the phrases in its beneficiary slots
    (对…给予, 为…提供, 支持…) and its subject before a word that grants (可以, 有权, 享受) or binds
    (应当, 不得); without a subject, the noun phrase it starts with, on the side its verbs say."""
    gives = _GIVE.search(sentence)
    granted = (
        [re.split(r"[，,]", m.group(1))[0] for slot in _OBJECT for m in slot.finditer(sentence)]
        if gives
        else []
    )
    granted += [_leading_noun(m.group(1)) for m in _SUPPORTED.finditer(sentence)]
    bound: list[str] = []
    subject = _SUBJECT.match(sentence)
    if subject and subject.group(2) and gives:
        granted.append(subject.group(1))
    elif subject and subject.group(3):
        bound.append(subject.group(1))
    elif not subject and gives and not granted:
        granted.append(_leading_noun(sentence))
    elif not subject and (_DUTY.search(sentence) or _PENALTY.search(sentence)):
        bound.append(_leading_noun(sentence))
    return _parties(granted), _parties(bound)


def bounds_of(sentence: str) -> list[Bound]:
    """The thresholds a sentence sets (``60周岁以上`` -> age at least 60); Chinese numerals read first."""
    text = arabic_numerals(sentence)
    out = []
    for attribute, pattern, scale in _BOUNDS:
        for m in pattern.finditer(text):
            lead, number, tail = m.group(1) or "", float(m.group(2)), m.group(3) or ""
            if not lead and not tail:
                continue  # a figure, not a bound (一名68岁的老人)
            below = lead in ("未满", "不满") or tail in ("以下", "以内", "不满")
            out.append(Bound(attribute, number * scale + (1 if tail in ("以下", "以内") else 0), not below))
    return out


def read_clause(text: str) -> Reading:
    """Whom a clause gives something to, whom it binds and the thresholds on them (see the module's
    text)."""
    granted: list[str] = []
    bound: list[str] = []
    bounds: list[Bound] = []
    prohibits = False
    for sentence in sentences(text):
        gives, binds = parties_of(sentence)
        granted += gives
        bound += binds
        if gives or binds or _GIVE.search(sentence) or _DUTY.search(sentence):
            bounds += bounds_of(sentence)
        if not binds and _PROHIBITION.search(sentence) and not _by_government(sentence):
            prohibits = True
    return Reading(
        tuple(dict.fromkeys(granted)),
        tuple(dict.fromkeys(bound)),
        tuple(dict.fromkeys(bounds)),
        bool(_PENALTY.search(text)) and not _MISCONDUCT.search(text),
        prohibits,
    )


def _by_government(sentence: str) -> bool:
    """Whether a sentence's subject is the government itself (市人民政府应当…, 有关部门不得…)."""
    subject = _SUBJECT.match(sentence)
    return bool(subject and _AUTHORITY.search(subject.group(1).strip("的等，, ")))
