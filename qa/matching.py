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

from qa.chunking import Chunk
from qa.retrieval import Retriever
from qa.tagging import (
    CATEGORY,
    MEASURE,
    PROVINCE,
    Kind,
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

GENERIC = {Kind.ENTERPRISE: "企业", Kind.PERSON: "居民"}
_DIRECT_VERBS = r"给予|奖励|补助|补贴|享受|优先|减免|可按|可申请|提供"
_SENTENCE = re.compile(r"[^。；\n]+[。；]?")
_GIVES_CHARS = 90


@dataclass
class Profile:
    """Whom to find policies for.

    Args:
        text: the profile in words.
        region: the Zhejiang city (``嘉兴市``), or '' when not said (then every region's measures).
        in_province: False for a place outside Zhejiang (no measure of this corpus applies).
        kind: an enterprise (or other organisation) or a person.
        categories: beneficiary categories it belongs to, most specific first.
        industries: industries it works in.
    """

    text: str
    region: str = ""
    in_province: bool = True
    kind: Kind = Kind.ENTERPRISE
    categories: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)

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
        categories = [c for c in found if CATEGORY[c].kind == kind]
        for c in list(categories):
            categories += IMPLIES.get(c, ())
        if kind == Kind.ENTERPRISE:
            heads = [int(n) for n in _HEADCOUNT.findall(words)]
            if _SMALL.search(words) or (heads and max(heads) <= _SMALL_HEADCOUNT):
                categories.append("中小企业")
        categories.append(GENERIC[kind])
        categories = sorted(dict.fromkeys(categories), key=lambda c: -CATEGORY[c].weight)
        return cls(
            text=words,
            region=city_of(place),
            in_province=not (_OUTSIDE.search(place) and not city_of(place)),
            kind=kind,
            categories=categories,
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


def gives_line(text: str, categories: list[str]) -> str:
    """The sentence of a clause that best says what it gives or requires (the most concrete measure,
    then the one naming the profile's categories), cut to about 90 characters."""

    def worth(sentence: str) -> float:
        measures = measures_in(sentence)
        strength = MEASURE[measures[0]].strength if measures else 0.0
        named = any(CATEGORY[c].pattern.search(sentence) for c in categories)
        return strength + 0.5 * named

    sentences = [s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) > 4]
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

    def applies_in(self, tags: Tags, profile: Profile) -> bool:
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
            if in_force_only and self.retriever.validity(chunk).validity in (
                Validity.EXPIRED,
                Validity.NOT_YET,
            ):
                continue
            found.append((self._score(chunk, tags, profile, named, titled), i, named, titled))
        if not found:
            return []
        ids = np.array([i for _, i, _, _ in found])
        dense = self.retriever.dense_scores(profile.text)[ids]
        spread = dense.max() - dense.min()
        closeness = (dense - dense.min()) / spread if spread > 0 else np.zeros_like(dense)
        scored = [
            (s + self.dense_weight * float(d), i, n, t)
            for (s, i, n, t), d in zip(found, closeness, strict=True)
        ]
        scored.sort(key=lambda x: -x[0])
        return [
            self._result(rank, score, self.chunks[i], self.tags[i], profile, named, titled)
            for rank, (score, i, named, titled) in enumerate(scored[:k], start=1)
        ]

    def _score(
        self, chunk: Chunk, tags: Tags, profile: Profile, named: list[str], titled: list[str]
    ) -> float:
        text = chunk.text
        best = max((CATEGORY[c].weight for c in named), default=0.0)
        score = best + 0.5 * max((CATEGORY[c].weight for c in titled), default=0.0)
        if named:
            top = max(named, key=lambda c: CATEGORY[c].weight)
            pattern = CATEGORY[top].pattern.pattern
            score += 0.1 * min(3, len(re.findall(pattern, text)) - 1) if re.search(pattern, text) else 0.0
            direct = rf"(?:对|为|向|支持|鼓励|帮助|保障)[^。；]{{0,15}}(?:{pattern})|(?:{pattern})[^。；]{{0,30}}(?:{_DIRECT_VERBS})"
            score += 0.3 if re.search(direct, text) else 0.0
        others = [
            CATEGORY[c].weight
            for c in tags.beneficiaries
            if CATEGORY[c].kind == profile.kind and c not in profile.categories
        ]
        if others and max(others) > best:
            score -= 0.3  # the clause is about another kind of enterprise (or person)
        score += MEASURE[tags.measures[0]].strength
        if set(profile.industries) & set(tags.industries):
            score += 0.3
        return score

    def _result(
        self,
        rank: int,
        score: float,
        chunk: Chunk,
        tags: Tags,
        profile: Profile,
        named: list[str],
        titled: list[str],
    ) -> Match:
        reasons = []
        if named:
            reasons.append("条款点名「" + "、".join(named) + "」")
        by_title = [t for t in titled if t not in named]
        if by_title:
            reasons.append("所属文件面向「" + "、".join(by_title) + "」")
        who = "企业" if profile.kind == Kind.ENTERPRISE else "人员"
        if tags.region == PROVINCE:
            where = (
                f"省级政策，全省适用（限{'、'.join(tags.places)}）" if tags.places else "省级政策，全省适用"
            )
        else:
            where = f"{tags.region}政策，适用于{tags.region}的{who}"
        reasons.append(where)
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
