"""The document model on laws and regulations (``../shared/corpus-laws``, Markdown as collected): titles
without markup, history lines (adoption, approval, amendment), issuer, kind, effective date and validity,
and clause paths along 编/章/节/条 with an article's paragraphs and items kept in it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from qa.answerability import Constraints, coverage
from qa.chunking import Chunk, chunk_document, is_closing, scope_share
from qa.cli import main
from qa.config import ROOT
from qa.expansion import THESAURUS
from qa.figures import claims
from qa.parsing import Document, parse_text
from qa.readers import read_document
from qa.replies import check_reply
from qa.retrieval import SCOPE_SHARE, Hit, is_penalty
from qa.validity import Validity, validity_of

LAWS = ROOT.parent / "shared" / "corpus-laws"
ZJ = LAWS / "地方性法规" / "浙江"
SCHOOL = ZJ / "宁波市学校安全条例(2020-06-05).md"
GREENING = ZJ / "宁波市城市绿化条例(2017-12-18).md"
WATER = ZJ / "浙江省水资源条例(2020-09-24).md"
SUPERVISION = ZJ / "浙江省各级人民代表大会常务委员会监督条例(2008-11-28).md"
CRIMINAL = LAWS / "刑法" / "刑法.md"
CIVILITY = ZJ / "丽水市文明行为促进条例(2020-08-14).md"
SHIPPING = LAWS / "行政法规" / "上海航运交易所管理规定(1996-10-03).md"
HOUSING = ZJ / "杭州市城市房屋使用安全管理条例(2015-10-14).md"

pytestmark = pytest.mark.skipif(not LAWS.is_dir(), reason="../shared/corpus-laws is not beside the project")


def _read(path: Path) -> tuple[Document, list[Chunk]]:
    docs = parse_text(read_document(path), path.name)
    assert len(docs) == 1, "a law file is one document"
    return docs[0], chunk_document(docs[0])


def _chunk(chunks: list[Chunk], path: str) -> Chunk:
    found = [c for c in chunks if c.clause_path == path]
    assert found, f"no clause {path}; have {[c.clause_path for c in chunks][:12]}…"
    return found[0]


def test_local_regulation_metadata_from_its_history_lines():
    doc, _ = _read(SCHOOL)
    assert doc.title == "宁波市学校安全条例"  # the Markdown title, without its mark
    assert doc.kind == "条例"
    # 2003年9月26日 宁波市第十二届人民代表大会常务委员会第五次会议通过: the adopting body, no term or session
    assert (doc.issuer, doc.issue_date) == ("宁波市人民代表大会常务委员会", "2003-09-26")
    # 2020年5月15日 …批准的《…关于修改〈宁波市学校安全条例〉的决定》修正
    assert doc.amended_date == "2020-05-15"
    assert doc.effective_date == "2004-01-01"  # 第四十八条 本条例自2004年1月1日起施行


def test_history_lines_without_their_dates_stay_in_the_history():
    doc, chunks = _read(GREENING)
    assert doc.issue_date == "1991-10-26" and doc.amended_date > "2003-01-01"
    history = _chunk(chunks, "题注")
    assert "浙江省第七届人民代表大会常务委员会第二十六次会议批准" in history.text
    assert not any("第七届" in c.text for c in chunks if c.clause_path != "题注")


def test_articles_under_their_chapter_with_paragraphs_and_items_kept():
    _, chunks = _read(SCHOOL)
    fourth = _chunk(chunks, "第一章 总则 > 第四条")
    # 第四条 学校安全工作应当遵循下列原则： then （一）…（四） on lines of their own
    assert fourth.text.startswith("第四条") and "（一）安全优先" in fourth.text and "（四）" in fourth.text
    ninth = _chunk(chunks, "第二章 安全管理 > 第九条")
    assert "每年三月份最后一周为学校安全教育周" in ninth.text  # its second paragraph
    closing = _chunk(chunks, "第六章 附则 > 第四十八条")
    assert "本条例自2004年1月1日起施行" in closing.text
    body = [c for c in chunks if c.clause_path != "题注"]
    assert all(re.fullmatch(r"第.章 \S+ > 第[一二三四五六七八九十百]+条", c.clause_path) for c in body)
    # every article of the file is a clause of its own, in order
    numbers = [c.clause_path.rpartition(" > ")[2] for c in body]
    assert len(set(numbers)) == 48 and numbers[0] == "第一条" and numbers[-1] == "第四十八条"


def test_a_long_article_is_split_and_keeps_its_path():
    _, chunks = _read(CRIMINAL)
    last = [c for c in chunks if c.clause_path.endswith("第四百五十二条")]
    assert len(last) >= 2 and all(len(c.text) <= 420 for c in last)


def test_book_chapter_section_article_and_articles_numbered_after_another():
    doc, chunks = _read(CRIMINAL)
    assert (doc.title, doc.kind, doc.issuer) == ("中华人民共和国刑法", "法", "全国人民代表大会")
    assert doc.amended_date >= "2023-12-29"  # the latest 修正案 in its history lines
    paths = {c.clause_path for c in chunks}
    assert "第一编 总则 > 第一章 刑法的任务、基本原则和适用范围 > 第一条" in paths
    assert "第一编 总则 > 第二章 犯罪 > 第一节 犯罪和刑事责任 > 第十三条" in paths
    assert any(p.endswith("> 第十七条之一") for p in paths)


def test_a_penalty_carries_the_wording_of_the_act_it_cites():
    """第三十条 违反本条例第十四条第（四）项规定…: BM25 reads the cited item with it (the act is named
    only there)."""
    _, chunks = _read(CIVILITY)
    penalty = next(c for c in chunks if c.clause_path.endswith("> 第三十条"))
    assert penalty.cited.startswith("第十四条")
    assert "（四）在当地人民政府禁止的区域外露天烧烤" in penalty.cited
    assert "（三）" not in penalty.cited, "only the cited item, with the article's first line"
    assert penalty.cited in penalty.keyword_text and penalty.cited not in penalty.text


def test_sections_with_ideographic_spaces():
    _, chunks = _read(SUPERVISION)
    eleventh = next(c for c in chunks if c.clause_path.endswith("第十一条"))
    assert eleventh.clause_path.endswith("> 第一节 听取和审议专项工作报告 > 第十一条")
    assert "\u3000" not in eleventh.clause_path


def test_a_division_printed_without_its_number():
    _, chunks = _read(WATER)
    first = next(c for c in chunks if c.clause_path.endswith("第一条"))
    assert first.clause_path == "总则 > 第一条"
    assert not [c for c in chunks if c.text.strip() == "总则"], "the title is not a clause of its own"


def test_administrative_regulation_issued_by_order_and_in_force_on_publication():
    doc, chunks = _read(SHIPPING)
    # 1996年10月3日 中华人民共和国交通部令第8号发布; 本规定自发布之日起施行
    assert (doc.kind, doc.issuer, doc.issue_date) == ("规定", "中华人民共和国交通部", "1996-10-03")
    assert doc.effective_date == "1996-10-03"
    status = validity_of(chunks[-1], "2026-01-01")
    assert status.validity == Validity.IN_FORCE and "1996-10-03" in status.reason


def test_validity_of_a_regulation_before_and_after_it_takes_effect():
    _, chunks = _read(SCHOOL)
    assert validity_of(chunks[1], "2003-12-01").validity == Validity.NOT_YET
    assert validity_of(chunks[1], "2026-01-01").validity == Validity.IN_FORCE


def test_the_same_regulation_as_plain_text_with_its_markup():
    """A regulation pasted into a .txt file reads the same: ``#`` marks and comments are markup anywhere."""
    text = SCHOOL.read_text(encoding="utf-8")
    as_md = parse_text(read_document(SCHOOL), SCHOOL.name)[0]
    as_txt = parse_text(text, "学校安全条例.txt")[0]
    assert as_txt.title == as_md.title == "宁波市学校安全条例"
    paths = [c.clause_path for c in chunk_document(as_txt)]
    assert paths == [c.clause_path for c in chunk_document(as_md)]
    assert not any("<!--" in b.text or b.text.startswith("#") for b in as_txt.blocks)


@pytest.mark.parametrize("folder", ["地方性法规/浙江", "行政法规", "社会法"])
def test_validity_and_article_paths_across_a_folder_of_laws(folder: str):
    """Over every file of a folder: titles without markup, validity known for at least 90% of the
    documents, an article path on at least 90% of their passages."""
    docs = [d for p in sorted((LAWS / folder).glob("*.md")) for d in parse_text(read_document(p), p.name)]
    assert len(docs) >= 30
    assert not [d.title for d in docs if re.search(r"^#|\*\*|<!--|</?[a-z]+>", d.title)]
    chunks = [c for d in docs for c in chunk_document(d) if c.clause_path != "题注"]
    known = [validity_of(c, "2026-01-01").validity != Validity.UNSTATED for c in chunks]
    assert sum(known) / len(known) >= 0.9
    articles = [bool(re.search(r"第[一二三四五六七八九十百千零〇]+条", c.clause_path)) for c in chunks]
    assert sum(articles) / len(articles) >= 0.9


ELEVATORS = [
    "宁波市电梯安全条例(2020-10-10).md",
    "温州市电梯安全条例(2018-04-09).md",
    "金华市电梯安全条例(2017-10-25).md",
]


def test_is_closing_reads_the_closing_provision_only():
    assert is_closing("第四十八条 本条例自2004年1月1日起施行。本条例施行前…")
    assert is_closing("第六章  附则\n第三十条 本条例自2018年1月1日起施行。")  # below its chapter's title
    assert is_closing("本办法由省科技厅负责解释。") and is_closing("第十八条 本规定自公布之日起施行。")
    assert not is_closing("第三十二条 本条例施行前在本市无偿献血和义务献血的公民，…")


@pytest.mark.slow
def test_same_topic_regulations_of_several_cities(tmp_path: Path, capsys):
    """Three cities' elevator regulations, nearly the same wording: the city or the document a question
    names decides, and a question on when it takes effect gets that document's closing article."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ELEVATORS:
        shutil.copy(ZJ / name, corpus / name)
    args = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--k", "3", "--json"]

    def top(question: str) -> dict:
        assert main(["search", question, *args]) == 0
        return json.loads(capsys.readouterr().out)["hits"][0]

    for city in ("宁波", "温州", "金华"):
        hit = top(f"《{city}市电梯安全条例》从哪天开始施行？")
        assert hit["doc_title"] == f"{city}市电梯安全条例" and "起施行" in hit["text"], hit
        assert re.fullmatch(r"(第.章 附则 > )?第[一二三四五六七八九十]+条", hit["clause_path"])
        hit = top(f"在{city}，电梯出了故障把人困住了，维保单位要多快赶到？")
        assert hit["doc_title"] == f"{city}市电梯安全条例" and hit["clause_path"] != "题注", hit
        hit = top(f"《{city}市电梯安全条例》是哪天通过的？")  # the history lines answer only such questions
        assert (hit["doc_title"], hit["clause_path"]) == (f"{city}市电梯安全条例", "题注"), hit


def test_a_city_named_prefers_the_provinces_rule_to_another_citys(tmp_path: Path, capsys):
    """Asked about 杭州, the province's regulation (in force in 杭州) answers before 宁波's on the same
    topic, and before an off-topic regulation that 杭州 issued."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("浙江省特种设备安全管理条例.md", "宁波市电梯安全条例(2020-10-10).md", HOUSING.name):
        shutil.copy(ZJ / name, corpus / name)
    args = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--k", "1", "--json"]
    assert main(["search", "在杭州，电梯的日常维护保养应当由谁来做？", *args]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert hit["doc_title"] == "浙江省特种设备安全管理条例", hit
    assert main(["search", "在宁波，电梯的日常维护保养应当由谁来做？", *args]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["doc_title"] == "宁波市电梯安全条例"


def test_the_validity_of_an_order_is_read_from_its_article_not_from_closing_provisions(
    tmp_path: Path, capsys
):
    """有效期 of a protection order is a rule of the law; 施行 of the law is its closing provision."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in (LAWS / "社会法" / "反家庭暴力法(2015-12-27).md", SCHOOL, WATER):
        shutil.copy(path, corpus / path.name)
    args = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--k", "1", "--json"]
    assert main(["search", "法院发的人身安全保护令，有效期最长多久？", *args]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert hit["clause_path"] == "第四章 人身安全保护令 > 第三十条", hit
    assert main(["search", "《浙江省水资源条例》从哪天起施行？", *args]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert hit["doc_title"] == "浙江省水资源条例" and is_closing(hit["text"]), hit


def test_a_reply_naming_only_the_article_states_no_time_limit():
    """金华's article on trapped passengers states a time (24 hours on duty), not how soon the maintainer
    must arrive: a reply giving 第十七条 and no time gives no time limit."""
    _, chunks = _read(ZJ / "金华市电梯安全条例(2017-10-25).md")
    hits = [Hit(1, 1.0, next(c for c in chunks if "困人" in c.text and "小时" in c.text))]
    asked = Constraints.of("金华的电梯把人困住了，维保单位要在多少分钟内赶到现场？")
    assert asked.unmet(hits) == []  # the clause states a time
    assert asked.unmet(hits, "根据第三章第十七条，维保单位接到报告后在规定时间内抵达现场") == ["时限"]
    assert asked.unmet(hits, "维保单位应当在三十分钟内抵达现场") == []


def test_a_question_on_an_amendment_of_a_year_needs_a_document_amended_then():
    """宁波's school-safety regulation was last amended in 2020; 舟山's greening regulation never was."""
    _, school = _read(SCHOOL)
    _, greening = _read(ZJ / "舟山市城市绿化条例(2018-04-16).md")
    asked = Constraints.of("《宁波市学校安全条例》2020年修正后，对学校安全有什么规定？")
    assert asked.unmet([Hit(1, 1.0, school[5])]) == []
    asked = Constraints.of("《舟山市城市绿化条例》2022年修正后，绿地率指标是多少？")
    assert asked.unmet([Hit(1, 1.0, next(c for c in greening if "绿地率" in c.text))]) == ["2022年修正"]


def test_is_penalty_reads_sanctions_not_duties():
    _, chunks = _read(HOUSING)
    assert is_penalty(_chunk(chunks, "第八章 法律责任 > 第四十九条").text)
    assert not is_penalty(_chunk(chunks, "第三章 房屋装修安全管理 > 第十七条").text)


@pytest.mark.slow
def test_a_question_about_a_sanction_gets_the_penalty_article_and_others_the_rule(tmp_path: Path, capsys):
    """The rule (第十七条: 禁止…擅自增加房屋使用荷载) and the penalty citing it (第四十九条) share their
    wording: a question on the sanction is answered by the penalty, a question on what is forbidden by
    the rule."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(HOUSING, corpus / HOUSING.name)
    args = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--k", "1", "--json"]

    def top(question: str) -> str:
        assert main(["search", question, *args]) == 0
        return json.loads(capsys.readouterr().out)["hits"][0]["clause_path"]

    assert top("在杭州擅自增加房屋使用荷载会被怎么处罚？") == "第八章 法律责任 > 第四十九条"
    assert top("杭州住宅装修中违法拆改承重结构，会被处多少罚款？") == "第八章 法律责任 > 第四十九条"
    assert top("杭州房屋装修中禁止哪些行为？") == "第三章 房屋装修安全管理 > 第十七条"


@pytest.mark.slow
def test_a_two_city_comparison_states_each_side_from_its_own_document(tmp_path: Path):
    """宁波's elevator regulation takes effect on 2021-01-01, 温州's on 2018-05-01: a question comparing
    them is answered for each city, each date cited to that city's regulation."""
    from qa.config import Config
    from qa.pipeline import Pipeline

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ELEVATORS[:2]:
        shutil.copy(ZJ / name, corpus / name)
    pipeline = Pipeline(Config.from_env(corpus_dir=corpus, index_dir=tmp_path / "index"), progress=False)
    answer = pipeline.ask("宁波和温州的电梯安全条例施行日期有什么不同？")
    assert not answer.abstained, answer.reply
    lines = answer.text.split("\n\n")[0].split("\n")
    for city, date in (("宁波", "2021年1月1日"), ("温州", "2018年5月1日")):
        line = next(line for line in lines if line.startswith(city))
        assert date in line, answer.text
        cited = [int(n) for n in re.findall(r"\[(\d+)\]", line)]
        assert cited and all(answer.passages[n - 1].chunk.doc_title == f"{city}市电梯安全条例" for n in cited)


@pytest.mark.slow
def test_a_volunteer_gets_the_articles_of_their_own_citys_regulation(tmp_path: Path):
    """Two cities' civility regulations side by side: a volunteer in Jiaxing gets the Jiaxing articles that
    give volunteers something, never Ningbo's."""
    from qa.config import Config
    from qa.matching import Profile
    from qa.pipeline import Pipeline
    from qa.roles import Role

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("嘉兴市文明行为促进条例(2019-10-09).md", "宁波市文明行为促进条例(2017-04-24).md"):
        shutil.copy(ZJ / name, corpus / name)
    pipeline = Pipeline(Config.from_env(corpus_dir=corpus, index_dir=tmp_path / "index"), progress=False)
    matches = pipeline.match(Profile.parse("我住在嘉兴南湖区，是一名注册志愿者，想多参加志愿服务"), 5)
    assert matches and all(m.chunk.doc_title == "嘉兴市文明行为促进条例" for m in matches)
    first = matches[0]
    assert "志愿" in first.chunk.text and first.why.startswith("给予")
    assert pipeline.matcher.tags[pipeline.matcher.rows[first.chunk.chunk_id]].reading.role == Role.GIVES


def test_figures_in_chinese_numerals_answer_a_question_asking_for_one(tmp_path: Path, capsys):
    """A question asking for a time limit or a size finds the article stating it in Chinese numerals
    (十五个工作日); a penalty article citing that article states fines, not the size it asks for."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("衢州市市区电动自行车管理规定(2016-12-12).md", "宁波市大气污染防治条例(2016-06-08).md"):
        shutil.copy(ZJ / name, corpus / name)
    args = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--k", "1", "--json"]
    assert main(["search", "衢州市区的电动自行车买回来以后，几个工作日内必须申请登记？", *args]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["clause_path"] == "第十一条"
    assert main(["search", "宁波每小时多少蒸吨以下的高污染燃料锅炉要限期淘汰？", *args]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert hit["clause_path"].endswith("第二十五条"), hit


def test_an_office_holder_answers_a_question_asking_who():
    """温州's honorary citizens' certificates are signed by the mayor: a reply naming the 市长 names who;
    one naming nobody does not."""
    _, chunks = _read(ZJ / "温州市荣誉市民条例(2020-08-07).md")
    hits = [Hit(1, 1.0, next(c for c in chunks if "签署" in c.text))]
    asked = Constraints.of("温州授予荣誉市民的证书，由谁签发？")
    assert asked.unmet(hits) == []
    assert asked.unmet(hits, "证书由市长签署。[1]") == []
    assert asked.unmet(hits, "证书统一制作，按规定签署。[1]") == ["部门"]


def test_a_reply_naming_an_article_is_cited_to_that_article():
    """A statement naming 第二十五条 is cited to the given passage that is 第二十五条, not to the penalty
    article that cites 第二十五条第一款 and so holds all its numbers."""
    _, chunks = _read(ZJ / "浙江省河道管理条例(2020-11-27).md")
    rule = _chunk(chunks, "第三章 河道保护 > 第二十五条")
    penalty = next(c for c in chunks if "违反本条例第二十五条" in c.text)
    question = "《浙江省河道管理条例》哪一条规定河道管理范围内不准建住宅？"
    reply = "《浙江省河道管理条例》第二十五条第一款规定了禁止建设住宅。[1]"
    assert check_reply(reply, [rule.text, penalty.text], question).cited == [1]
    assert check_reply(reply.replace("[1]", "[2]"), [rule.text, penalty.text], question).cited == [1]
    assert check_reply(reply, [penalty.text, rule.text], question).cited == [2]


def test_a_statement_in_the_words_of_two_articles_is_cited_to_the_one_on_the_question():
    """The penalty article repeats the department of the rule it enforces: a reply citing it for who
    approves felling is cited to the rule, which holds more of the question's words."""
    _, chunks = _read(LAWS / "行政法规" / "城市绿化条例(2017-03-01).md")
    rule = next(c for c in chunks if "砍伐城市树木，必须" in c.text)
    penalty = _chunk(chunks, "第四章 罚则 > 第二十六条")
    question = "按《城市绿化条例》，砍伐城市里的树木要经过哪个部门批准？"
    reply = "必须经城市人民政府城市绿化行政主管部门批准。[2]"
    assert check_reply(reply, [rule.text, penalty.text], question).cited == [1]
    assert check_reply(reply.replace("[2]", "[1]"), [rule.text, penalty.text], question).cited == [1]


def test_a_question_in_everyday_words_finds_the_article_in_official_ones(tmp_path: Path, capsys):
    """司机, 开车 and 车窗 are in none of these regulations: their nearest words in them (驾驶, 车辆…) are
    searched for too, so the article on throwing things out of a car (驾驶人, 车外抛撒) answers first."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (
        "湖州市文明行为促进条例(2018-09-05).md",
        "湖州市大气污染防治规定(2020-03-30).md",
        "衢州市市区电动自行车管理规定(2016-12-12).md",
    ):
        shutil.copy(ZJ / name, corpus / name)
    args = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--k", "1", "--json"]
    assert main(["search", "湖州的司机开车时把垃圾扔出车窗，要罚多少？", *args]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert hit["clause_path"] == "第五章 法律责任 > 第三十四条", hit
    assert (tmp_path / "index" / THESAURUS).is_file()  # built with the index


@pytest.mark.slow
def test_a_passage_holds_a_question_word_by_its_nearest_word_in_the_documents(tmp_path: Path):
    """The article on throwing things out of a car says 驾驶人 where a citizen says 司机 and 开车: by the
    words search looked for as well, it is about the question, and its fine answers it."""
    from qa.answering import finish
    from qa.config import Config
    from qa.expansion import Lexicon
    from qa.pipeline import Pipeline

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("湖州市文明行为促进条例(2018-09-05).md", "湖州市大气污染防治规定(2020-03-30).md"):
        shutil.copy(ZJ / name, corpus / name)
    retriever = Pipeline(
        Config.from_env(corpus_dir=corpus, index_dir=tmp_path / "index"), progress=False
    ).retriever
    question = "在湖州开车时司机往车窗外丢垃圾，罚多少钱？"
    hits = retriever.search(question, k=3)
    texts = [h.chunk.text for h in hits]
    n = next(n for n, h in enumerate(hits, 1) if h.chunk.clause_path.endswith("第三十四条"))
    lexicon, plain = retriever.lexicon(question), Lexicon(retriever.index.vocabulary)
    assert "驾驶" in lexicon.forms("开车") and "司机" not in retriever.index.vocabulary
    assert coverage(question, hits[n - 1], plain) == 0 < coverage(question, hits[n - 1], lexicon)
    assert not finish(question, question, f"罚款二百元[{n}]。", hits, texts, lexicon=lexicon).abstained
    assert finish(question, question, f"罚款二百元[{n}]。", hits, texts, lexicon=plain).abstained


def test_a_separable_word_that_a_question_splits_is_held_joined():
    """献过两次血 is 献血 (a separable word) with what happened in between: the article on who may give
    blood holds it, and answers a question whose other words are numerals and asking words."""
    from qa.answering import finish
    from qa.expansion import Lexicon, rejoined
    from qa.lexical import tokenize

    chunks = _read(ZJ / "宁波市献血条例(2020-06-05).md")[1]
    article = next(c for c in chunks if "年龄可放宽至六十周岁" in c.text)
    vocabulary = {t for c in chunks for t in tokenize(c.text)}
    question = "我五十七岁了，前几年献过两次血，在宁波最大几岁还能献？"
    assert rejoined(question, vocabulary) == ["献血"]
    assert rejoined("他洗了个澡，结过两次婚", {"洗澡", "结婚"}) == ["洗澡", "结婚"]
    assert rejoined("请了三天病假", {"请假", "病假"}) == []  # 病, not 假, follows the days
    hit, lexicon = Hit(1, 1.0, article), Lexicon(vocabulary)
    apart = Lexicon(vocabulary - {"献血"})  # as if the documents never joined them
    assert coverage(question, hit, apart) == 0 < coverage(question, hit, lexicon)
    reply = "最大到六十周岁[1]。"
    assert not finish(question, question, reply, [hit], [article.text], lexicon=lexicon).abstained
    assert finish(question, question, reply, [hit], [article.text], lexicon=apart).abstained


def test_a_fine_stated_of_the_other_party_gives_way_to_the_asked_partys():
    """An article fining 单位 and 个人 differently: asked about a person, a reply with the 单位's fine is
    answered with the clause fining a person instead; the person's fine, or both, stand as written."""
    from qa.answering import finish

    chunks = _read(ZJ / "嘉兴市生活垃圾分类管理条例(2021-10-13).md")[1]
    article = next(c for c in chunks if "对单位处五万元以上五十万元以下罚款" in c.text)
    hit = Hit(1, 1.0, article)
    question = "在嘉兴，个人扔垃圾不分类，情节严重的罚多少？"

    def answer(reply: str, asked: str = question) -> str:
        found = finish(asked, asked, reply, [hit], [article.text])
        assert not found.abstained
        return found.text

    assert answer("罚五万元以上五十万元以下[1]。").startswith("对个人处二百元以上二千元以下罚款[1]")
    assert answer("罚二百元以上二千元以下[1]。").startswith("罚二百元以上二千元以下[1]。")
    both = "对单位罚5万元以上50万元以下，对个人罚200元以上2000元以下[1]。"
    assert answer(both).startswith(both)
    company = question.replace("个人", "企业")
    assert answer("罚二百元以上二千元以下[1]。", company).startswith("对单位处五万元以上五十万元以下罚款[1]")


def test_a_scope_article_answers_questions_on_scope_and_yields_to_the_others(tmp_path: Path, capsys):
    """第二条 (…适用本规定) shares every topic word of its regulation: it comes first when the question asks
    what the regulation applies to, and below the articles that state something otherwise."""
    chunks = _read(ZJ / "衢州市市区电动自行车管理规定(2016-12-12).md")[1]
    assert scope_share(_chunk(chunks, "第一条").text) == 1.0  # 为了…，制定本规定
    assert scope_share(_chunk(chunks, "第二条").text) > SCOPE_SHARE  # …适用本规定。市区的具体范围由…
    assert scope_share(_chunk(chunks, "第十一条").text) == 0.0
    assert scope_share("第二条 本条例适用于本市行政区域内居家养老服务及其监督管理活动。") == 1.0
    canal = _read(ZJ / "杭州市大运河世界文化遗产保护条例(2017-04-07).md")[1]
    assert scope_share(_chunk(canal, "第二条").text) < SCOPE_SHARE  # mostly the list of what it covers
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ZJ / "衢州市市区电动自行车管理规定(2016-12-12).md", corpus)
    args = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--k", "5", "--json"]

    def paths(question: str) -> list[str]:
        assert main(["search", question, *args]) == 0
        return [h["clause_path"] for h in json.loads(capsys.readouterr().out)["hits"]]

    assert paths("衢州市区电动自行车管理规定适用于哪些活动？")[0] == "第二条"
    found = paths("在衢州市区新买了电动自行车，要在多长时间内去办登记？")
    assert "第二条" not in found, found


def test_a_note_naming_the_source_is_cut_to_its_marker_and_the_figures_choose_the_citation():
    """The model closes with a note naming its source, often the wrong article (根据资料[2]第三十八条): the
    note's words are cut, and the statement before it is cited to the passage stating its figures, in
    any unit (两周 is 2周, not the 2 of 每两年)."""
    _, fireworks = _read(LAWS / "行政法规" / "烟花爆竹安全管理条例(2016-02-06).md")
    fine = _chunk(fireworks, "第六章 法律责任 > 第四十二条")
    other = _chunk(fireworks, "第六章 法律责任 > 第三十八条")
    question = "按照国务院《烟花爆竹安全管理条例》，在禁止燃放的时间、地点放鞭炮，罚款多少？"
    reply = "100元以上500元以下的罚款。根据资料[2]第三十八条。"
    check = check_reply(reply, [fine.text, other.text], question)
    assert check.cited == [1] and "第三十八条" not in check.text, check
    _, blood = _read(ZJ / "浙江省实施《献血法》办法(2020-11-27).md")
    interval, ages = _chunk(blood, "第十五条"), _chunk(blood, "第四条")
    reply = "两次之间至少要隔两周。根据资料[2]第四条和第五条的规定。"
    question = "在浙江捐献血小板，两次之间至少要隔多久？"
    assert check_reply(reply, [interval.text, ages.text], question).cited == [1]


def test_an_ordinal_is_a_name_not_a_figure_unless_the_question_asks_which():
    """第三卫生间 names a kind of toilet: a reply listing it states no figure, so nothing asks the model
    to confirm a 3; a question asking 第几批 makes the ordinal its answer, to be found in the passage."""
    _, chunks = _read(ZJ / "台州市文明行为促进条例(2020-08-20).md")
    seats = next(c for c in chunks if "爱心座椅" in c.text and "第三卫生间" in c.text)
    question = "按《台州市文明行为促进条例》，哪些场所应当设置爱心座椅？"
    reply = "车站、医疗机构等公共场所应当设置爱心座椅，人员密集的公共场所配备第三卫生间。[1]"
    assert claims(reply, question) == []
    assert check_reply(reply, [seats.text], question).unsupported == []
    assert claims("海盐县属于第四批示范区。[1]", "海盐县是第几批示范区？") == ["4"]
