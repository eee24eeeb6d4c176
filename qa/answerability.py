"""Answerability: whether a passage answers what the question constrains (its places and quoted terms,
the province or a city, its content words, and the year or level of government it asks about), decided
from the question against the evidence, whatever the model wrote."""

from __future__ import annotations

import re
from collections.abc import Container

from qa.figures import norm, number_in, sentences, split_figure
from qa.lexical import normalize, tokenize
from qa.retrieval import Hit, short_plan

PLACES = re.compile(
    "杭州|宁波|温州|嘉兴|湖州|绍兴|金华|衢州|舟山|台州|丽水|义乌|南湖|秀洲|嘉善|平湖|海盐|海宁|桐乡|上海|江苏|安徽"
)


_PROVINCE = re.compile(r"浙江|全省|省里|省政府|省[“\"]?十[一二三四五六七八九]五")


_QUOTED = re.compile(r"[“\"]([^”\"]{2,12})[”\"]")


_YEAR = re.compile(r"((?:19|20)\d\d)年")


_LEVEL = re.compile(r"(国家|省|市|县|区)级")
"""A level of government that an award or a body belongs to."""


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


def _plain(text: str) -> str:
    """Text for matching anchors: normalised, lower case, and a plan's full name in its short form
    (第十四个五年 -> 十四五, as questions say it)."""
    return normalize(norm(short_plan(text)))


def anchors(question: str) -> list[str]:
    """What a passage must name to answer ``question``: the places and quoted terms it names. (Not its
    years: a clause's target year is often stated in its parent heading only.)"""
    found = PLACES.findall(question) + _QUOTED.findall(question)
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
        if len(w) > 1 and w not in _ASKING and not w.isdigit() and not PLACES.search(w)
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
        number = split_figure(figure)[0]
        named = [set(kind.findall(sentence)) - {number} for sentence in stating]
        if not stating or any(not found or found & asked for found in named):
            return False
    return True


def in_scope(question: str, hit: Hit) -> bool:
    """Whether the passage's issuer fits the place the question asks about: a question on the province
    (浙江, 全省) that names no city is not answered by a city's document (嘉兴's minimum wage is not the
    province's)."""
    about_province = _PROVINCE.search(question) and not PLACES.search(question)
    return not (about_province and PLACES.search(hit.chunk.issuer))


def fits(
    question: str, query: str, hit: Hit, vocabulary: Container[str] | None, least: float = MIN_COVERAGE
) -> bool:
    wanted = anchors(question) or anchors(query)
    context = _plain(_context(hit))
    return (
        all(a in context for a in wanted)
        and in_scope(question, hit)
        and coverage(question, hit, vocabulary) >= least
    )
