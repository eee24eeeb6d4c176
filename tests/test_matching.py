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
from qa.matching import Fit, Match, Profile, role_for
from qa.parsing import read_corpus
from qa.pipeline import Pipeline
from qa.roles import Attribute, Role, read_clause
from qa.tagging import PROVINCE, TAGS, Kind, Section, load_tags, main_city, tag_chunks
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
    assert {"首次通过认定的高新技术企业", "技术先进型服务企业"} <= set(award.granted)


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
        (
            "我准备在衢州开一家烧烤店，打算请8个员工",
            "衢州市",
            Kind.ENTERPRISE,
            ["中小企业"],
            [],
        ),  # an employer
        ("我在嘉兴一家电子厂做流水线工人", "嘉兴市", Kind.PERSON, [], []),  # employed
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


def test_what_a_profile_denies_is_not_its_group():
    assert "低收入群体" in Profile.parse("我45岁，住在宁波，是低保户").categories
    assert "低收入群体" not in Profile.parse("我45岁，住在宁波，家里收入正常，不是低保或困难家庭").categories
    firm = Profile.parse("嘉兴一家民营企业，300多人，还没有正式的研发机构，想申报高新技术企业")
    assert "民营企业" in firm.categories and "企业研发机构" not in firm.categories


@pytest.mark.parametrize(
    ("text", "role", "granted", "bound"),
    [
        (
            "对首次通过认定的高新技术企业,给予每家 20 万元奖励。",
            Role.GIVES,
            ["首次通过认定的高新技术企业"],
            [],
        ),
        ("县级以上人民政府应当对无偿献血者给予表彰和奖励。", Role.GIVES, ["无偿献血者"], []),
        ("用人单位应当为职工提供劳动保护。", Role.GIVES, ["职工"], ["用人单位"]),
        ("养犬人应当遵守下列规定：", Role.REQUIRES, [], ["养犬人"]),
        ("违反本条例第十条规定的，由公安机关处五百元以上二千元以下罚款。", Role.REQUIRES, [], []),
        ("对直接负责的主管人员依法给予处分。", Role.REQUIRES, [], []),
        ("城市河道管理范围内禁止下列行为：", Role.REQUIRES, [], []),  # naming nobody: binds everyone
        ("有关部门不得收取费用。", Role.TARGET, [], []),  # the government's own duty
        (  # misconduct in office: the government's staff, not a citizen or an enterprise
            "有关行政管理部门及其工作人员玩忽职守、滥用职权、徇私舞弊的，依法给予处分；构成犯罪的，依法追究刑事责任。",
            Role.TARGET,
            [],
            [],
        ),
        ("推动规上企业研发机构高质量发展。", Role.TARGET, [], []),
        ("到2025年，研发投入强度达到3%。", Role.TARGET, [], []),
    ],
)
def test_a_clause_is_read_for_what_it_does_and_to_whom(
    text: str, role: Role, granted: list[str], bound: list[str]
):
    reading = read_clause(text)
    assert reading.role == role
    assert list(reading.beneficiaries) == granted and list(reading.obligated) == bound


def test_thresholds_are_read_from_clauses_and_profiles():
    (age,) = read_clause("六十周岁以上的老年人可以免费乘坐城市公共交通工具。").bounds
    assert age.attribute == Attribute.AGE and age.admits(60) and age.admits(75) and not age.admits(59)
    (share,) = read_clause("对研发投入占营业收入百分之五以上的企业给予奖励。").bounds
    assert share.attribute == Attribute.RD_SHARE and share.admits(6) and not share.admits(4)
    (minor,) = read_clause("未满十八周岁的未成年人享受免费服务。").bounds
    assert minor.admits(17) and not minor.admits(18)
    firm = Profile.parse("嘉兴一家做新材料的科技型中小企业，四十人，去年营收1.2亿元，研发投入占营收6%")
    assert firm.attributes == {Attribute.HEADCOUNT: 40, Attribute.REVENUE: 12000, Attribute.RD_SHARE: 6}
    person = Profile.parse("我今年68岁，父亲92岁，想找社区照护")
    assert person.kind == Kind.PERSON and person.attributes == {Attribute.AGE: 68}
    assert person.needs == ["想找社区照护"]


def test_what_people_are_given_is_not_an_organisations_and_the_other_way_round():
    firm = Profile.parse("宁波的一家婚庆公司，想了解燃放烟花爆竹的规定")
    person = Profile.parse("我是宁波的居民，想了解燃放烟花爆竹的规定")
    people = read_clause("驾驶员应当对老、弱、病、残、孕等特殊群体优先服务。")
    assert role_for(people, person) == (Role.GIVES, Fit.GENERIC)
    assert role_for(people, firm) == (Role.REQUIRES, Fit.GENERIC)  # binds a driver, gives the firm nothing
    organisations = read_clause("对符合条件的企业给予一次性奖励。")
    assert role_for(organisations, firm)[0] == Role.GIVES and role_for(organisations, person) is None


@pytest.mark.slow
def test_a_clause_naming_nobody_concerns_the_group_its_plan_is_for(pipeline: Pipeline):
    matches = _match(pipeline, "杭州一位70岁的老人，想了解养老服务", k=20)
    assert matches and not any("儿童发展" in m.chunk.part for m in matches)


def test_the_region_is_the_city_named_most():
    assert main_city("总部在杭州，今年在温州接业务，温州这边有15人，保养鹿城区的电梯") == "温州市"
    assert main_city("嘉兴海宁的一家小厂") == "嘉兴市"
    assert main_city("上海的一家企业") == ""


# --- matching (real model) ----------------------------------------------------------------------------


@pytest.mark.slow
def test_jiaxing_tech_sme_gets_jiaxing_and_provincial_measures(pipeline: Pipeline):
    matches = _match(pipeline, "嘉兴一家做生物医药的科技型中小企业，30名员工")
    assert len(matches) == 10
    texts = [m.chunk.text.replace(" ", "") for m in matches[:5]]
    assert any("落地一批科技型中小企业" in t for t in texts)
    assert any(_jiaxing(m) for m in matches)
    assert not any(m.chunk.doc_number.startswith(("杭", "甬", "温")) for m in matches)
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
def test_a_person_never_gets_a_clause_for_a_group_they_are_not_in(pipeline: Pipeline):
    matches = _match(pipeline, "温州的残疾人，想找工作", k=20)
    assert any("残疾人" in m.chunk.text for m in matches)
    assert not any("提高残疾妇女就业和生活水平" in m.chunk.text for m in matches)  # disabled women only
    assert not any("残疾儿童康复" in m.chunk.text for m in matches)  # disabled children only


@pytest.mark.slow
def test_a_target_is_never_above_a_measure_that_gives_the_profile_something(pipeline: Pipeline):
    profile = Profile.parse("嘉兴的一家高新技术企业，想申报研发项目")
    matches = pipeline.match(profile, 20)
    roles = [
        role_for(pipeline.matcher.tags[pipeline.matcher.rows[m.chunk.chunk_id]].reading, profile)
        for m in matches
    ]
    giving = [i for i, r in enumerate(roles) if r == (Role.GIVES, Fit.OWN)]
    targets = [i for i, r in enumerate(roles) if r is not None and r[0] == Role.TARGET]
    assert giving and targets and max(giving) < min(targets)


@pytest.mark.slow
def test_an_age_threshold_is_applied(pipeline: Pipeline):
    quote = "80周岁以上老年人户口可随迁子女户口所在地"
    older = _match(pipeline, "我今年85岁，住在杭州，想把户口迁到女儿家所在地", k=20)
    younger = _match(pipeline, "我今年70岁，住在杭州，想把户口迁到女儿家所在地", k=20)
    assert any(quote in m.chunk.text for m in older)
    assert not any(quote in m.chunk.text for m in younger) and younger


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
    assert sum("老年" in m.chunk.text for m in matches[:5]) >= 4


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
