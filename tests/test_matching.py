"""Policies that find their people: clause tags and profile matching on the real corpus with the real
embedding model. The profiles here are written for these tests (not taken from eval/profiles.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.chunking import Chunk, chunk_documents
from qa.cli import main
from qa.config import ROOT, Config
from qa.evaluation import applies, covers, load_questions
from qa.matching import Match, Profile
from qa.parsing import read_corpus
from qa.pipeline import Pipeline
from qa.tagging import PROVINCE, TAGS, Kind, Section, load_tags, tag_chunks
from qa.validity import Validity


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    return chunk_documents(read_corpus(ROOT / "corpus").documents)


AS_OF = "2026-06-01"
"""Validity is told as of this day here: the 十四五 plans have expired, the 2024 Jiaxing measures not."""


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(Config.from_env(as_of=AS_OF), progress=False)


def _match(pipeline: Pipeline, text: str, k: int = 10, **fields) -> list[Match]:
    return pipeline.match(Profile.parse(text, **fields), k)


def _jiaxing(m: Match) -> bool:
    return m.chunk.doc_number.startswith("嘉") or "嘉兴" in m.chunk.issuer


# --- tags and profiles (no model) -------------------------------------------------------------------


def test_tags_region_section_beneficiaries_and_measures(chunks: list[Chunk]):
    tags = tag_chunks(chunks)
    for c, t in zip(chunks, tags, strict=True):
        assert t.region == ("嘉兴市" if c.source_file.startswith("jx-") else PROVINCE)
        if t.section == Section.BACKGROUND:
            assert not t.measures
    award = next(
        t
        for c, t in zip(chunks, tags, strict=True)
        if "对首次通过认定的高新技术企业" in c.text.replace(" ", "")
    )
    assert {"高新技术企业", "企业"} <= set(award.beneficiaries)
    assert award.measures[0] in ("奖励", "资金支持")
    goals = [t for c, t in zip(chunks, tags, strict=True) if c.clause_path.endswith("(三)发展目标")]
    assert goals and all(t.section == Section.BACKGROUND for t in goals)
    women = next(t for c, t in zip(chunks, tags, strict=True) if "妇女发展" in c.part)
    assert "妇女" in women.title_beneficiaries


def test_tags_file_is_redone_for_other_chunks_or_tagger(chunks: list[Chunk], tmp_path: Path):
    first = load_tags(tmp_path, chunks)
    assert (tmp_path / TAGS).exists() and first == load_tags(tmp_path, chunks)
    lines = (tmp_path / TAGS).read_text(encoding="utf-8").splitlines()
    (tmp_path / TAGS).write_text("\n".join(['{"tagger": "0", "chunks": "x"}', *lines[1:]]), encoding="utf-8")
    assert load_tags(tmp_path, chunks) == first
    assert json.loads((tmp_path / TAGS).read_text(encoding="utf-8").splitlines()[0])["tagger"] != "0"
    assert len(load_tags(tmp_path, chunks[:10])) == 10


@pytest.mark.parametrize(
    ("text", "region", "kind", "categories", "industries"),
    [
        (
            "嘉兴一家做新材料的科技型中小企业，40人",
            "嘉兴市",
            Kind.ENTERPRISE,
            ["科技型中小企业", "中小企业"],
            ["新材料"],
        ),
        ("海宁的高新技术企业", "嘉兴市", Kind.ENTERPRISE, ["高新技术企业"], []),
        ("湖州一位3岁孩子的家长", "湖州市", Kind.PERSON, ["婴幼儿", "儿童", "家庭"], []),
        ("我是温州的女性创业者", "温州市", Kind.PERSON, ["妇女", "创业者"], []),
        ("退休在家的老人", "", Kind.PERSON, ["老年人"], []),
    ],
)
def test_profile_from_text(text: str, region: str, kind: Kind, categories: list[str], industries: list[str]):
    profile = Profile.parse(text)
    assert (profile.region, profile.kind, profile.in_province) == (region, kind, True)
    assert set(categories) <= set(profile.categories)
    assert profile.industries == industries
    assert profile.categories[-1] in ("企业", "居民")  # the generic category counts least


def test_profile_fields_win_over_the_text():
    profile = Profile.parse(
        "", region="平湖", kind="enterprise", qualifications=["新型研发机构"], industry="生物医药"
    )
    assert profile.region == "嘉兴市" and profile.kind == Kind.ENTERPRISE
    assert profile.categories[0] == "新型研发机构" and profile.industries == ["生物医药"]
    implied = Profile.parse("一家科技型中小企业")
    assert implied.weights["科技企业"] < implied.weights["科技型中小企业"]


# --- matching (real model) ----------------------------------------------------------------------------


@pytest.mark.slow
def test_jiaxing_tech_sme_gets_jiaxing_and_provincial_measures(pipeline: Pipeline):
    matches = _match(pipeline, "嘉兴一家做生物医药的科技型中小企业，30名员工")
    assert len(matches) == 10
    texts = [m.chunk.text.replace(" ", "") for m in matches[:5]]
    assert any("落地一批科技型中小企业" in t for t in texts)
    assert any(_jiaxing(m) for m in matches) and any(not _jiaxing(m) for m in matches)
    for m in matches:
        assert m.gives.rstrip("…") in m.chunk.text
        assert m.why and m.validity.validity in Validity
    assert [m.rank for m in matches] == list(range(1, 11))
    assert all(a.score >= b.score for a, b in zip(matches, matches[1:], strict=False))


@pytest.mark.slow
@pytest.mark.parametrize("city", ["温州", "杭州", "衢州"])
def test_enterprise_of_another_city_gets_no_jiaxing_measure(pipeline: Pipeline, city: str):
    matches = _match(pipeline, f"{city}的一家科技型中小企业", k=20)
    assert matches and not any(_jiaxing(m) for m in matches)
    assert any(m.chunk.doc_number == "浙政发〔2021〕16号" for m in matches)


@pytest.mark.slow
def test_place_outside_zhejiang_gets_nothing(pipeline: Pipeline):
    assert _match(pipeline, "上海的一家高新技术企业") == []


@pytest.mark.slow
def test_new_rd_institution_in_jiaxing_gets_its_opinion(pipeline: Pipeline):
    matches = _match(pipeline, "一家新型研发机构", region="嘉兴")
    assert {m.chunk.doc_number for m in matches[:5]} <= {"嘉政办发〔2024〕6号", "嘉政办发〔2024〕7号"}
    assert any("分档择优予以奖励" in m.chunk.text for m in matches)


@pytest.mark.slow
def test_university_researcher_gets_the_transfer_opinion(pipeline: Pipeline):
    matches = _match(pipeline, "宁波一所高校的科研人员，想转化职务科技成果")
    assert all(m.chunk.doc_number == "浙科发成〔2021〕20号" for m in matches[:5])
    assert any("百分之七十" in m.chunk.text for m in matches[:5])
    assert not any(_jiaxing(m) for m in matches)


@pytest.mark.slow
def test_jiaxing_worker_gets_the_minimum_wage(pipeline: Pipeline):
    matches = _match(pipeline, "在嘉兴工作的劳动者")
    wage = next(m for m in matches[:3] if m.chunk.doc_number == "嘉政发〔2024〕9号")
    assert "2260" in wage.chunk.text and "嘉兴市政策" in wage.why


@pytest.mark.slow
def test_elderly_in_wenzhou_get_care_services_not_jiaxing_ones(pipeline: Pipeline):
    matches = _match(pipeline, "温州的失能老人家属")
    assert matches and not any(_jiaxing(m) for m in matches)
    assert sum("老年人" in m.why for m in matches[:5]) >= 4


@pytest.mark.slow
def test_in_force_only_leaves_out_expired_documents(pipeline: Pipeline):
    profile = Profile.parse("嘉兴的老年人")
    everything = pipeline.match(profile, 30)
    assert any(m.validity.validity == Validity.EXPIRED for m in everything)  # the 十四五 plans
    current = pipeline.match(profile, 30, in_force_only=True)
    assert current and all(m.validity.validity not in (Validity.EXPIRED, Validity.NOT_YET) for m in current)
    assert any(m.chunk.doc_number == "嘉政办发〔2024〕5号" for m in current)  # states no period: 未说明


@pytest.mark.slow
def test_cli_match_json(capsys):
    assert (
        main(["match", "--profile", "嘉兴的高新技术企业", "--k", "3", "--json", "--as-of", "2025-06-01"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["profile"]["region"] == "嘉兴市" and len(out["results"]) == 3
    keys = {"rank", "score", "text", "source_file", "doc_title", "doc_number", "issuer", "clause_path"}
    for r in out["results"]:
        assert keys | {"gives", "why", "validity"} <= r.keys()
        assert r["validity"]["status"] in {v.value for v in Validity}
    assert main(["match", "--profile", "嘉兴的高新技术企业", "--k", "2"]) == 0
    assert "给予/要求：" in capsys.readouterr().out
    assert main(["match"]) == 2


def test_benchmark_quotes_are_in_their_documents(chunks: list[Chunk]):
    rows = load_questions(ROOT / "eval" / "profiles.jsonl")
    assert len(rows) >= 12
    assert {r["kind"] for r in rows} == {"enterprise", "person"}
    assert any(r["region"] == "嘉兴市" for r in rows) and any(r["region"] != "嘉兴市" for r in rows)
    for row in rows:
        for gold in row["applicable"]:
            holders = [c for c in chunks if applies(c.to_dict(), gold)]
            assert holders, (row["id"], gold)
            assert all(covers(c.text, gold["evidence"]) for c in holders)
