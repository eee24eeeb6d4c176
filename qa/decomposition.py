"""Decomposition: a question that asks the same of several things, split into one question for each.

The 1.5B answering model, asked ``桐庐县和金华市婺城区…各把多少个部门…``, writes one figure for both
places; asked about each place on its own, it finds each. Things joined by 和、与、及 or ``、`` and asked
about one by one (``A和B分别…``, ``A、B各…``) give one question each, the others left out
(``城镇化率2025年和2035年分别要达到多少`` → ``城镇化率2025年要达到多少``, …). Any other question is
asked as it is: several questions in a row are answered well together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jieba.posseg

_CONJUNCTIONS = {"和", "与", "及", "以及", "跟", "同", "、"}
_EACH = {"分别", "各自"}
"""Words saying that the things joined before them are asked about one by one; ``各`` says it before a
verb or a figure (``各把``, ``各有多少``), not in ``各地``."""
_COMPARE = re.compile(
    r"(?:之间)?(?:有什么|有何|有哪些|存在什么|是否有|有没有)(?:不同|区别|差别|差异)"
    r"|(?:是否)?(?:一样|相同)吗?|的?(?:不同|区别|差别|差异)(?:在哪里?|是什么|有哪些)"
    r"(?=\s*[?？。]?\s*$)"
)
"""How a question ends that compares the things it joins (``有什么不同``, ``一样吗``)."""
_DANGLING = re.compile(r"[,，;；]\s*是什么(?=\s*[?？。]?\s*$)")
"""What a comparison after a comma leaves of each part once it asks 分别是什么 (``…报告，是什么？``)."""
_COUNT = re.compile(r"(?:这|那)?[两二三四五几]个?(?:城市|地方|地区|地|市|县|区|省)(?![级长委场])")
"""A count of the places a question joins (``嘉兴、宁波两地``, ``这两个地方``): said of all of them, of none
once asked one by one."""
_COMMAS = {",", "，"}
_ENDS = {"?", "？", "。", "!", "！"}
_BOUNDARIES = _COMMAS | _ENDS | {";", "；", ":", "："}
_NOMINAL = ("n", "t", "m", "q", "l", "j", "b", "s", "eng", "vn")
"""jieba part-of-speech tags of what a joined thing is made of: nouns, names, times, numbers and their
measure words, set phrases, abbreviations, verbal nouns."""

Span = tuple[int, int]


@dataclass(frozen=True)
class Part:
    """One question of a question split by :func:`split_question`, with the thing it asks about (empty
    for a question that was not split)."""

    question: str
    subject: str = ""


def split_question(question: str) -> list[Part]:
    """``question`` once for each of the things it joins and asks about one by one (``A和B分别是多少``:
    ``A是多少`` about ``A``, ``B是多少`` about ``B``) or compares (``A和B…有什么不同``, ``…一样吗``:
    asked as ``A…是什么``, ``B…是什么``, each answered from its own passages), else ``question`` alone."""
    compared = _COMPARE.search(question)
    parts = _split(_COMPARE.sub("分别是什么", question, count=1))
    if compared:  # 杭州与台州…多少日内报告，有何区别: what each is asked before the comma
        parts = [Part(_DANGLING.sub("", p.question), p.subject) for p in parts]
    if len(parts) < 2:
        return [Part(question)]
    return [Part(_COUNT.sub("", p.question), _COUNT.sub("", p.subject)) for p in parts]


def _split(question: str) -> list[Part]:
    tokens = [(t.word, t.flag) for t in jieba.posseg.cut(question)]
    words = [w for w, _ in tokens]
    each = _each(tokens)
    whole = [Part(question)]
    if each is None:
        return whole
    start = max((i + 1 for i in range(each) if words[i] in _ENDS), default=0)
    joins = [i for i in range(start + 1, each) if words[i] in _CONJUNCTIONS]
    if not joins:
        return whole
    spans, end, shared = (
        _clauses(words, joins[-1], each)
        if words[joins[-1] - 1] in _COMMAS
        else _runs(tokens, joins[-1], each)
    )
    if len(spans) < 2 or any(a == b for a, b in spans):
        return whole
    before = "".join(words[: spans[0][0]])
    after = "".join(w for i, w in enumerate(words[end:], end) if i != each)
    head = "".join(words[end:shared])  # what joined levels or places are levels or places of
    return [Part(before + "".join(words[a:b]) + after, "".join(words[a:b]) + head) for a, b in spans]


def _each(tokens: list[tuple[str, str]]) -> int | None:
    """Where the question says that it asks about the things before one by one (分别, 各自, 各把…)."""
    for i, (word, _) in enumerate(tokens):
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if word in _EACH or (word == "各" and (after[:1] in ("v", "p") or after == "m")):
            return i
    return None


def _clauses(words: list[str], join: int, each: int) -> tuple[list[Span], int, int]:
    """``A,和B,分别``: the joined things are whole clauses, from the punctuation before to the one after;
    their spans, where the rest of the question begins, and where what they share ends (nothing)."""
    first = join - 1
    while first > 0 and words[first - 1] not in _BOUNDARIES:
        first -= 1
    last = join + 1
    while last < each and words[last] not in _BOUNDARIES:
        last += 1
    end = last + 1 if last < each and words[last] in _COMMAS else last
    return [(first, join - 1), (join + 1, last)], end, end


def _runs(tokens: list[tuple[str, str]], join: int, each: int) -> tuple[list[Span], int, int]:
    """``A、B和C分别``: the joined things are runs of nouns, names and figures. The first is cut to the
    shape of the last when it ends with it (城镇化率2025年和2035年: the years are joined); the last is cut
    to the levels or places that the others are made of, or to its first word when the others are one
    word of its kind each, the rest being what they share (省级和市级企业研究院: 企业研究院 is said of both;
    妇女和儿童发展规划: 发展规划). Their spans, where the rest of the question begins,
    and where what they share ends."""
    nominal = [flag.startswith(_NOMINAL) for _, flag in tokens]
    last = join + 1
    while last < each and nominal[last]:
        last += 1
    spans = [(join + 1, last)]
    at = join
    while at > 0 and tokens[at][0] in _CONJUNCTIONS:
        first = at
        while first > 0 and nominal[first - 1]:
            first -= 1
        if first == at:
            break
        spans.insert(0, (first, at))
        at = first - 1
    (a, b), (c, d) = spans[0], spans[-1]
    if b - a > d - c and [f for _, f in tokens[b - (d - c) : b]] == [f for _, f in tokens[c:d]]:
        spans[0] = (b - (d - c), b)
    kinds = {_kind(token) for start, stop in spans[:-1] for token in tokens[start:stop]}
    end = c
    if len(kinds) == 1 and None not in kinds:
        while end < d and _kind(tokens[end]) in kinds:
            end += 1
    elif (
        d - c > 1
        and all(stop - start == 1 for start, stop in spans[:-1])
        and {tokens[start][1] for start, _ in spans[:-1]} == {tokens[c][1]}
    ):
        end = c + 1  # 妇女和儿童发展规划: single words joined before what they share
    if end > c:
        spans[-1] = (c, end)
        return spans, end, last
    return spans, last, last


def _kind(token: tuple[str, str]) -> str | None:
    """``level`` for 省级, 国家级…; ``place`` for a place name; else none."""
    word, flag = token
    return "level" if word.endswith("级") else "place" if flag == "ns" else None
