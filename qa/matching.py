"""Policies that find their people ("政策找人、政策找企业"): from a profile (free text or fields) to the
clauses that apply to it and give it something or require something of it, ranked, each with what
it gives in one line and why it matches.

The list is decided by eligibility, read from the clauses when the index was built (:mod:`qa.roles`,
:mod:`qa.tagging`), not by a language model:

1. **Candidates**: the clauses that plain hybrid search finds for the profile's words and for each
   need it states (想…, 希望…), among the documents that apply in its region (its city's own, the
   province's and the nation's; a province-wide clause that names particular cities, there only).
2. **Eligibility**: a clause is left out when every party it names (its beneficiaries and obligated
   parties) is a group the profile is not in (another group of the same kind: 残疾人 for an elderly
   person; the other kind: enterprises for a person), or when a threshold it sets on them (age,
   headcount, revenue, R&D share) fails on what the profile states.
3. **Order**: clauses that give the profile something, then those that bind it, then targets and
   work items; within each, how closely search found them, more when a party named is the profile's
   own group."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from qa.chunking import Chunk
from qa.numerals import arabic_numerals
from qa.retrieval import Filters, Retriever
from qa.roles import Attribute, Reading, Role
from qa.tagging import (
    CATEGORY,
    MEASURE,
    PROVINCE,
    Kind,
    Section,
    Tags,
    categories_in,
    city_of,
    industries_in,
    main_city,
    measures_in,
    without_places,
)
from qa.validity import Status, Validity

_PERSON_WORDS = re.compile(
    r"我|本人|个人|人员|老人|老年|家长|孩子|女性|妇女|学生|毕业生|退休|残疾|职工|劳动者|创业者"
)
_ENTERPRISE_WORDS = re.compile(r"企业|公司|工厂|厂家|机构|单位")
_OUTSIDE = re.compile(r"上海|江苏|安徽|福建|江西|北京|天津|广东|深圳|苏州|南京|合肥|外省")
_HEADCOUNT = re.compile(r"(\d+)\s*(?:多|来|余)?\s*(?:个|名)?\s*(?:人|员工|职工|工人)")
_REVENUE = re.compile(r"(?:营收|营业收入|销售额|销售收入|产值)[^，。；,]{0,8}?(\d+(?:\.\d+)?)\s*(亿|万)")
_RD_SHARE = re.compile(r"研发[^，。；,]{0,12}?(\d+(?:\.\d+)?)\s*[%％]")
_RELATIVE = re.compile(r"父亲|母亲|父母|孩子|儿子|女儿|爷爷|奶奶|外公|外婆|配偶|丈夫|妻子|家里人|大孩子")
"""A sentence naming another person: the ages in it are not the profile's own."""
_ORGANISATION = re.compile(r"(?:企业|公司|单位|机构|组织|主体|医院|学校|院所|高校|社|厂|店|站|平台|中心)$")
"""The end of a party naming an organisation: what it is given is not a person's."""
_PEOPLE = re.compile(
    r"(?:个人|自然人|残疾人|老年人|未成年人|人员|群体|群众|居民|公民|市民|老人|儿童|婴幼儿|妇女|女性|青年|少年|"
    r"学生|子女|父母|家庭|家属|患者|劳动者|消费者|志愿者)$"
)
"""The end of a party naming people: what they are given is not an organisation's."""
_OWN_AGE = re.compile(r"(?:我|本人)(?!们)[^，。；,]{0,6}?\d+\s*(?:周岁|岁)")
_STAFF = re.compile(
    r"\d+\s*(?:多|来|余)?\s*(?:个|名)?\s*(?:员工|职工|工人|雇员|店员|伙计)|(?:请|雇|招)了?\s*\d+"
)
"""The staff a profile employs (20来个工人, 打算请8个员工)."""
_NEED = re.compile(r"想|希望|打算|准备|需要|担心|要|能不能|怎么|如何|申请|申报")
_IN_PART = r"[^，。；,;！？!?]"
"""A character of one part of a profile (its parts are split at commas and sentence ends)."""
_PART = re.compile(_IN_PART + "+")
_DENIAL = re.compile(r"(?:不是|并非|不属于|不算|没有|没|从未|尚未|还未|不在|不担任)" + _IN_PART + "*")
"""A denial and the rest of its part (不是低保或困难家庭, 还没有正式的研发机构): what it names the profile is
not."""
_SMALL = re.compile(r"小微|初创|中小")
_SMALL_HEADCOUNT = 300
"""Staff up to this many: a small or medium enterprise (the national SME standard for industry)."""

IMPLIES: dict[str, tuple[str, ...]] = {
    "科技型中小企业": ("科技企业", "中小企业"),
    "高新技术企业": ("科技企业",),
    "专精特新企业": ("中小企业",),
    "技术经纪人": ("科研人员",),
}
"""Broader categories a profile belongs to by a narrower one."""

IMPLIED = 0.6
"""A category a profile belongs to only by implication counts this much of its weight."""
_AGE = re.compile(r"(\d{1,3})\s*(?:周岁|岁)")
AGE_GROUPS: dict[int, tuple[str, ...]] = {6: ("婴幼儿", "儿童"), 17: ("儿童",), 59: (), 200: ("老年人",)}
"""The categories of a person of an age (up to the key), e.g. a 3岁 child: 婴幼儿 and 儿童."""
GENERIC = {Kind.ENTERPRISE: "企业", Kind.PERSON: "居民"}
_SENTENCE = re.compile(r"[^。；\n]+[。；]?")
_GIVES_CHARS = 90
_NOTE = re.compile(r"[(（]责任单位[:：][^)）]*[)）]")
"""The departments in charge, noted after a task: not part of what it gives."""
POOL = 40
"""Clauses taken from search for the profile's words and for each of its needs."""
MIN_RELEVANCE = 0.2
"""A candidate whose scaled search score is below this for every query is not listed."""
OWN_GROUP = 0.3
"""Added to a clause whose parties name the profile's own group (beyond the generic 企业 / 居民)."""
ROLE_WEIGHT = {Role.GIVES: 0.3, Role.REQUIRES: 0.15, Role.TARGET: 0.0}
"""Added to a clause by what it does for the profile: gives before binds before targets, at equal
relevance; a clause that gives the profile's own group something comes before all others."""
SPECIFIC = 0.8
"""Groups at least this specific must all hold for a party naming several (残疾妇女: disabled and women);
broader ones (家庭, 中小企业) only when the party names no specific one."""
LOCAL = 0.3
"""Added to a clause of the profile's own city: on the same matter a city's rule is the more specific."""
CONCRETE = 0.8
"""A measure at least this strong (:data:`qa.tagging.MEASURES`) gives something even to nobody named."""
NEED_WEIGHT = 0.9
"""A candidate found for one need counts this much of its relevance (the profile's words: 1)."""


@dataclass
class Profile:
    """Whom to find policies for.

    Args:
        text: the profile in words.
        region: the Zhejiang city (``嘉兴市``), or '' when not said (then every region's measures).
        in_province: False for a place outside Zhejiang (no measure of this corpus applies).
        kind: an enterprise (or other organisation) or a person.
        weights: the beneficiary categories it belongs to, each with how much a clause naming it
            counts: the category's specificity, less for a category only implied (a 科技型中小企业 is
            also a 科技企业) and least for the generic ``企业`` / ``居民``.
        industries: industries it works in.
        attributes: what it states of itself that clauses set thresholds on (age, headcount,
            revenue in 万元, R&D share in percent).
        needs: the parts of its text that say what it wants (想…, 希望…), searched on their own.
    """

    text: str
    region: str = ""
    in_province: bool = True
    kind: Kind = Kind.ENTERPRISE
    weights: dict[str, float] = field(default_factory=dict)
    industries: list[str] = field(default_factory=list)
    attributes: dict[Attribute, float] = field(default_factory=dict)
    needs: list[str] = field(default_factory=list)

    @property
    def categories(self) -> list[str]:
        """Its categories, the most telling first."""
        return sorted(self.weights, key=lambda c: -self.weights[c])

    @classmethod
    def parse(
        cls,
        text: str = "",
        region: str | None = None,
        kind: Kind | str | None = None,
        industry: str | None = None,
        qualifications: list[str] | None = None,
    ) -> Profile:
        """A profile from free text and optional fields (the fields win over the text).

        Args:
            text: e.g. ``嘉兴一家做新材料的科技型中小企业，40人``.
            region: a city or county (``嘉兴``, ``海宁``), ``浙江省``, or a place outside Zhejiang.
            kind: ``enterprise`` or ``person``.
            industry: e.g. ``新材料``.
            qualifications: qualifications of an enterprise or the situation of a person
                (``高新技术企业``, ``老年人及家属``).
        """
        extra = " ".join([industry or "", *(qualifications or [])])
        words = f"{text} {extra}".strip()
        place = region if region is not None else text
        found = categories_in(_DENIAL.sub("", words))
        if kind is None:
            kind = _guess_kind(words, found)
        kind = Kind(kind)
        weights = {c: CATEGORY[c].weight for c in found if CATEGORY[c].kind == kind}
        for c in list(weights):
            for broader in IMPLIES.get(c, ()):
                weights.setdefault(broader, IMPLIED * CATEGORY[broader].weight)
        if kind == Kind.ENTERPRISE:
            heads = [int(n) for n in _HEADCOUNT.findall(words)]
            if _SMALL.search(words) or (heads and max(heads) <= _SMALL_HEADCOUNT):
                weights.setdefault("中小企业", CATEGORY["中小企业"].weight)
        else:
            for age in (int(n) for n in _AGE.findall(words) if int(n) <= max(AGE_GROUPS)):
                for category in AGE_GROUPS[next(limit for limit in AGE_GROUPS if age <= limit)]:
                    weights.setdefault(category, CATEGORY[category].weight)
        weights.setdefault(GENERIC[kind], CATEGORY[GENERIC[kind]].weight)
        return cls(
            text=words,
            region=main_city(place),
            in_province=not (_OUTSIDE.search(place) and not city_of(place)),
            kind=kind,
            weights=weights,
            industries=industries_in(industry or text),
            attributes=attributes_of(words),
            needs=[p.strip() for p in _PART.findall(text) if _NEED.search(p) and len(p.strip()) >= 4],
        )

    def describe(self) -> dict[str, object]:
        """The profile as understood, for the JSON output."""
        return {
            "text": self.text,
            "region": self.region or (PROVINCE if self.in_province else "浙江省外"),
            "kind": self.kind.value,
            "categories": self.categories,
            "industries": self.industries,
            "attributes": {a.value: v for a, v in self.attributes.items()},
            "needs": self.needs,
        }


def _guess_kind(words: str, found: list[str]) -> Kind:
    if _OWN_AGE.search(words):
        return Kind.PERSON  # only a person states their own age
    if _STAFF.search(arabic_numerals(words)):
        return Kind.ENTERPRISE  # and only an employer its staff
    person = sum(CATEGORY[c].weight for c in found if CATEGORY[c].kind == Kind.PERSON)
    enterprise = sum(CATEGORY[c].weight for c in found if CATEGORY[c].kind == Kind.ENTERPRISE)
    person += 1.0 if _PERSON_WORDS.search(words) else 0.0
    enterprise += 1.0 if _ENTERPRISE_WORDS.search(words) else 0.0
    return Kind.PERSON if person > enterprise else Kind.ENTERPRISE


def attributes_of(text: str) -> dict[Attribute, float]:
    """What a profile states of itself that clauses set thresholds on: its own age (not in a sentence
    about a relative), headcount, revenue (万元) and R&D share (percent); Chinese numerals read first."""
    text = arabic_numerals(text)
    found: dict[Attribute, float] = {}
    for part in _PART.findall(text):
        age = _AGE.search(part)
        if age and not _RELATIVE.search(part) and Attribute.AGE not in found:
            found[Attribute.AGE] = float(age.group(1))
    heads = [float(n) for n in _HEADCOUNT.findall(text) if float(n) > 0]
    if heads:
        found[Attribute.HEADCOUNT] = max(heads)
    revenue = _REVENUE.search(text)
    if revenue:
        found[Attribute.REVENUE] = float(revenue.group(1)) * (1e4 if revenue.group(2) == "亿" else 1.0)
    share = _RD_SHARE.search(text)
    if share:
        found[Attribute.RD_SHARE] = float(share.group(1))
    return found


@dataclass
class Match:
    """One clause that applies to a profile."""

    rank: int
    score: float
    chunk: Chunk
    gives: str
    why: str
    validity: Status
    region: str = PROVINCE

    def to_dict(self) -> dict[str, object]:
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 4),
            "text": c.text,
            "source_file": c.source_file,
            "doc_title": c.doc_title,
            "doc_number": c.doc_number,
            "issuer": c.issuer,
            "region": self.region,
            "clause_path": c.clause_path,
            "gives": self.gives,
            "why": self.why,
            "validity": self.validity.to_dict(),
        }


def match_report(profile: Profile, matches: list[Match]) -> dict[str, object]:
    """The profile as understood and its matches: the JSON of ``qa match --json`` and the chat's
    ``/match``."""
    return {"profile": profile.describe(), "results": [m.to_dict() for m in matches]}


def _strength(measures: list[str]) -> float:
    """How concrete the most concrete of ``measures`` is (0 for none)."""
    return max((MEASURE[m].strength for m in measures), default=0.0)


def gives_line(text: str, categories: list[str]) -> str:
    """The sentence of a clause that best says what it gives or requires (the most concrete measure,
    then the one naming the profile's categories), without its 责任单位 note, cut to about 90
    characters."""

    def worth(sentence: str) -> float:
        named = any(CATEGORY[c].pattern.search(sentence) for c in categories)
        return _strength(measures_in(sentence)) + 0.5 * named

    sentences = [s for s in (_NOTE.sub("", s).strip() for s in _SENTENCE.findall(text)) if len(s) > 12]
    best = max(sentences, key=worth, default=text.strip())
    return best if len(best) <= _GIVES_CHARS else best[: _GIVES_CHARS - 1] + "…"


class Fit(str, Enum):
    """How a clause's party stands to a profile."""

    OWN = "own"
    """It names the profile's own group (or one containing it)."""
    GENERIC = "generic"
    """It names enterprises or residents in general, or a party the group lexicon does not know."""
    OTHER = "other"
    """It names another group only, or sets a threshold the profile fails."""


def fit(party: str, profile: Profile, reading: Reading) -> Fit:
    """How one party a clause names stands to ``profile`` (see :class:`Fit`), by the groups it names; the
    clause's thresholds are checked against what the profile states."""
    for bound in reading.bounds:
        value = profile.attributes.get(bound.attribute)
        if value is not None and not bound.admits(value):
            return Fit.OTHER
    named = categories_in(party)
    own = [c for c in named if CATEGORY[c].kind == profile.kind]
    groups = [c for c in own if c != GENERIC[profile.kind]]
    specific = [c for c in groups if CATEGORY[c].weight >= SPECIFIC] or groups
    if specific and all(c in profile.weights for c in specific):
        return Fit.OWN  # a phrase naming two groups (残疾妇女) names those in both
    if specific or (named and not own):
        return Fit.OTHER
    if profile.kind == Kind.PERSON and _ORGANISATION.search(party):
        return Fit.OTHER  # what an organisation gets is not a person's
    if profile.kind == Kind.ENTERPRISE and _PEOPLE.search(party):
        return Fit.OTHER  # nor what people get an organisation's
    return Fit.GENERIC


def role_for(
    reading: Reading, profile: Profile, concrete: bool = False, title: str = ""
) -> tuple[Role, Fit] | None:
    """What a clause does for ``profile`` and how well its party fits: gives when a beneficiary fits,
    binds when an obligated party fits; None when every party it names is another group's. A party that
    names no group (and a clause that names no party) is taken to concern the group its document's
    ``title`` names (None when that is another group). A clause naming no party gives when it states a
    ``concrete`` benefit (an award, a subsidy, tax relief, priority, a pay or benefit standard), else
    binds when it punishes, else is a target or work item."""
    context = fit(title, profile, reading) if title else Fit.GENERIC
    for role, parties in ((Role.GIVES, reading.beneficiaries), (Role.REQUIRES, reading.obligated)):
        best = min((fit(p, profile, reading) for p in parties), key=list(Fit).index, default=Fit.OTHER)
        if best != Fit.OTHER:
            return (
                None
                if best == Fit.GENERIC and context == Fit.OTHER
                else (role, min(best, context, key=list(Fit).index))
            )
    if reading.beneficiaries or reading.obligated or context == Fit.OTHER:
        return None
    if concrete and not reading.penalty:
        return Role.GIVES, context
    return reading.role, context  # naming nobody: binds when it punishes, else a target or work item


class Matcher:
    """Matches profiles against the clauses of a retriever's index, by search and eligibility.

    Args:
        retriever: its index (chunks and tags), search and validity dates are used.
    """

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.chunks = retriever.index.chunks
        self.tags = retriever.index.tags
        self.rows = {c.chunk_id: i for i, c in enumerate(self.chunks)}

    @staticmethod
    def names_place_of(tags: Tags, profile: Profile) -> bool:
        """Whether a clause found within the profile's region (search keeps other cities' documents out)
        applies there: a province-wide clause that names particular cities, only in those."""
        return (
            not (profile.region and tags.region == PROVINCE and tags.places) or profile.region in tags.places
        )

    def candidates(self, profile: Profile) -> dict[int, float]:
        """Rows found by search for the profile's words (weight 1) and for each need (NEED_WEIGHT), its
        places left to the region filter (a place searched for would lift its city's documents) and its
        words not expanded (a situation told in everyday words has many words no passage uses, whose
        nearest words of the documents would outweigh those it shares with them) and its first hits not
        ordered again by their closest sentence (the pool matters here, not its first few), not split
        into the things it joins (a profile describes one person or firm), with their
        relevance: the search score scaled between the worst and the best of its query's hits, the
        highest over queries."""
        found: dict[int, float] = {}
        filters = Filters(region=profile.region or None)
        for query, weight in [(profile.text, 1.0)] + [(n, NEED_WEIGHT) for n in profile.needs]:
            hits = self.retriever.search(
                without_places(query), k=POOL, filters=filters, expand=False, focus=False, split=False
            )
            if not hits:
                continue
            low, spread = hits[-1].score, hits[0].score - hits[-1].score
            for hit in hits:
                row = self.rows[hit.chunk.chunk_id]
                share = (hit.score - low) / spread if spread > 0 else 1.0
                found[row] = max(found.get(row, 0.0), weight * share)
        return found

    def match(self, profile: Profile, k: int = 10, in_force_only: bool = False) -> list[Match]:
        """The ``k`` clauses that best apply to ``profile``, best first.

        Args:
            profile: whom to match.
            k: how many clauses.
            in_force_only: leave out clauses of documents that are 已失效 or 尚未施行.
        """
        if not profile.in_province:
            return []
        ranked: list[tuple[float, int, Role, Fit]] = []
        for row, relevance in self.candidates(profile).items():
            tags = self.tags[row]
            if (
                relevance < MIN_RELEVANCE
                or tags.section == Section.BACKGROUND
                or not self.names_place_of(tags, profile)
            ):
                continue
            chunk = self.chunks[row]
            role = role_for(
                tags.reading, profile, _strength(tags.measures) >= CONCRETE, chunk.part or chunk.doc_title
            )
            if role is None:
                continue
            if tags.section == Section.IMPLEMENTATION:
                role = (Role.TARGET, role[1])  # the government's arrangements for carrying a plan out
            if in_force_only and self.retriever.validity(chunk).validity in (
                Validity.EXPIRED,
                Validity.NOT_YET,
            ):
                continue
            score = relevance + ROLE_WEIGHT[role[0]] + OWN_GROUP * (role[1] == Fit.OWN)
            score += LOCAL * (tags.region == profile.region)
            ranked.append((score, row, *role))
        ranked.sort(key=lambda x: (x[2] != Role.GIVES or x[3] != Fit.OWN, -x[0]))
        return [
            self._result(rank, score, row, profile, role, how)
            for rank, (score, row, role, how) in enumerate(ranked[:k], start=1)
        ]

    def _result(self, rank: int, score: float, row: int, profile: Profile, role: Role, how: Fit) -> Match:
        chunk, tags = self.chunks[row], self.tags[row]
        parties = tags.granted if role == Role.GIVES else tags.bound if role == Role.REQUIRES else []
        if parties:
            reasons = [("给予" if role == Role.GIVES else "要求") + "「" + "、".join(parties[:3]) + "」"]
        else:
            reasons = [
                {Role.GIVES: "给予措施", Role.REQUIRES: "规定义务或罚则", Role.TARGET: "目标或工作任务"}[role]
            ]
        groups = [c for c in profile.categories if c in tags.beneficiaries and c not in GENERIC.values()]
        if groups:
            reasons.append(("点名「" if how == Fit.OWN else "涉及「") + "、".join(groups) + "」")
        who = "企业" if profile.kind == Kind.ENTERPRISE else "人员"
        if tags.region != PROVINCE:
            reasons.append(f"{tags.region}政策，适用于{tags.region}的{who}")
        elif tags.places:
            reasons.append(f"省级政策，条款限于{'、'.join(tags.places)}")
        else:
            reasons.append("省级或国家政策，全省适用")
        shared = [i for i in profile.industries if i in tags.industries]
        if shared:
            reasons.append("行业相符：" + "、".join(shared))
        return Match(
            rank=rank,
            score=score,
            chunk=chunk,
            gives=gives_line(chunk.text, [c for c in profile.categories if c in tags.beneficiaries]),
            why="；".join(reasons),
            validity=self.retriever.validity(chunk),
            region=tags.region,
        )
