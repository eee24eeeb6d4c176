"""The chat app: its HTML rendering (every document and user text escaped), and its API through
``gradio_client`` against the real app on loopback (real corpus, index and models)."""

from __future__ import annotations

import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import running_app
from gradio_client import Client
from gradio_client.exceptions import AppError

from app import (
    EMPTY_PROFILE,
    answer_html,
    card_html,
    esc,
    marked,
    matches_html,
    parse_filters,
    parse_history,
    parse_profile,
    transcript_html,
)
from qa.chunking import Chunk
from qa.cli import main
from qa.config import ROOT
from qa.matching import Match, Profile
from qa.pipeline import QuestionError
from qa.retrieval import Filters, Hit
from qa.validity import Status, Validity

WAGE_QUESTION = "嘉兴市最低工资标准现在是多少？"
WAGE_DOC = "嘉政发〔2024〕9号"
INJECTION = '<script>alert(1)</script><img src=x onerror="alert(2)">${1+1}{{value}}'
JIAXING_SME = "嘉兴一家做新材料的科技型中小企业，40人，去年研发投入占营收6%"
VALIDITY = {v.value for v in Validity}


def _hit(text: str, **fields: str) -> Hit:
    values = {
        "chunk_id": "c1",
        "source_file": "x.txt",
        "doc_title": "标题",
        "doc_number": "",
        "issuer": "",
        "date": "",
        "clause_path": "一、总则",
        **fields,
    }
    return Hit(1, 1.0, Chunk(text=text, start=0, end=len(text), **values))


# ---------------------------------------------------------------------------------------- rendering


def test_esc_makes_markup_and_template_syntax_inert():
    out = esc(INJECTION)
    assert "<" not in out and ">" not in out and '"' not in out
    assert "$" not in out and "{" not in out and "}" not in out
    assert "&lt;script&gt;" in out


def test_card_escapes_every_document_field():
    hit = _hit(
        f"第一句。{INJECTION}第二句。",
        doc_title=f"<b>标题</b>{INJECTION}",
        doc_number="浙政发〔2021〕1号",
        issuer="<i>机关</i>",
        clause_path="<u>一、</u>",
        part="<s>附件</s>",
        chunk_id='c1" onclick="alert(3)',
    )
    html = card_html(hit, "[1]", "t0-1", [(0, 4)])
    for raw in ("<script", "<img", "<b>标题", "<i>", "<u>", "<s>", '" onclick', "${", "{{"):
        assert raw not in html
    assert "<mark>第一句。</mark>" in html
    assert "浙政发〔2021〕1号" in html


def test_card_shows_validity_when_the_hit_has_it():
    assert 'class="validity"' not in card_html(_hit("正文。"), "[1]", "t0-1")
    hit = _hit("正文。")
    hit.validity = Status(Validity.EXPIRED, "<b>有效期至2023-12-31</b>")
    html = card_html(hit, "[1]", "t0-1")
    assert (
        '<span class="validity">已失效</span>'
        '<span class="validity-reason">&lt;b&gt;有效期至2023-12-31&lt;/b&gt;</span>' in html
    )


def test_match_cards_show_the_profile_what_they_give_and_why_all_escaped():
    chunk = _hit("对首次认定的高新技术企业给予奖励。" * 20 + INJECTION, doc_title=INJECTION).chunk
    match = Match(
        1,
        2.0,
        chunk,
        f"给予奖励{INJECTION}",
        f"条款点名「高新技术企业」{INJECTION}",
        Status(Validity.IN_FORCE, "有效期至2026-12-31"),
    )
    html = matches_html(Profile.parse(f"海宁的高新技术企业{INJECTION}"), [match])
    assert "<script" not in html and "<img" not in html and "${" not in html and "{{" not in html
    assert re.search(r'<div class="profile">画像理解为：.*嘉兴市.*企业.*高新技术企业', html)
    assert (
        '<span class="validity">现行有效</span><span class="validity-reason">有效期至2026-12-31</span>'
        in html
    )
    assert '<div class="gives"><b>给予/要求</b>给予奖励&lt;script&gt;' in html
    assert '<div class="why"><b>适用原因</b>条款点名「高新技术企业」' in html
    assert '<details class="fold"><summary>条款原文（' in html  # a long clause is folded
    assert 'button class="open-doc" data-chunk="c1"' in html
    nothing = matches_html(Profile.parse("上海的高新技术企业"), [])
    assert "浙江省外" in nothing and 'class="card"' not in nothing


def test_profile_from_ui_and_api_values():
    profile = parse_profile("", "海宁", "enterprise", "新材料", "高新技术企业、科技型中小企业")
    assert profile.region == "嘉兴市" and profile.industries == ["新材料"]
    assert {"高新技术企业", "科技型中小企业"} <= set(profile.categories)
    assert parse_profile("失能老人家属", "", "", "", [" "]).kind.value == "person"
    for empty in [("", None, None, None, None), ("  ", "嘉兴", "person", " ", ["", " "])]:
        with pytest.raises(QuestionError, match=re.escape(EMPTY_PROFILE)):
            parse_profile(*empty)
    with pytest.raises(QuestionError, match="enterprise"):
        parse_profile("嘉兴的企业", None, "company", None, None)


def test_marked_highlights_spans_and_escapes_around_them():
    assert marked("a<b>c", [(1, 4)]) == "a<mark>&lt;b&gt;</mark>c"
    assert marked("abcdef", [(3, 5), (0, 1), (4, 6)]) == "<mark>a</mark>bc<mark>de</mark><mark>f</mark>"


def test_answer_markers_link_to_their_cards():
    html = answer_html("最低工资为2260元[1]，小时工资22元[1, 2]。<script>", "t3")
    assert '<a class="cite" href="#t3-1">1</a>' in html
    assert '<a class="cite" href="#t3-2">2</a>' in html
    assert "&lt;script&gt;" in html
    assert "href" not in answer_html("2260元[1]", None)


def test_transcript_escapes_questions():
    html = transcript_html([{"question": INJECTION, "html": ""}], (INJECTION, INJECTION, ""))
    assert "<script" not in html and "<img" not in html


def test_filters_and_history_from_ui_and_api_values():
    assert parse_filters("", "", "") is None
    assert parse_filters(None, None, None) is None
    assert parse_filters(" 浙政发〔2021〕18号 ", "", "2021") == Filters("浙政发〔2021〕18号", None, 2021)
    assert parse_filters(None, "嘉兴市", 2024) == Filters(None, "嘉兴市", 2024)
    with pytest.raises(QuestionError, match="年份"):
        parse_filters("", "", "去年")
    assert parse_history("第一问\n\n 第二问 ") == ["第一问", "第二问"]
    assert parse_history(["第一问", " ", "第二问"]) == ["第一问", "第二问"]
    assert parse_history(None) == []


# ---------------------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    return Client(app_url, verbose=False)


def test_api_offers_ask_locate_and_match(client: Client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/ask", "/locate", "/match"} <= set(endpoints)


def test_locate_returns_clauses_with_their_source(client: Client):
    hits = client.predict("嘉兴非全日制工作的最低小时工资", api_name="/locate")
    assert 1 <= len(hits) <= 5
    top = hits[0]
    assert top["doc_number"] == WAGE_DOC
    assert "22 元" in top["text"]
    assert top["doc_title"] and top["clause_path"] and top["issuer"] and top["date"]


def test_locate_applies_the_filters(client: Client):
    hits = client.predict("孕产妇死亡率", doc="浙政发〔2021〕18号", k=3, api_name="/locate")
    assert len(hits) == 3 and {h["doc_number"] for h in hits} == {"浙政发〔2021〕18号"}
    hits = client.predict("科技企业奖励", issuer="嘉兴市", year=2024, api_name="/locate")
    assert hits and all(h["date"].startswith("2024") and "嘉兴市" in h["issuer"] for h in hits)


@pytest.mark.parametrize("endpoint", ["/ask", "/locate"])
@pytest.mark.parametrize(
    ("question", "message"), [("", "问题为空"), ("   ", "问题为空"), ("长" * 501, "问题过长")]
)
def test_empty_and_overlong_questions_get_clear_messages(
    client: Client, endpoint: str, question: str, message: str
):
    with pytest.raises(AppError, match=message):
        client.predict(question, api_name=endpoint)


def test_match_gives_a_jiaxing_enterprise_jiaxing_and_provincial_clauses(client: Client):
    out = client.predict(JIAXING_SME, api_name="/match")
    assert out["profile"]["region"] == "嘉兴市" and out["profile"]["kind"] == "enterprise"
    assert "科技型中小企业" in out["profile"]["categories"]
    results = out["results"]
    assert len(results) == 10 and [r["rank"] for r in results] == list(range(1, 11))
    jiaxing = [r for r in results if r["source_file"].startswith("jx-")]
    assert jiaxing and all("嘉兴" in r["issuer"] and "嘉兴市政策" in r["why"] for r in jiaxing)
    for r in results:
        if r not in jiaxing:  # provincial: province-wide, or its clause names Jiaxing
            assert "浙江省" in r["issuer"] and re.search(
                r"省级(或国家)?政策，(全省适用|条款限于.*嘉兴市)", r["why"]
            )
        assert r["doc_title"] and r["clause_path"] and r["text"] and r["gives"]
        assert r["validity"]["status"] in VALIDITY and r["validity"]["reason"]
    hangzhou = client.predict(JIAXING_SME.replace("嘉兴", "杭州"), api_name="/match")["results"]
    assert hangzhou and not [r for r in hangzhou if r["source_file"].startswith("jx-")]


def test_match_fields_win_and_in_force_leaves_out_expired_documents(client: Client):
    out = client.predict(
        region="海宁",
        kind="enterprise",
        industry="新材料",
        qualifications=["高新技术企业"],
        k=5,
        in_force=True,
        api_name="/match",
    )
    assert out["profile"]["region"] == "嘉兴市" and out["profile"]["industries"] == ["新材料"]
    top = out["results"][0]
    assert top["doc_number"] == "嘉政办发〔2024〕7号" and "高新技术企业" in top["text"]
    assert "奖励" in top["gives"]
    assert len(out["results"]) == 5
    assert all(r["validity"]["status"] not in ("已失效", "尚未施行") for r in out["results"])


def test_match_gives_a_person_clauses_that_concern_them(client: Client):
    out = client.predict("嘉兴的失能老人家属", k=8, api_name="/match")
    assert out["profile"]["kind"] == "person" and "老年人" in out["profile"]["categories"]
    assert 5 <= len(out["results"]) <= 8
    for r in out["results"]:
        assert re.search(r"老年|老人|养老|高龄|失能|失智", r["clause_path"] + r["text"]), r["text"]
        assert re.search(r"(点名|涉及)「[^」]*老年人", r["why"]) and r["validity"]["status"] in VALIDITY


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "画像为空"),
        ({"profile": "  ", "region": "嘉兴", "kind": "person"}, "画像为空"),
        ({"profile": "长" * 501}, "问题过长"),
        ({"profile": "嘉兴的企业", "kind": "company"}, "类型应为"),
    ],
)
def test_match_refuses_an_empty_or_overlong_profile_in_plain_words(
    client: Client, fields: dict, message: str
):
    with pytest.raises(AppError, match=message) as error:
        client.predict(**fields, api_name="/match")
    assert "Traceback" not in str(error.value)


def test_a_bad_year_gets_a_clear_message(client: Client):
    with pytest.raises(AppError, match="年份应为四位数字"):
        client.predict("最低工资", year="去年", api_name="/locate")


def test_ask_answers_with_sources(client: Client):
    answer = client.predict(WAGE_QUESTION, api_name="/ask")
    assert not answer["abstained"]
    assert "2260" in answer["answer"]
    assert WAGE_DOC in {c["doc_number"] for c in answer["citations"]}
    assert all(c["text"] and c["clause_path"] for c in answer["citations"])
    assert answer["passages"] and answer["timings"]["total_s"] > 0


@pytest.mark.parametrize("history", [[WAGE_QUESTION], WAGE_QUESTION])
def test_ask_follow_up_is_searched_with_the_earlier_questions(client: Client, history: list[str] | str):
    answer = client.predict("那非全日制工作的小时工资呢？", history=history, api_name="/ask")
    assert WAGE_QUESTION in answer["query"]
    assert answer["passages"][0]["doc_number"] == WAGE_DOC


@pytest.mark.parametrize(
    "question",
    [
        "杭州的最低工资标准是多少？",  # the corpus has Jiaxing's only
        "2030年火星载人登陆计划由哪家航天公司承担？",  # off topic: no passage is about it
    ],
)
def test_ask_says_not_mentioned_when_the_documents_do_not_answer(client: Client, question: str):
    answer = client.predict(question, api_name="/ask")
    assert answer["abstained"]
    assert answer["answer"].startswith("资料中未提及")
    assert answer["citations"] == []


def test_five_concurrent_askers_are_all_served(app_url: str):
    questions = [
        WAGE_QUESTION,
        "嘉兴非全日制工作的最低小时工资标准是多少？",
        "浙江妇女发展规划要求把孕产妇死亡率控制在多少以下？",
        "每个高新区的主导产业原则上最多几类？",
        "嘉兴促进新型研发机构的意见有效期到哪天？",
    ]

    def ask(question: str) -> dict:
        return Client(app_url, verbose=False).predict(question, api_name="/ask")

    with ThreadPoolExecutor(len(questions)) as pool:
        answers = list(pool.map(ask, questions))
    assert [a["question"] for a in answers] == questions
    assert all(a["answer"] and a["passages"] for a in answers)


def test_a_model_that_cannot_be_loaded_is_reported_in_plain_words(tmp_path):
    with running_app(tmp_path / "app.log", QA_LLM_MODEL=str(tmp_path / "missing.gguf")) as url:
        client = Client(url, verbose=False)
        with pytest.raises(AppError, match="出错了：answering model .*missing.gguf does not exist") as error:
            client.predict(WAGE_QUESTION, api_name="/ask")
        assert "Traceback" not in str(error.value)
        assert client.predict("嘉兴最低工资", api_name="/locate")  # clause look-up needs no answering model


LAW = ROOT.parent / "shared" / "corpus-laws" / "地方性法规" / "浙江" / "宁波市学校安全条例(2020-06-05).md"


@pytest.mark.skipif(not LAW.is_file(), reason="../shared/corpus-laws is not beside the project")
@pytest.mark.parametrize("store", ["embedded", "milvus"])
def test_a_running_app_answers_from_a_document_added_after_it_started(tmp_path, store, request):
    """``qa add`` in another process while the chat runs: the chat serves the updated index without a
    restart, and the question it could not answer before is answered from the new document; on the
    embedded store (the index folder) and on a Milvus server that both processes reach by URI."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "jx-gazette-2024-03.txt", corpus)
    args = ["--corpus", str(corpus), "--index-dir", str(index), "--store", store]
    env = {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index), "QA_RELOAD_S": "1", "QA_STORE": store}
    if store == "milvus":
        uri = request.getfixturevalue("milvus_server")
        args += ["--milvus-uri", uri]
        env["QA_MILVUS_URI"] = uri
    assert main(["index", *args]) == 0
    question = "宁波市学校安全教育周是每年的哪一周？"
    with running_app(tmp_path / "app.log", **env) as url:
        client = Client(url, verbose=False)
        assert all(h["source_file"] != LAW.name for h in client.predict(question, api_name="/locate"))
        assert main(["add", str(LAW), *args]) == 0
        deadline = time.monotonic() + 60
        while client.predict(question, k=1, api_name="/locate")[0]["source_file"] != LAW.name:
            assert time.monotonic() < deadline, "the running app did not serve the updated index"
            time.sleep(1)
        answer = client.predict(question, api_name="/ask")
        assert not answer["abstained"] and "第九条" in answer["citations"][0]["clause_path"]
        assert client.predict(WAGE_QUESTION, k=1, api_name="/locate")[0]["doc_number"] == WAGE_DOC
    assert "index reloaded" in (tmp_path / "app.log").read_text(encoding="utf-8")
