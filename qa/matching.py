"""Policies that find their people ("政策找人、政策找企业"): from a profile (free text or fields) to the
clauses that apply to it and give it something or require something of it, ranked, each with what
it gives in one line and why it matches.

The list is decided by the clause tags of :mod:`qa.tagging`, not by a language model:

1. **Region**: a municipal measure applies in its city only; a provincial one everywhere in Zhejiang,
   unless the clause names particular cities (then there only). A place outside Zhejiang gets none.
2. **Whom**: the clause (or its document's title) must name one of the profile's beneficiary
   categories (its qualifications or situation, the broader categories they belong to, and the
   generic ``企业`` or ``居民`` at a low weight), and state some measure.
3. **Rank** by how specific the named category is, whether the clause addresses it directly
   (``对…高新技术企业…给予``), whether it is really about another category of the same kind, how
   concrete the measure is (an award or subsidy over a service over a general 支持), a shared
   industry, and, last, the clause's closeness to the profile text (the dense model)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from qa.chunking import PATH_SEP, Chunk, heading_level
from qa.retrieval import Retriever
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
    measures_in,
)
from qa.validity import Status, Validity

_PERSON_WORDS = re.compile(
    r"我|本人|个人|人员|老人|老年|家长|孩子|女性|妇女|学生|毕业生|退休|残疾|职工|劳动者|创业者"
)
_ENTERPRISE_WORDS = re.compile(r"企业|公司|工厂|厂家|机构|单位")
_OUTSIDE = re.compile(r"上海|江苏|安徽|福建|江西|北京|天津|广东|深圳|苏州|南京|合肥|外省")
_HEADCOUNT = re.compile(r"(\d+)\s*(?:人|名员工|名职工|个员工)")
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
_DIRECT_VERBS = r"给予|奖励|补助|补贴|享受|优先|减免|可按|可申请|提供"
_SENTENCE = re.compile(r"[^。；\n]+[。；]?")
_GIVES_CHARS = 90
_NOTE = re.compile(r"[(（]责任单位[:：][^)）]*[)）]")
"""The departments in charge, noted after a task: not part of what it gives."""
ABOUT, DIRECT, COVERAGE, TITLE, ELSEWHERE, LOCAL, INDUSTRY = 0.6, 0.4, 0.4, 0.4, 0.5, 0.2, 0.3
"""Weights of :func:`_score`'s parts (see there)."""
OTHER_INDUSTRY = 1.0
"""A clause headed by another industry (涉海 for a 新材料 firm) is all but excluded."""
SPECIFIC = 0.8
"""Categories at least this specific say whom a clause is about (企业, 居民, 劳动者, 中小企业 do not)."""
HEAD_SENTENCES = 1
"""A clause's heading and its first sentence after the headings say what it is about."""


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
    """

    text: str
    region: str = ""
    in_province: bool = True
    kind: Kind = Kind.ENTERPRISE
    weights: dict[str, float] = field(default_factory=dict)
    industries: list[str] = field(default_factory=list)

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
        found = categories_in(words)
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
            region=city_of(place),
            in_province=not (_OUTSIDE.search(place) and not city_of(place)),
            kind=kind,
            weights=weights,
            industries=industries_in(industry or text),
        )

    def describe(self) -> dict[str, object]:
        """The profile as understood, for the JSON output."""
        return {
            "text": self.text,
            "region": self.region or (PROVINCE if self.in_province else "浙江省外"),
            "kind": self.kind.value,
            "categories": self.categories,
            "industries": self.industries,
        }


def _guess_kind(words: str, found: list[str]) -> Kind:
    person = sum(CATEGORY[c].weight for c in found if CATEGORY[c].kind == Kind.PERSON)
    enterprise = sum(CATEGORY[c].weight for c in found if CATEGORY[c].kind == Kind.ENTERPRISE)
    person += 1.0 if _PERSON_WORDS.search(words) else 0.0
    enterprise += 1.0 if _ENTERPRISE_WORDS.search(words) else 0.0
    return Kind.PERSON if person > enterprise else Kind.ENTERPRISE


@dataclass
class Match:
    """One clause that applies to a profile."""

    rank: int
    score: float
    chunk: Chunk
    gives: str
    why: str
    validity: Status

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
            "clause_path": c.clause_path,
            "gives": self.gives,
            "why": self.why,
            "validity": self.validity.to_dict(),
        }


def match_report(profile: Profile, matches: list[Match]) -> dict[str, object]:
    """The profile as understood and its matches: the JSON of ``qa match --json`` and the chat's
    ``/match``."""
    return {"profile": profile.describe(), "results": [m.to_dict() for m in matches]}


def gives_line(text: str, categories: list[str]) -> str:
    """The sentence of a clause that best says what it gives or requires (the most concrete measure,
    then the one naming the profile's categories), without its 责任单位 note, cut to about 90
    characters."""

    def worth(sentence: str) -> float:
        measures = measures_in(sentence)
        strength = MEASURE[measures[0]].strength if measures else 0.0
        named = any(CATEGORY[c].pattern.search(sentence) for c in categories)
        return strength + 0.5 * named

    sentences = [s for s in (_NOTE.sub("", s).strip() for s in _SENTENCE.findall(text)) if len(s) > 4]
    best = max(sentences, key=worth, default=text.strip())
    return best if len(best) <= _GIVES_CHARS else best[: _GIVES_CHARS - 1] + "…"


class Matcher:
    """Matches profiles against the tagged clauses of a retriever's index.

    Args:
        retriever: its index (chunks and tags), dense model and validity dates are used.
        dense_weight: weight of the clause's scaled closeness to the profile text.
    """

    def __init__(self, retriever: Retriever, dense_weight: float = 0.5) -> None:
        self.retriever = retriever
        self.chunks = retriever.index.chunks
        self.tags = retriever.index.tags
        self.dense_weight = dense_weight

    @staticmethod
    def applies_in(tags: Tags, profile: Profile) -> bool:
        """Whether a clause's region covers the profile's."""
        if not profile.in_province:
            return False
        if not profile.region:
            return True
        if tags.region == PROVINCE:
            return not tags.places or profile.region in tags.places
        return tags.region == profile.region

    def match(self, profile: Profile, k: int = 10, in_force_only: bool = False) -> list[Match]:
        """The ``k`` clauses that best apply to ``profile``, best first.

        Args:
            profile: whom to match.
            k: how many clauses.
            in_force_only: leave out clauses of documents that are 已失效 or 尚未施行.
        """
        found: list[tuple[float, int, list[str], list[str]]] = []
        for i, (chunk, tags) in enumerate(zip(self.chunks, self.tags, strict=True)):
            if not tags.measures or not self.applies_in(tags, profile):
                continue
            named = [c for c in profile.categories if c in tags.beneficiaries]
            titled = [
                c for c in profile.categories if c in tags.title_beneficiaries and c not in GENERIC.values()
            ]
            if not named and not titled:
                continue
            validity = self.retriever.validity(chunk).validity
            if in_force_only and validity in (Validity.EXPIRED, Validity.NOT_YET):
                continue
            found.append((_score(chunk, tags, profile, named, titled), i, named, titled))
        if not found:
            return []
        ids = np.array([i for _, i, _, _ in found])
        dense = self.retriever.dense_scores(profile.text, ids)
        spread = dense.max() - dense.min()
        closeness = (dense - dense.min()) / spread if spread > 0 else np.zeros_like(dense)
        scored = [
            (s + self.dense_weight * float(d), i, n, t)
            for (s, i, n, t), d in zip(found, closeness, strict=True)
        ]
        scored.sort(key=lambda x: -x[0])
        return [
            self._result(rank, score, i, profile, named, titled)
            for rank, (score, i, named, titled) in enumerate(scored[:k], start=1)
        ]

    def _result(
        self, rank: int, score: float, i: int, profile: Profile, named: list[str], titled: list[str]
    ) -> Match:
        chunk, tags = self.chunks[i], self.tags[i]
        reasons = []
        if named:
            reasons.append("条款点名「" + "、".join(named) + "」")
        by_title = [t for t in titled if t not in named]
        if by_title:
            reasons.append("所属文件面向「" + "、".join(by_title) + "」")
        who = "企业" if profile.kind == Kind.ENTERPRISE else "人员"
        if tags.region != PROVINCE:
            reasons.append(f"{tags.region}政策，适用于{tags.region}的{who}")
        elif tags.places:
            reasons.append(f"省级政策，条款限于{'、'.join(tags.places)}")
        else:
            reasons.append("省级政策，全省适用")
        reasons.append("措施：" + "、".join(tags.measures))
        shared = [i for i in profile.industries if i in tags.industries]
        if shared:
            reasons.append("行业相符：" + "、".join(shared))
        return Match(
            rank=rank,
            score=score,
            chunk=chunk,
            gives=gives_line(chunk.text, named or titled),
            why="；".join(reasons),
            validity=self.retriever.validity(chunk),
        )


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _strength(text: str) -> float:
    measures = measures_in(text)
    return MEASURE[measures[0]].strength if measures else 0.0


def _score(chunk: Chunk, tags: Tags, profile: Profile, named: list[str], titled: list[str]) -> float:
    """How well a clause applies to a profile (before closeness to the profile text):

    - for each category of the profile the clause names: its weight, raised when the clause is about
      it (named in the clause's heading or first sentence) and addresses it directly
      (``对…企业…给予``, ``支持…企业``); the best counts in full, the others add a part;
    - how concrete the measure is in the sentences that name the best category (half the clause's
      own strength when none does);
    - the document's title naming a category (``…儿童发展规划``);
    - less when the clause is about another category of the same kind (its heading or first sentence
      names one the profile is not: ``残疾妇女`` for a 残疾人), about another industry, or is an
      implementation arrangement; more for a measure of the profile's own city and a shared industry.
    """
    text = chunk.text
    sentences = _sentences(text)
    body = [x for x in sentences if heading_level(x) is None]
    head = "\n".join([chunk.clause_path.split(PATH_SEP)[-1], *body[:HEAD_SENTENCES]])
    relevance = {}
    for c in named:
        pattern = CATEGORY[c].pattern
        direct = re.search(
            rf"(?:对|为|向|支持|鼓励|帮助|保障)[^。；]{{0,15}}(?:{pattern.pattern})", text
        ) or re.search(rf"(?:{pattern.pattern})[^。；]{{0,30}}(?:{_DIRECT_VERBS})", text)
        relevance[c] = profile.weights[c] * (1 + ABOUT * bool(pattern.search(head)) + DIRECT * bool(direct))
    score = 0.0
    if relevance:
        best = max(relevance, key=relevance.get)
        score += relevance[best] + COVERAGE * sum(v for c, v in relevance.items() if c != best)
        tied = [s for s in sentences if CATEGORY[best].pattern.search(s)]
        score += max(map(_strength, tied), default=0.0) or 0.5 * _strength(text)
    else:
        score += 0.5 * _strength(text)
    score += TITLE * max((profile.weights[c] for c in titled), default=0.0)
    about_others = [
        c
        for c in tags.beneficiaries
        if CATEGORY[c].kind == profile.kind
        and c not in profile.weights
        and CATEGORY[c].weight >= SPECIFIC
        and CATEGORY[c].pattern.search(head)
    ]
    other_industry = profile.industries and set(industries_in(head)) - set(profile.industries)
    if about_others or tags.section == Section.IMPLEMENTATION:
        score -= ELSEWHERE
    if other_industry:
        score -= OTHER_INDUSTRY
    if tags.region == profile.region:
        score += LOCAL
    if set(profile.industries) & set(tags.industries):
        score += INDUSTRY
    return score
