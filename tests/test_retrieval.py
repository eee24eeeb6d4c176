"""Retrieval on the real corpus with the real embedding model. The questions are written for these
tests (not taken from eval/dev.jsonl)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_batch

from qa.cli import main
from qa.config import ROOT, Config
from qa.expansion import unknown_words
from qa.focus import SentenceFocus, official_document, sentences_of
from qa.lexical import tokenize
from qa.pipeline import Pipeline, QuestionError
from qa.retrieval import (
    ABOVE_SHARE,
    Filters,
    Mode,
    Retriever,
    figure_coverage,
    figure_parts,
    named_spans,
    states_figure,
)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(Config.from_env(), progress=False)


@pytest.mark.parametrize(
    ("question", "doc_number", "wording"),
    [
        ("嘉兴非全日制工作的最低小时工资标准是多少?", "嘉政发〔2024〕9号", "22 元"),
        ("在嘉兴首次被认定为高新技术企业,可以拿到多少奖励?", "嘉政办发〔2024〕7号", "给予每家 20 万元奖励"),
        ("地质灾害风险防范区的风险码是怎么管理的?", "浙自然资规〔2021〕5号", "一区一码"),
        ("嘉兴促进新型研发机构的意见有效期到哪天?", "嘉政办发〔2024〕6号", "有效期至 2028 年 12 月 31 日"),
        ("每个高新区的主导产业原则上最多几类", "浙政发〔2021〕16号", "不超过 3 类"),
        ("浙江妇女人均预期寿命2025年的目标是多少岁", "浙政发〔2021〕18号", "妇女人均预期寿命"),
        ("嘉兴企业创新能力提升行动计划哪天起施行?", "嘉政办发〔2024〕7号", "本计划自2024年4月1日起施行"),
    ],
)
def test_sample_questions_find_the_clause_first(
    pipeline: Pipeline, question: str, doc_number: str, wording: str
):
    top = pipeline.search(question, k=3)[0].chunk
    assert top.doc_number == doc_number
    assert wording in top.text


def test_table_row_is_found_with_its_headers(pipeline: Pipeline):
    top = pipeline.search("浙江儿童发展规划里残疾儿童康复救助人数2020年是多少", k=3)[0].chunk
    assert "残疾儿童康复救助人数" in top.text and "9114" in top.text
    assert "序号" in top.clause_path and "2020" in top.text


def test_a_question_asking_for_a_figure_finds_the_clause_stating_it(pipeline: Pipeline):
    """The plan's prose on women cadres (领导班子中女干部比例逐步提高) shares more words with the question
    than the table row that states the figure; the row states it for the question's subject."""
    question = "浙江妇女发展规划对市级政府领导班子配女干部的比例有什么要求?"
    top = pipeline.search(question, k=3)[0].chunk
    assert "市级政府领导班子中配有女干部的比例" in top.text and "序号" in top.clause_path
    plain = Retriever(pipeline.index, pipeline.embedder, figure_weight=0.0)
    assert "序号" not in plain.search(question, k=3)[0].chunk.clause_path


def test_figure_coverage_counts_the_figure_stated_about_the_question():
    weights = {"新增": 1.0, "财力": 2.0, "民生": 2.0}
    assert figure_coverage(figure_parts("确保新增财力的三分之二用于民生,着力强化投入倾斜。"), weights) == 1.0
    # the figure stands in the sentence, not in the clause naming the subject: half
    assert figure_coverage(figure_parts("新增财力主要用于民生,其中 60% 投向农村。"), weights) == 0.5
    # years and plan names are not figures
    assert (
        figure_coverage(figure_parts("到2025年,新增财力更多用于民生。“十四五”时期持续加大投入。"), weights)
        == 0.0
    )
    # a table row counts as one clause, whatever its separators
    row = "序号：3；主要统计指标：新增财力用于民生的比例(%)；2025年：66"
    assert figure_coverage(figure_parts(row), weights) == 1.0


def test_a_question_naming_a_city_prefers_that_citys_documents(pipeline: Pipeline):
    """The province's 高新区 opinion matches 高新区 and 发展目标 best; the question asks about 嘉兴."""
    question = "嘉兴的高新区发展有什么目标?"
    assert pipeline.search(question, k=3)[0].chunk.issuer.startswith("嘉兴市")
    plain = Retriever(pipeline.index, pipeline.embedder, place_weight=0.0)
    assert plain.search(question, k=3)[0].chunk.issuer.startswith("浙江省")
    prior = pipeline.retriever.prior
    here = prior.at_place(question)
    for doc, level in zip(prior.docs, here, strict=True):  # the province's documents apply in 嘉兴 too
        assert level == (1.0 if doc.issuer.startswith("嘉兴") else ABOVE_SHARE), doc.issuer
    assert not prior.at_place("嘉兴和浙江的高新区发展目标").any()  # two places: no place lift


def test_naming_a_doc_number_restricts_to_that_document(pipeline: Pipeline):
    for printed in ("嘉政办发〔2024〕6号", "嘉政办发[2024]6 号"):
        hits = pipeline.search(f"{printed}对监督管理有什么要求", k=5)
        assert hits and all(h.chunk.doc_number == "嘉政办发〔2024〕6号" for h in hits)
    assert any("谁举办、谁负责" in h.chunk.text for h in hits)


def test_naming_a_plan_finds_that_plan_first(pipeline: Pipeline):
    """The outline states the same online retail target, and its title (…国民经济和社会发展…) shares
    words with the question; the question names the 商务 plan."""
    top = pipeline.search("按商务十四五规划,网络零售总额2025年要达到多少", k=3)[0].chunk
    assert top.doc_number == "浙政办发〔2021〕31号" and "32000" in top.text


def test_a_document_sharing_part_of_the_name_is_lifted_less(pipeline: Pipeline):
    """Every plan shares 十四五规划 with 省“十四五”规划纲要; the outline alone its 纲要. The
    social-development plan, which states the same 75% 城镇化率, is lifted in proportion and no longer
    outranks the outline's target clause."""
    prior = pipeline.retriever.prior
    scores = prior.scores("省“十四五”规划纲要里,城镇化率要达到多少")
    lift = {key[2]: float(score) for key, score in zip(prior.doc_keys, scores, strict=True)}
    outline = lift["浙江省国民经济和社会发展第十四个五年规划和二〇三五年远景目标纲要"]
    social = next(v for title, v in lift.items() if "社会发展“十四五”规划" in title)
    assert outline > 2 * social > 0
    hits = pipeline.search("省“十四五”规划纲要里,常住人口城镇化率2025年要达到多少?", k=3)
    assert any("常住人口城镇化率达到75%左右" in h.chunk.text.replace(" ", "") for h in hits)
    assert all(h.chunk.doc_title.endswith("远景目标纲要") for h in hits)
    # two documents named: each is lifted by its own name as much as when it is named alone
    shop, sea = "商务“十四五”规划说是全球第几大加油港?", "海洋经济“十四五”规划定的目标是多少?"
    both, alone = prior.scores(shop + sea), np.maximum(prior.scores(shop), prior.scores(sea))
    named = [i for i, key in enumerate(prior.doc_keys) if "商务高质量" in key[2] or "海洋经济发展" in key[2]]
    others = max(v for i, v in enumerate(both) if i not in named)
    assert all(both[i] == pytest.approx(alone[i]) and both[i] > 2 * others for i in named)


def test_a_year_in_arabic_digits_finds_it_written_in_chinese(pipeline: Pipeline):
    """The outline writes 二〇三五年; questions write 2035年. BM25 reads both as 2035."""
    assert "2035" in tokenize("到二〇三五年,全省将基本实现高水平现代化")
    top = pipeline.search("2035年浙江要建成什么样的法治政府", k=1, mode=Mode.BM25)[0].chunk
    assert top.clause_path.endswith("(三)二〇三五年远景目标") and "法治政府" in top.text


def test_named_spans_are_the_words_that_name_a_document():
    assert named_spans("商务“十四五”规划定的2025年全省社会消费品零售总额目标是多少?") == ["商务“十四五”规划"]
    assert named_spans("浙江省第十四个五年规划纲要哪天通过的") == ["浙江省十四五规划纲要"]
    assert named_spans("嘉兴最低工资现在多少?") == []


def test_filters_by_issuer_year_and_document(pipeline: Pipeline):
    question = "支持科技企业发展的奖励政策"
    jx = pipeline.search(question, k=10, filters=Filters(issuer="嘉兴市"))
    assert jx and all(h.chunk.source_file == "jx-gazette-2024-03.txt" for h in jx)
    y2021 = pipeline.search(question, k=10, filters=Filters(year=2021))
    assert y2021 and all(h.chunk.date.startswith("2021") for h in y2021)
    doc = pipeline.search(question, k=10, filters=Filters(doc="妇女发展"))
    assert doc and all(h.chunk.part == "浙江省妇女发展“十四五”规划" for h in doc)
    assert pipeline.search(question, k=10, filters=Filters(year=1999)) == []


def test_modes_differ_and_return_k_hits(pipeline: Pipeline):
    question = "公建民营养老机构合同期限"
    by_mode = {m: pipeline.search(question, k=7, mode=m) for m in Mode}
    assert all(len(hits) == 7 for hits in by_mode.values())
    assert [h.rank for h in by_mode[Mode.HYBRID]] == list(range(1, 8))
    scores = [h.score for h in by_mode[Mode.HYBRID]]
    assert scores == sorted(scores, reverse=True)


def test_follow_up_uses_the_conversation(pipeline: Pipeline):
    hits = pipeline.search("那非全日制的呢?", k=3, history=["嘉兴最低月工资标准是多少?"])
    assert hits[0].chunk.doc_number == "嘉政发〔2024〕9号"


@pytest.mark.parametrize("question", ["", "   ", "问" * 501])
def test_bad_questions_get_a_clear_message(pipeline: Pipeline, question: str):
    with pytest.raises(QuestionError):
        pipeline.search(question)


def test_cli_search_json_and_batch_contract(tmp_path, capsys):
    assert main(["search", "嘉兴最低月工资标准", "--k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["hits"]) == 2
    keys = {"rank", "score", "chunk_id", "source_file", "doc_title", "doc_number", "clause_path", "text"}
    assert keys <= set(out["hits"][0])

    records = run_batch(tmp_path, "search", ["嘉兴最低月工资标准是多少?", ""], "--k", "10")
    assert [r["id"] for r in records] == ["t1", "t2", "t3"]
    assert len(records[0]["hits"]) == 10 and records[2]["hits"] == []
    assert keys <= set(records[1]["hits"][0])


def test_cli_empty_question_exits_with_message(capsys):
    assert main(["search", "  "]) == 2
    assert "问题为空" in capsys.readouterr().err


def test_figures_are_read_in_either_script_and_clause_references_are_none():
    assert states_figure("所有人应当自购买之日起十五个工作日内申请登记")
    assert states_figure("经三分之二以上委员同意")
    assert not states_figure("依照本条例第二十一条的规定")
    assert not states_figure("“十四五”时期统一部署")


def test_words_no_passage_uses_are_searched_as_the_documents_nearest_words(pipeline: Pipeline):
    """小孩 and 看病 are in no passage: 儿童 and 疾病 (the documents' words, nearest by the embedding model)
    are searched for by keyword too; a question in the documents' words is searched as it is."""
    retriever = pipeline.retriever
    assert "小孩" not in retriever.index.vocabulary
    question = "浙江对小孩看病有什么新规划？"
    keywords = retriever.encode(question).text.split()
    assert "儿童" in keywords[1:] and "疾病" in keywords[1:]
    assert retriever.encode("儿童医疗保障").text == "儿童医疗保障"
    assert retriever.encode(question, expand=False).text == question  # as profile matching searches


def test_a_word_jieba_only_guessed_is_not_looked_up(pipeline: Pipeline):
    """jieba joins characters it does not know as a word by guessing (往车 of 往车窗外): such a run is in
    no passage but is no word of the question, so nothing is searched for it; 司机 is."""
    vocabulary = pipeline.retriever.index.vocabulary
    assert "往车" in tokenize("开车时司机往车窗外扔东西")  # what jieba cuts
    unknown = unknown_words("开车时司机往车窗外扔东西", vocabulary)
    assert "往车" not in unknown and {"开车", "司机"} <= set(unknown), unknown


@pytest.mark.parametrize(
    ("question", "wording"),
    [
        ("浙江社会发展“十四五”规划的印发通知发给了哪些单位?", "各市、县(市、区)发展改革委"),
        ("浙江省科技创新发展十四五规划是哪个部门印发的?", "浙江省人民政府"),
    ],
)
def test_the_clause_whose_one_sentence_answers_comes_before_those_sharing_its_words(
    pipeline: Pipeline, question: str, wording: str
):
    # the notice that issues a plan says in one sentence who issues it to whom; the plan's tables and
    # tasks share the question's words (十四五, 规划, 发展) all over, and by the whole passage's vector
    # one of them came first
    retriever = pipeline.retriever
    top = retriever.search(question, k=5)[0].chunk
    assert top.clause_path == "正文" and wording in top.text.replace(" ", ""), top.clause_path
    assert retriever.search(question, k=5, focus=False)[0].chunk.clause_path != "正文"
    narrow = Pipeline(Config.from_env(focus_window=1), progress=False).retriever  # the first hit alone
    assert narrow.search(question, k=5)[0].chunk.clause_path != "正文"


def test_sentence_focus_orders_each_documents_passages_among_their_own_places(pipeline: Pipeline):
    retriever = pipeline.retriever
    question = "科技创新“十四五”规划的哪一部分提到建设杭州城西科创大走廊?"
    hits = retriever.search(question, k=8, focus=False)
    chunks = [h.chunk for h in hits]
    assert len({official_document(c) for c in chunks[:5]}) > 1  # the outline's column shares the words
    vector = retriever.encode(question).vector
    focus = SentenceFocus(retriever.embedder, weight=100.0, window=5)
    order, scores = focus.reorder(vector, chunks, np.array([h.score for h in hits]))
    assert sorted(order) == list(range(8)) and order[5:] == [5, 6, 7]
    assert [official_document(chunks[i]) for i in order] == [official_document(c) for c in chunks]
    likeness = focus.likeness(vector, chunks[:5])
    for document in {official_document(c) for c in chunks[:5]}:  # at this weight, by likeness alone
        mine = [likeness[i] for i in order[:5] if official_document(chunks[i]) == document]
        assert mine == sorted(mine, reverse=True)
    assert list(scores) == [hits[i].score for i in order]
    assert sentences_of("第一条") == ["第一条"] and sentences_of("总则。本办法适用于全省。") == [
        "本办法适用于全省。"
    ]


ZHEJIANG = ROOT.parent / "shared" / "corpus-laws" / "地方性法规" / "浙江"
GREENING = sorted(ZHEJIANG.glob("*市城市绿化*条例*.md"))


@pytest.fixture(scope="module")
def greening(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The cities' greening regulations, one topic in five cities' words."""
    if len(GREENING) < 4:
        pytest.skip("../shared/corpus-laws is not beside the project")
    corpus = tmp_path_factory.mktemp("greening") / "corpus"
    corpus.mkdir()
    for path in GREENING:
        shutil.copy(path, corpus / path.name)
    return Pipeline(Config.from_env(corpus_dir=corpus, index_dir=corpus.parent / "index"), progress=False)


@pytest.mark.parametrize(
    ("question", "cities"),
    [
        ("杭州和衢州的城市绿化主管部门分别是哪个？", {"杭州", "衢州"}),
        ("宁波、温州两地建设单位的附属绿地面积比例分别是多少", {"宁波", "温州"}),
    ],
)
def test_a_question_on_two_cities_finds_each_citys_regulation_first(
    greening: Pipeline, question: str, cities: set[str]
):
    # searched as one question, one city's regulation (or a third city's) fills the first places
    assert {h.chunk.doc_title[:2] for h in greening.retriever.search(question, k=2, split=False)} != cities
    found = greening.search(question, k=2)
    assert {h.chunk.doc_title[:2] for h in found} == cities
    assert [h.rank for h in found] == [1, 2]
    more = greening.search(question, k=6)
    assert len({h.chunk.chunk_id for h in more}) == 6 and more[:2] == found  # each passage once
