"""Validity (有效期) of a policy document as of a date: 现行有效, 已失效, 尚未施行 or 未说明, with a short
reason in words.

The rules, first match wins:

1. **Repealed** (已失效): a later document of the corpus names this one's 发文字号 in a sentence that
   repeals it (``…(嘉政发〔2021〕22号)同时废止``), and that later document is in force by ``as_of``.
2. **Not yet in force** (尚未施行): ``as_of`` is before the document was issued, or before its stated
   effective date (``自2024年4月1日起施行``, ``从2024年1月1日起,将…调整为…``).
3. **Stated validity period** (``有效期至2028年12月31日``, or ``有效期N年``): 现行有效 up to and
   including that day, 已失效 after it.
4. **A plan with a period** and no stated validity: a five-year plan (``“十四五”规划``: 2021—2025), a
   plan or action plan with years in its title (``(2024-2026年)``), or an annual plan or work programme
   (``2024年…规划``, ``2021年…工作要点``). Such a plan sets targets and measures for its period, so it is
   现行有效 within the period and 已失效 after its last year (its measures are carried on, if at all, by
   the next plan, which a user must look up).
5. **An effective date and no end**: 现行有效 (in force until repealed; the corpus shows no repeal). A
   law, regulation or rule (法, 条例, 办法, 规定…) adopted or published on a known date binds from then
   on even where its text omits the effective date: 现行有效 too, the reason saying so.
6. **Nothing stated** (未说明): neither an effective date nor a validity period nor a plan period; the
   document may well be in force, but it does not say for how long, and the user should check.

``as_of`` is today unless set (``Config.as_of``, ``QA_AS_OF``, ``--as-of``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

from qa.chunking import Chunk
from qa.metadata import RULE_KINDS
from qa.parsing import DOC_NUMBER_ANYWHERE, normalize_doc_number

_REPEAL = re.compile(r"[^。；]*(?:同时废止|予以废止|同时停止执行|不再执行)")
_YEAR_RANGE = re.compile(r"(\d{4})\s*[-—–~至]\s*(\d{4})\s*年")
_FIVE_YEAR = re.compile(r"十([一二三四五六七八九])(?:五|个五年)")
_ONE_YEAR = re.compile(r"(\d{4})\s*年度?(?![\d月版])")
_PLAN_WORDS = re.compile(r"规划|计划|要点|方案|纲要")
_DIGITS = "一二三四五六七八九"


class Validity(str, Enum):
    IN_FORCE = "现行有效"
    EXPIRED = "已失效"
    NOT_YET = "尚未施行"
    UNSTATED = "未说明"


@dataclass(frozen=True)
class Status:
    """A document's validity as of a date, with the reason in a short phrase."""

    validity: Validity
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"status": self.validity.value, "reason": self.reason}


@dataclass(frozen=True)
class Repeal:
    """A document repealed by a later one of the corpus, from the day that one takes effect."""

    by_number: str
    by_title: str
    from_date: str


def parse_as_of(value: str | date | None) -> date:
    """``YYYY-MM-DD`` (or a date) to a date; empty or None means today.

    Args:
        value: the date, as configured.
    """
    if isinstance(value, date):
        return value
    if not value:
        return date.today()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"as_of 日期格式应为 YYYY-MM-DD：{value!r}") from exc


def repeals(chunks: list[Chunk]) -> dict[str, Repeal]:
    """发文字号 -> the later corpus document that repeals it (``…同时废止``), from its clauses.

    Args:
        chunks: all chunks of the corpus.
    """
    out: dict[str, Repeal] = {}
    for c in chunks:
        for sentence in _REPEAL.findall(c.text):
            for printed in (m.group() for m in DOC_NUMBER_ANYWHERE.finditer(sentence)):
                number = normalize_doc_number(printed)
                if number and number != c.doc_number:
                    # a repeal takes hold once the repealing document is both issued and in force
                    out[number] = Repeal(c.doc_number, c.doc_title, max(c.effective_date, c.date))
    return out


def plan_period(chunk: Chunk) -> tuple[int, int] | None:
    """First and last year of the plan a clause belongs to, read from the plan's or document's title:
    ``十四五`` -> (2021, 2025), ``(2024-2026年)`` -> (2024, 2026), ``2024年…规划`` -> (2024, 2024)."""
    for title in (chunk.part, chunk.doc_title):
        if not title:
            continue
        m = _YEAR_RANGE.search(title)
        if m:
            return int(m.group(1)), int(m.group(2))
        m = _FIVE_YEAR.search(title)
        if m:
            n = 10 + _DIGITS.index(m.group(1)) + 1
            start = 1966 + 5 * (n - 3)  # the third plan began in 1966, each one five years on
            return start, start + 4
        m = _ONE_YEAR.search(title)
        if m and _PLAN_WORDS.search(title):
            return int(m.group(1)), int(m.group(1))
    return None


def validity_of(
    chunk: Chunk, as_of: date | str | None = None, repealed: dict[str, Repeal] | None = None
) -> Status:
    """The validity of a clause's document as of a date (see the module docstring for the rules).

    Args:
        chunk: the clause (its document's dates and titles are on it).
        as_of: the date; today when None.
        repealed: :func:`repeals` of the corpus; without it, repeals are not known.
    """
    day = parse_as_of(as_of)
    repeal = (repealed or {}).get(chunk.doc_number) if chunk.doc_number else None
    if repeal and repeal.from_date and date.fromisoformat(repeal.from_date) <= day:
        return Status(Validity.EXPIRED, f"已被{repeal.by_number}《{repeal.by_title}》废止")
    for start, word in ((chunk.date, "发布"), (chunk.effective_date, "施行")):
        if start and day < date.fromisoformat(start):
            return Status(Validity.NOT_YET, f"自{start}起{word}")
    if chunk.valid_until:
        if day > date.fromisoformat(chunk.valid_until):
            return Status(Validity.EXPIRED, f"有效期至{chunk.valid_until}，已到期")
        return Status(Validity.IN_FORCE, f"有效期至{chunk.valid_until}")
    period = plan_period(chunk)
    if period:
        first, last = period
        span = f"规划期{first}—{last}年" if first != last else f"{first}年度计划"
        if day > date(last, 12, 31):
            return Status(Validity.EXPIRED, f"{span}，已期满")
        return Status(Validity.IN_FORCE, span)
    if chunk.effective_date:
        return Status(Validity.IN_FORCE, f"自{chunk.effective_date}起施行，未定有效期")
    if chunk.kind in RULE_KINDS and chunk.date:
        return Status(Validity.IN_FORCE, f"{chunk.date}通过或公布，未写明施行日期，未见废止")
    issued = f"，{chunk.date}发布" if chunk.date else ""
    return Status(Validity.UNSTATED, f"文件未说明施行日期和有效期{issued}")
