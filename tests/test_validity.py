"""Validity (有效期) of the real corpus documents: stated periods, plan periods, effective dates only,
nothing stated, and repeals; shown on search hits."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from qa.chunking import Chunk, chunk_documents
from qa.cli import main
from qa.config import ROOT
from qa.parsing import read_corpus
from qa.validity import Validity, parse_as_of, plan_period, repeals, validity_of


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    return chunk_documents(read_corpus(ROOT / "corpus").documents)


def _first(chunks: list[Chunk], doc_number: str = "", part: str = "", title: str = "") -> Chunk:
    return next(
        c
        for c in chunks
        if (not doc_number or c.doc_number == doc_number) and part in c.part and title in c.doc_title
    )


@pytest.mark.parametrize(
    ("as_of", "expected", "reason"),
    [
        ("2024-03-01", Validity.NOT_YET, "2024-04-01"),
        ("2024-04-01", Validity.IN_FORCE, "有效期至2028-12-31"),
        ("2028-12-31", Validity.IN_FORCE, "有效期至2028-12-31"),
        ("2029-01-01", Validity.EXPIRED, "已到期"),
    ],
)
def test_stated_effective_date_and_validity_period(chunks: list[Chunk], as_of: str, expected, reason: str):
    # 嘉政办发〔2024〕6号: 本意见自 2024 年 4 月 1 日起施行,有效期至 2028 年 12 月 31 日
    status = validity_of(_first(chunks, "嘉政办发〔2024〕6号"), as_of)
    assert status.validity == expected
    assert reason in status.reason


def test_five_year_plan_is_in_force_within_its_period_only(chunks: list[Chunk]):
    women = _first(chunks, "浙政发〔2021〕18号", part="妇女发展")
    assert plan_period(women) == (2021, 2025)
    assert validity_of(women, "2023-06-01").validity == Validity.IN_FORCE
    expired = validity_of(women, "2026-01-01")
    assert expired.validity == Validity.EXPIRED and "2021—2025" in expired.reason
    outline = _first(chunks, title="第十四个五年规划")
    assert validity_of(outline, "2025-12-31").validity == Validity.IN_FORCE


def test_annual_plan_and_plan_with_years_in_its_title(chunks: list[Chunk]):
    annual = _first(chunks, "嘉政发〔2024〕8号")
    assert plan_period(annual) == (2024, 2024)
    assert validity_of(annual, "2024-06-30").validity == Validity.IN_FORCE
    assert validity_of(annual, "2025-01-01").validity == Validity.EXPIRED
    action = _first(chunks, "嘉政办发〔2024〕7号", part="三年行动计划")
    assert plan_period(action) == (2024, 2026)


def test_effective_date_without_an_end_is_in_force(chunks: list[Chunk]):
    # 浙政发〔2021〕16号: 本实施意见自2021年7月15日起施行 (no end)
    opinion = _first(chunks, "浙政发〔2021〕16号")
    assert validity_of(opinion, "2026-11-23").validity == Validity.IN_FORCE
    assert validity_of(opinion, "2021-07-14").validity == Validity.NOT_YET


def test_effective_date_stated_as_from_a_day_on(chunks: list[Chunk]):
    # 嘉政发〔2024〕9号, issued 2024-02-29: 从 2024 年 1 月 1 日起,将我市最低月工资标准调整为 2260 元
    wage = _first(chunks, "嘉政发〔2024〕9号")
    assert (wage.effective_date, wage.date) == ("2024-01-01", "2024-02-29")
    status = validity_of(wage, "2026-11-23")
    assert status == validity_of(wage, "2024-02-29")
    assert status.validity == Validity.IN_FORCE and "2024-01-01" in status.reason
    # before it was issued it did not exist yet, whatever day it takes effect from
    early = validity_of(wage, "2024-02-01")
    assert early.validity == Validity.NOT_YET and "2024-02-29起发布" in early.reason


def test_nothing_stated_is_unstated(chunks: list[Chunk]):
    # 浙政办发〔2021〕27号 (a list of documents) states neither an effective date nor a period
    status = validity_of(_first(chunks, "浙政办发〔2021〕27号"), "2026-11-23")
    assert status.validity == Validity.UNSTATED
    assert "未说明" in status.reason


def test_repealed_by_a_later_corpus_document(chunks: list[Chunk]):
    found = repeals(chunks)
    # 本通知发布后,《…最低工资标准的通知》(嘉政发〔2021〕22号)同时废止
    assert found["嘉政发〔2021〕22号"].by_number == "嘉政发〔2024〕9号"
    assert {"浙政办发〔2012〕66号", "浙政发〔2012〕94号", "浙政办发〔2014〕5号"} <= found.keys()
    assert all(r.by_number != number for number, r in found.items())
    # the repealed notice itself is not in the corpus: the same wage clause filed under its number
    wage = _first(chunks, "嘉政发〔2024〕9号")
    old = dataclasses.replace(wage, doc_number="嘉政发〔2021〕22号", date="2021-05-31", effective_date="")
    assert validity_of(old, "2024-03-01", found).validity == Validity.EXPIRED
    assert "嘉政发〔2024〕9号" in validity_of(old, "2024-03-01", found).reason
    assert validity_of(old, "2024-02-01", found).validity == Validity.UNSTATED
    assert validity_of(old, "2024-03-01").validity == Validity.UNSTATED  # repeals not given


def test_as_of_defaults_to_today_and_rejects_bad_dates():
    assert parse_as_of("") == date.today() and parse_as_of(None) == date.today()
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_as_of("2024/03/01")


@pytest.mark.slow
def test_search_hits_carry_validity_as_of_the_configured_date(capsys):
    question = "嘉兴新型研发机构的监督管理"
    assert main(["search", question, "--k", "3", "--json", "--as-of", "2029-01-01"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    hit = next(h for h in hits if h["doc_number"] == "嘉政办发〔2024〕6号")
    assert hit["validity"] == {"status": "已失效", "reason": "有效期至2028-12-31，已到期"}
    assert main(["search", question, "--k", "3", "--as-of", "2025-01-01"]) == 0
    assert "【现行有效：有效期至2028-12-31】" in capsys.readouterr().out
    assert main(["search", question, "--as-of", "2025-13-01"]) == 1
    assert "YYYY-MM-DD" in capsys.readouterr().err
