"""A document's metadata from its wording: its kind (from the title), its history (the lines that date
its adoption, approval, publication and amendments, and name the body that adopted it), when it takes
effect and how long it is valid."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from qa.numerals import arabic_dates

DATE = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
DATE_LINE = re.compile(rf"^{DATE}$")

KINDS = (
    "实施细则 实施办法 实施意见 实施方案 行动计划 工作要点 细则 条例 办法 规定 规则 决定 决议 "
    "通知 意见 规划 纲要 方案 计划 要点 公告 通告 批复 复函 函 解释 章程 法典 法 令"
).split()
"""The kinds of official document, as the last word of a title names them (longer words first)."""
_KIND = re.compile(rf"({'|'.join(KINDS)})$")
_TRAILING_NOTE = re.compile(r"[(（][^()（）]*[)）]$")  # (试行), (2021年修正), (2024-2026年)

_EVENT_VERBS = "通过|批准|发布|公布|修正|修订|施行"
_HISTORY_LINE = re.compile(
    rf"^[(（]?\s*(?:根据\s*)?{DATE}[^。；]{{0,240}}?(?:{_EVENT_VERBS}|会议|决定)[^。；]{{0,120}}$"
)
"""A history line: a date, who did what (``2003年9月26日 宁波市第十二届…第五次会议通过``), or several
in parentheses (``（2004年8月28日…通过　根据2015年4月24日…修正）``); never a sentence."""
_EVENT = re.compile(rf"{DATE}\s*(.*?)({_EVENT_VERBS})")
_AMENDING = re.compile(r"修正|修订|修改")
_ADOPTING = ("通过", "发布", "公布")
_SESSION = re.compile(r"第[一二三四五六七八九十百\d]+次.*$")  # 第五次会议, 第12次常务会议
_TERM = re.compile(r"第[一二三四五六七八九十百\d]+届")  # 第十二届
_ORDER = re.compile(r"令第\s*[\d一二三四五六七八九十百]+\s*号.*$")  # 交通部令第8号

_EFFECTIVE = re.compile(  # 自…起施行, or 从…起, followed by the measure (从2024年1月1日起,将…调整为…)
    rf"[自从]\s*{DATE}\s*起\s*(?:施行|实施|执行|生效|[,，])"
)
_ON_PUBLICATION = re.compile(r"自(?:公布|发布|印发)之日起(?:施行|实施|执行|生效)")
_VALID_UNTIL = re.compile(rf"有效期至\s*{DATE}")
_VALID_YEARS = re.compile(r"有效期\s*(\d{1,2})\s*年")


def iso(y: str, m: str, d: str) -> str:
    """``2024``, ``3``, ``1`` -> ``2024-03-01``."""
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


RULE_KINDS = frozenset("法典 法 条例 实施细则 实施办法 细则 办法 规定 规则 决定 解释".split())
"""Kinds of document that bind until repealed (laws, regulations, rules), as opposed to plans and notices."""


def kind_of(title: str) -> str:
    """The kind of document a title names by its last word (条例, 办法, 通知, 规划…), or ``""``.

    Args:
        title: the title, without markup; a trailing note in brackets (``(试行)``) is skipped.
    """
    title = title.strip("《》 ")
    while _TRAILING_NOTE.search(title):
        title = _TRAILING_NOTE.sub("", title).rstrip()
    m = _KIND.search(title)
    return m.group(1) if m else ""


@dataclass(frozen=True)
class Event:
    """One step of a document's history: when, who, and what (通过, 批准, 公布, 修正…)."""

    date: str
    body: str
    verb: str
    amends: bool


_HISTORY_MORE = re.compile(rf"^[^。；]{{4,240}}(?:{_EVENT_VERBS})[^。；]{{0,120}}$")


def is_history_line(line: str, after_history: bool = False) -> bool:
    """Whether a line records steps of the document's history (adoption, approval, amendment).

    Args:
        line: the line.
        after_history: the line before it was a history line: then a step without its date
            (``浙江省第七届人民代表大会常务委员会第二十六次会议批准``) counts too.
    """
    line = arabic_dates(line.strip())
    return bool(_HISTORY_LINE.match(line) or (after_history and _HISTORY_MORE.match(line)))


def history_events(line: str) -> list[Event]:
    """The steps a history line records, in order.

    Args:
        line: e.g. ``2020年5月15日 浙江省…批准的《…关于修改〈…〉的决定》修正``.
    """
    line = arabic_dates(line)
    amends = bool(_AMENDING.search(line))
    return [
        Event(iso(*m.groups()[:3]), m.group(4).strip(" 　根据经由"), m.group(5), amends)
        for m in _EVENT.finditer(line)
    ]


def issuer_of(body: str) -> str:
    """The organisation in a history step's body: ``宁波市第十二届人民代表大会常务委员会第五次会议`` ->
    ``宁波市人民代表大会常务委员会``; ``中华人民共和国交通部令第8号`` -> ``中华人民共和国交通部``."""
    body = _ORDER.sub("", _SESSION.sub("", body))
    return _TERM.sub("", body).strip(" 　")


@dataclass(frozen=True)
class History:
    """What a document's history lines say: adopted (or published) when and by whom, last amended when,
    and when it took effect, where they say so (``2015年11月1日 施行``)."""

    issue_date: str = ""
    issuer: str = ""
    amended_date: str = ""
    effective_date: str = ""


def read_history(events: list[Event]) -> History:
    """The adoption date and body (the first step that adopts or publishes; else the first step) and the
    date of the latest amendment (a later step on a line that amends)."""
    if not events:
        return History()
    first = next((e for e in events if e.verb in _ADOPTING), events[0])
    amended = [e.date for e in events if e.amends and e.date > first.date]
    effective = [e.date for e in events if e.verb == "施行"]
    return History(first.date, issuer_of(first.body), max(amended, default=""), min(effective, default=""))


@dataclass(frozen=True)
class Dates:
    """When a document takes effect and until when it is valid, as its text states them."""

    effective_date: str = ""
    valid_until: str = ""


def read_dates(text: str, issue_date: str, effective_date: str = "") -> Dates:
    """The effective date (``自2024年4月1日起施行``; ``自公布之日起施行`` is the issue date) and the end of
    the validity period (``有效期至…``, or ``有效期N年`` from the effective or issue date).

    Args:
        text: the document's wording, white space removed.
        issue_date: its issue or adoption date, ``YYYY-MM-DD`` or empty.
        effective_date: the date its history says it took effect, if any (the text may say otherwise).
    """
    text = arabic_dates(text)
    effective = effective_date
    m = _EFFECTIVE.search(text)
    if m:
        effective = iso(*m.groups())
    elif _ON_PUBLICATION.search(text) and not effective:
        effective = issue_date
    m = _VALID_UNTIL.search(text)
    if m:
        return Dates(effective, iso(*m.groups()))
    m = _VALID_YEARS.search(text)
    start = effective or issue_date
    if m and start:
        d = date.fromisoformat(start)
        d = d.replace(year=d.year + int(m.group(1)), day=min(d.day, 28))
        return Dates(effective, (d - timedelta(days=1)).isoformat())
    return Dates(effective)
