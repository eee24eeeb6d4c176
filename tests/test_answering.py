"""The answering step around the model, on real passages of the corpus: the prompt, the reply check
(markers, numbers and dates) and abstention. No model is run here (see test_generation.py)."""

from __future__ import annotations

import re

import pytest

from qa.answerability import Constraints, coverage, said_of_another
from qa.answering import Answer, finish, merge
from qa.config import Config
from qa.figures import QUOTE_CHARS, claims, norm, number_in
from qa.language import Language, detect
from qa.pipeline import Pipeline, contextual_query
from qa.prompting import INSTRUCTION_OTHER, NOT_FOUND, build_prompt, excerpt, label
from qa.replies import check_reply, declines, renumbered
from qa.retrieval import Hit
from qa.validity import repeals, validity_of
from qa.verification import confirms, verification


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(Config.from_env(), progress=False)


@pytest.fixture(scope="module")
def wage_hits(pipeline: Pipeline) -> list[Hit]:
    """The passages for a question on Jiaxing's minimum wage: the first holds 2260 元 and 22 元."""
    hits = pipeline.retriever.search("嘉兴最低月工资标准调整为多少", k=3)
    assert "2260" in hits[0].chunk.text
    return hits


def test_a_question_on_a_lists_total_is_told_how_many_items_the_list_has(pipeline: Pipeline):
    # the passages of the 134 development zones each hold a dozen of them, the last one 132-134
    total = "2021年版浙江省开发区(园区)名单里一共列了多少个开发区(园区)?"
    hits = pipeline.retriever.search(total, k=3)
    listed = [h for h in hits if h.chunk.list_items == "1-134"]
    assert listed
    prompt = build_prompt(total, total, hits, budget=600)
    user = prompt.messages[-1]["content"]
    assert user.count("（所在列表共134项）") == len(listed)
    assert all("所在列表共134项" in p for p, h in zip(prompt.passages, hits, strict=True) if h in listed)
    other = "2021年版浙江省开发区名单里嘉兴有哪些开发区?"  # not a question on the total: no note
    assert "所在列表" not in build_prompt(other, other, hits, budget=600).messages[-1]["content"]


def test_a_lists_total_cites_the_passage_holding_its_last_item(pipeline: Pipeline):
    total = "2021年版浙江省开发区(园区)名单里一共列了多少个开发区(园区)?"
    hits = pipeline.retriever.search(total, k=3)
    paths = [h.chunk.clause_path for h in hits]
    first = next(n for n, p in enumerate(paths, 1) if p.endswith("1-12"))
    last = next(n for n, p in enumerate(paths, 1) if p.endswith("132-134"))
    given = build_prompt(total, total, hits, budget=600).passages
    answer = finish(total, total, f"一共134个[{first}]。", hits, given)
    assert answer.cited == [last] and f"134个[{last}]" in answer.text


def test_prompt_numbers_and_labels_the_passages_within_the_budget(wage_hits: list[Hit]):
    prompt = build_prompt("嘉兴最低工资是多少?", "嘉兴最低工资是多少?", wage_hits, budget=500)
    user = prompt.messages[-1]["content"]
    for n, hit in enumerate(wage_hits, 1):
        assert f"\n[{n}] {hit.chunk.clause_path}\n" in user
    assert all(user.count(f"{label(hit)}\n") == 1 for hit in wage_hits)  # each above its passage
    assert "（嘉政发〔2024〕9号）" in user
    assert "2260" in user  # the sentence that answers survives the cut
    assert user.startswith("问题：嘉兴最低工资是多少?\n\n资料：\n")  # asked before and after the passages
    assert "\n\n问题：嘉兴最低工资是多少?\n\n" in user
    context = user.split("资料：\n")[1].split("\n\n问题：")[0]
    wording = "".join(line for line in context.split("\n") if not line.startswith(("《", "[")))
    assert len(wording.replace("…", "")) <= 500  # without the label lines
    # the checker reads each passage whole, with its label (a doc number is something to cite)
    assert all(
        p.endswith(h.chunk.text) and h.chunk.clause_path in p
        for p, h in zip(prompt.passages, wage_hits, strict=True)
    )


def test_prompt_names_a_document_once_above_all_its_passages(pipeline: Pipeline):
    question = "浙政发〔2021〕16号那份促进高新区高质量发展的实施意见是从哪天开始施行的?"
    hits = pipeline.retriever.search(question, k=3)
    documents = [label(hit) for hit in hits]
    assert len(set(documents)) < len(hits), documents  # the test wants two passages of one document
    user = build_prompt(question, question, hits, budget=600).messages[-1]["content"]
    for name in set(documents):
        assert user.count(name) == 1
        numbers = [n for n, d in enumerate(documents, 1) if d == name]
        below = user.split(f"{name}\n", 1)[1]
        assert all(f"[{n}] {hits[n - 1].chunk.clause_path}\n" in below for n in numbers)


def test_prompt_carries_the_earlier_questions(wage_hits: list[Hit]):
    question, history = "那非全日制呢?", ["嘉兴最低月工资是多少?"]
    prompt = build_prompt(question, contextual_query(question, history), wage_hits, 600, history)
    assert "此前的问题：嘉兴最低月工资是多少?" in prompt.messages[-1]["content"]


def test_excerpt_keeps_the_sentences_that_match_and_their_order():
    text = "第一句讲总体要求。第二句讲工资标准为2260元。第三句讲别的事情。第四句讲小时工资22元。"
    cut = excerpt(text, "小时工资是多少", 20)
    assert "小时工资22元" in cut and "总体要求" not in cut and cut.startswith("…")
    assert excerpt(text, "任何问题", len(text)) == text


def test_supported_answer_passes_the_check(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    check = check_reply("嘉兴最低月工资标准为2260元，非全日制每小时22元[1]。", texts, "嘉兴最低工资")
    assert check.cited == [1]
    assert check.invalid_markers == [] and check.unsupported == []


def test_marker_naming_no_given_passage_is_caught_and_removed(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    assert check_reply("标准为2260元[资料1]。", texts).cited == [1]  # as the model sometimes writes it
    check = check_reply("最低月工资标准为2260元[1][7]。", texts)
    assert check.invalid_markers == [7]
    assert "[7]" not in check.text and "[1]" in check.text
    assert check.cited == [1]


def test_number_missing_from_the_cited_passage_is_unsupported(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    check = check_reply("最低月工资标准为2260元[1]。小时工资为25元[1]。", texts)
    assert check.unsupported == ["小时工资为25元[1]。"]
    # a figure of the question is not a claim of the answer
    assert check_reply("2024年的标准为2260元[1]。", texts, "2024年嘉兴最低工资").unsupported == []


def test_figure_cited_to_the_wrong_passage_is_re_cited(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    check = check_reply("最低月工资标准为2260元[2]。", texts)
    assert check.text == "最低月工资标准为2260元[1]。"
    assert check.cited == [1] and check.unsupported == []


def test_marker_in_a_sentence_of_its_own_is_checked_with_the_statement_before_it(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    check = check_reply("最低月工资标准为2260元。根据资料[2]。", texts)
    assert check.text == "最低月工资标准为2260元[1]。"
    assert check.cited == [1] and check.unsupported == []


def test_figure_stated_by_two_passages_moves_to_the_one_of_the_plan_asked_about(pipeline: Pipeline):
    # the outline and the commerce plan's table both state 32000 亿元; the question names the latter
    question = "商务“十四五”规划里网络零售总额2025年要达到多少?"
    hits = pipeline.retriever.search(question, k=3)
    texts = [f"{h.chunk.doc_title} {h.chunk.clause_path}\n{h.chunk.text}" for h in hits]
    stating = [n for n, h in enumerate(hits, 1) if "32000" in h.chunk.text]
    named = [n for n in stating if "商务" in hits[n - 1].chunk.doc_title]
    assert len(named) == 1 and len(stating) == 2, [h.chunk.doc_title for h in hits]
    silent = next(n for n in range(1, len(hits) + 1) if n not in stating)  # cited, but states no 32000
    check = check_reply(f"32000[{silent}]", texts, question)
    assert check.cited == named and check.unsupported == []


def test_uncited_answer_is_attributed_to_the_passage_with_its_figures(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    reversed_texts = texts[::-1]
    check = check_reply("标准为2260元。", reversed_texts)
    assert check.cited == [len(texts)]  # the wage passage, now numbered last


def test_numbers_written_in_chinese_count():
    def states(figure: str, text: str) -> bool:
        return number_in(norm(figure), norm(text))

    assert states("3", "原则上不超过三类")
    assert states("12", "十二个")
    assert not states("22", "2260元")
    assert states("22", "调整为22元")
    assert not states("10", "浙江国资国企“十四五”规划") and not states("4", "十四五")
    assert states("1小时", "每天锻炼一小时") and states("10年", "连续十年")
    assert not states("1小时", "建立一批校外劳动实践基地")  # 一 with another unit, or none
    assert states("70%", "不低于奖励总额的百分之七十") and not states("70%", "七十周岁")
    fine = "由公安机关责令改正，处五千元以上一万元以下罚款"
    assert states("5000元", fine) and states("1万元", fine) and states("一万元", fine)
    assert not states("5000元", "处五百元以上一千元以下罚款")
    assert states("十五日", "应当在15日内办理登记") and states("15日", "自取得证明之日起十五日内")
    assert states("2/3", "经全体组成人员三分之二以上通过") and states("3‰", "不超过千分之三")
    assert claims("应在十五日内登记[1]", "多少天内登记") == ["15日"]
    assert states("300万元", "分别给予 300 万元、100 万元奖励")  # 万 after a figure is its unit
    assert states("100年", "树龄在百年以上") and not states("1000", "千家万户")
    assert states("30天", "自签订之日起三十日内备案") and states("15日", "15天内")  # 天 and 日 are one unit


def test_a_figure_stated_with_another_unit_is_another_figure():
    marine = "力争全省海洋生产总值突破12800亿元、占全省GDP比重达到15%"
    assert claims("海水养殖产量要达到12800万吨[1]。", "海水养殖产量要达到多少万吨?") == ["12800万吨"]
    # the numbers of a list's items, on any line, are not claims; its figures are
    assert claims("1. 女性比例逐步提高[1]。\n2. 达到30%以上[2]。", "比例是多少?") == ["30%"]
    assert not number_in("12800万吨", marine)
    assert number_in("12800亿元", marine) and number_in("12800", marine) and number_in("15%", marine)
    assert number_in("35000亿元", "指标名称:社会消费品零售总额;2025年:35000;")  # the unit in the header
    assert number_in("20万", "给予每家20万元奖励")
    assert not number_in("10%", "物产中大集团连续10年进入世界500强") and number_in("2025年", "到2025年,")
    assert number_in("1小时", "每天1个小时") and number_in("80岁", "80周岁以上老年人")
    assert number_in("1.2名", "儿科执业(助理)医师数不少于1.2人")
    check = check_reply("海水养殖产量要达到12800万吨[1]。", [marine], "海水养殖产量要达到多少万吨?")
    assert check.unsupported == ["海水养殖产量要达到12800万吨[1]。"]


def test_abstention_when_the_model_declines_or_states_figures_nowhere_in_the_passages(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    declined = finish("嘉兴出租车起步价?", "q", f"{NOT_FOUND}。", wage_hits, texts)
    assert declined.abstained and declined.text.startswith(NOT_FOUND) and declined.cited == []
    assert "资料中相近的内容" in declined.text  # says what the documents do cover nearby
    none = finish("嘉兴的登月计划有哪些?", "q", "登月计划：无[1]", wage_hits, texts)
    assert none.abstained and none.text.startswith(NOT_FOUND)  # "none" is the model declining
    assert not finish("嘉兴最低工资有没有下调?", "q", "下调：没有[1]。", wage_hits, texts).abstained
    # words of a passage that sound like declining (无法确定权利人) are a quotation, not the model declining
    rule = "公告满一年无人主张权利或者无法确定权利人的，由人民政府代为管理。"
    assert declines("无法确定，资料没有说。", "多久?", [rule])
    assert not declines("公告满一年，无法确定权利人的由政府代管[1]。", "多久?", [rule])
    invented = finish("嘉兴出租车起步价?", "q", "起步价为13元[1]。", wage_hits, texts)
    assert invented.abstained
    elsewhere = finish("杭州的最低工资是多少?", "q", "最低月工资标准为2260元[1]。", wage_hits, texts)
    assert elsewhere.abstained  # the passage is Jiaxing's, the question is about Hangzhou
    off_topic = finish("嘉兴出租车的起步价是多少?", "q", "起步价为22元[1]。", wage_hits, texts)
    assert off_topic.abstained  # 22 is in the passage, but it is about wages, not taxis
    answered = finish("嘉兴最低工资?", "q", "最低月工资标准为2260元[1]。", wage_hits, texts)
    assert not answered.abstained and answered.cited == [1]
    assert answered.to_dict()["citations"][0]["n"] == 1
    assert "已失效" not in answered.text  # the 2024 wage notice is in force
    start, end = answered.highlights(1)[0]
    assert "2260" in wage_hits[0].chunk.text[start:end]


def test_answer_citing_a_plan_past_its_period_says_so(pipeline: Pipeline):
    hit = pipeline.retriever.search("浙江妇女发展规划 孕产妇死亡率控制在多少", k=1)[0]
    assert hit.chunk.doc_number == "浙政发〔2021〕18号"  # a "十四五" plan: 2021-2025
    repealed = repeals(pipeline.index.chunks)
    reply = "孕产妇死亡率控制在7/10万以下[1]。"
    hit.validity = validity_of(hit.chunk, "2026-06-30", repealed)
    expired = finish("孕产妇死亡率目标?", "q", reply, [hit], [hit.chunk.text])
    assert not expired.abstained and "已失效" in expired.text.split("\n\n")[-1]
    hit.validity = validity_of(hit.chunk, "2023-06-30", repealed)
    assert "已失效" not in finish("孕产妇死亡率目标?", "q", reply, [hit], [hit.chunk.text]).text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("嘉兴最低工资现在多少?", Language.CHINESE),
        ("浙江R&D经费占GDP比重目标是多少?", Language.CHINESE),
        ("What is the minimum wage in Jiaxing?", Language.OTHER),
        ("When does 浙政发〔2021〕16号 take effect?", Language.OTHER),
        ("Quel est le salaire minimum à Jiaxing ?", Language.OTHER),
    ],
)
def test_language_of_a_question(text: str, expected: Language):
    assert detect(text) == expected


def test_question_in_another_language_is_answered_in_it(wage_hits: list[Hit]):
    question, query = "What is the minimum monthly wage in Jiaxing?", "嘉兴最低月工资是多少？"
    prompt = build_prompt(question, query, wage_hits, 600, language=Language.OTHER)
    user = prompt.messages[-1]["content"]
    assert user.startswith(
        f"Question: {question}\n\nPassages:\n{label(wage_hits[0])}\n[1] "
    ) and user.endswith(INSTRUCTION_OTHER)
    assert "2260" in user  # the passages are cut to the Chinese query's sentences
    texts = prompt.passages
    reply = "The minimum monthly wage in Jiaxing is 2260 yuan [1]."
    answered = finish(question, query, reply, wage_hits, texts, Language.OTHER)
    assert not answered.abstained and answered.cited == [1] and answered.question == question
    # the checks read the Chinese query: Hangzhou is not in the Jiaxing passage
    elsewhere = finish("And in Hangzhou?", "杭州最低月工资是多少？", reply, wage_hits, texts, Language.OTHER)
    assert elsewhere.abstained
    declined = finish(question, query, "The documents do not mention it.", wage_hits, texts, Language.OTHER)
    assert declined.abstained and declined.text.startswith(f"The documents do not mention this ({NOT_FOUND})")
    assert "Closest passages in the documents" in declined.text


def test_quoted_terms_match_whatever_their_case_and_plan_names_their_short_form(pipeline: Pipeline):
    # “531X” is printed 531X, and a question's “十四五” is the title's 第十四个五年
    question = "信用建设“531X”工程是在浙江省“十四五”规划纲要的哪一部分提出的?"
    hits = pipeline.retriever.search(question, k=3)
    top = hits[0].chunk
    assert "531X" in top.text and "第十四个五年" in top.doc_title
    texts = [h.chunk.text for h in hits]
    answer = finish(question, question, f"在{top.clause_path}提出[1]。", hits, texts)
    assert not answer.abstained and answer.cited == [1]
    elsewhere = finish(
        "信用建设“532Y”工程在哪一部分提出?", question, f"在{top.clause_path}提出[1]。", hits, texts
    )
    assert elsewhere.abstained


def test_statement_moves_to_the_passage_that_holds_its_wording(pipeline: Pipeline):
    # the model wrote the marker after the full stop and cited a passage that does not say it
    question = "浙江新增的财政收入要拿出多少用在民生上?"
    hits = pipeline.retriever.search(question, k=3)
    texts = [h.chunk.text for h in hits]
    holder = next(n for n, t in enumerate(texts, 1) if "三分之二" in t and "民生" in t)
    other = next(n for n in range(1, len(texts) + 1) if n != holder)
    check = check_reply(f"新增财力的三分之二用于民生。[{other}]", texts, question)
    assert check.cited == [holder] and check.written == [holder]  # 三分之二 is a figure: moved for it
    assert check.text == f"新增财力的三分之二用于民生[{holder}]。"
    check = check_reply(f"新增财力用于民生。[{other}]", texts, question)  # no figure: moved for its wording
    assert check.cited == [holder] and check.written == [other]
    # a figure-free statement that its passage holds as well as any other keeps its marker
    assert check_reply(f"新增财力的三分之二用于民生[{holder}]。", texts, question).cited == [holder]


def test_figure_of_another_year_than_the_one_asked_abstains(pipeline: Pipeline):
    # 全省最低生活保障标准…提高到2020年城乡同标886元(人/月): a 2020 figure, no 2025 target
    hits = pipeline.retriever.search("浙江最低生活保障标准城乡同标", k=3)
    texts = [h.chunk.text for h in hits]
    n = next(i for i, t in enumerate(texts, 1) if "886" in t)
    reply = f"每人每月886元[{n}]。"
    assert finish("到2025年浙江最低生活保障标准要提高到多少?", "q", reply, hits, texts).abstained
    assert not finish("2020年浙江最低生活保障标准是多少?", "q", reply, hits, texts).abstained
    assert not finish("浙江最低生活保障标准是多少?", "q", reply, hits, texts).abstained


def test_list_item_numbers_are_not_claims_and_invented_markers_abstain(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    listed = check_reply("1. 最低月工资标准为2260元。\n2. 非全日制每小时22元。[1]", texts, "嘉兴最低工资")
    assert listed.unsupported == [] and listed.cited == [1]
    answer = finish("嘉兴最低工资?", "q", "按最低工资标准执行[39]。", wage_hits, texts)
    assert answer.abstained and answer.cited == []  # the only passage it cites was never given
    # a figure cited to a passage never given (a table row's 序号 copied as a marker) goes to the passage
    # stating it
    recited = finish("嘉兴最低工资?", "q", "最低月工资标准为2260元[39]。", wage_hits, texts)
    assert not recited.abstained and recited.cited == [1] and recited.invalid_markers == [39]
    assert recited.text.startswith("最低月工资标准为2260元[1]。")
    # a reply opening with its marker has it moved to the end of the sentence
    led = check_reply("根据资料[1]，最低月工资标准为2260元。", texts, "嘉兴最低工资?")
    assert led.text == "最低月工资标准为2260元[1]。" and led.cited == [1]
    kept = finish("嘉兴最低工资?", "q", "最低月工资标准为2260元[1][39]。", wage_hits, texts)
    assert not kept.abstained and kept.invalid_markers == [39]


def test_figure_cited_to_an_off_topic_passage_is_answered_from_the_passage_stating_it(pipeline: Pipeline):
    # the model cited a clause on labour relations for the hourly wage that the wage notice states
    question = "嘉兴非全日制工作的最低小时工资是多少钱?"
    hits = pipeline.retriever.search(question, k=3)
    texts = [h.chunk.text for h in hits]
    holder = next(n for n, t in enumerate(texts, 1) if "22 元" in t or "22元" in t)
    other = next(n for n, h in enumerate(hits, 1) if n != holder and coverage(question, h) < 0.5)
    answer = finish(question, question, f"22元[{other}]", hits, texts)
    assert not answer.abstained and answer.cited == [holder] and answer.text.startswith(f"22元[{holder}]")


def test_place_named_by_no_passage_abstains(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    assert not any("温州" in t for t in texts)
    named = finish("嘉兴最低月工资是多少?", "q", "温州的最低月工资标准为2260元[1]。", wage_hits, texts)
    assert named.abstained
    assert not finish(
        "嘉兴最低月工资是多少?", "q", "嘉兴的最低月工资标准为2260元[1]。", wage_hits, texts
    ).abstained


def test_answer_from_a_passage_about_something_else_asks_again_with_those_about_the_question(
    pipeline: Pipeline,
):
    # the province's talent targets (200 顶尖人才, 1500 领军人才) are not the corridor's
    question = "杭州城西科创大走廊到2025年要新引进多少顶尖人才和领军人才?"
    hits = pipeline.retriever.search(question, k=3)
    texts = [f"{h.chunk.doc_title} {h.chunk.clause_path}\n{h.chunk.text}" for h in hits]
    lexicon = pipeline.retriever.lexicon(question)
    about = [n for n, h in enumerate(hits, 1) if "杭州城西科创大走廊" in h.chunk.text]
    other = next(n for n, h in enumerate(hits, 1) if "杭州" not in texts[n - 1] and "1500" in h.chunk.text)
    reply = f"新引进全球顶尖人才200名左右、科技领军人才1500名左右[{other}]。"
    answer = finish(question, question, reply, hits, texts, lexicon=lexicon)
    assert answer.abstained and answer.refocus and set(answer.refocus) <= set(about)
    # a reply the model declines, or one citing the clause asked about, is not asked again
    assert not finish(question, question, f"{NOT_FOUND}。", hits, texts, lexicon=lexicon).refocus
    right = finish(question, question, f"350人[{about[0]}]。", hits, texts, lexicon=lexicon)
    assert not right.abstained and not right.refocus


def test_question_on_the_province_is_not_answered_from_a_city_document(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    reply = "最低月工资标准为2260元[1]。"
    assert wage_hits[0].chunk.issuer.startswith("嘉兴市")
    assert finish("浙江全省最低月工资标准第一档是多少?", "q", reply, wage_hits, texts).abstained
    assert not finish("浙江嘉兴的最低月工资标准是多少?", "q", reply, wage_hits, texts).abstained


def test_words_the_documents_never_use_do_not_count_against_a_passage(pipeline: Pipeline):
    # a citizen's 打零工, 工钱 and 老板: the wage notice says 非全日制 and 小时最低工资
    question = "在嘉兴打零工按小时算工钱,老板每小时最少得给多少钱?"
    retriever = pipeline.retriever
    vocabulary = retriever.index.vocabulary
    assert "工钱" not in vocabulary and "小时" in vocabulary
    hits = retriever.search("嘉兴非全日制工作的最低小时工资", k=3)
    texts = [h.chunk.text for h in hits]
    holder = next(n for n, t in enumerate(texts, 1) if "22 元" in t or "22元" in t)
    lexicon = retriever.lexicon(question)
    assert coverage(question, hits[holder - 1], lexicon) > coverage(question, hits[holder - 1])
    answer = finish(question, question, f"每小时22元[{holder}]。", hits, texts, lexicon=lexicon)
    assert not answer.abstained and answer.cited == [holder]
    taxi, fare = "嘉兴出租车每公里多少钱?", "嘉兴出租车起步价是多少?"
    reply = f"22元[{holder}]。"
    # 出租车 is no word of the documents, but 公里 is, and the wage notice lacks it
    assert finish(taxi, "q", reply, hits, texts, lexicon=retriever.lexicon(taxi)).abstained
    assert finish(fare, "q", reply, hits, texts, lexicon=retriever.lexicon(fare)).abstained  # nor these
    # two words the documents lack (火星, 载人) among five of theirs: they name what the documents lack
    mars = "2030年火星载人登陆计划由哪家航天公司承担？"
    assert {"火星", "载人"}.isdisjoint(vocabulary) and {"登陆", "计划", "航天"} <= set(vocabulary)
    hits = retriever.search(mars, k=3)
    texts = [h.chunk.text for h in hits]
    lexicon = retriever.lexicon(mars)
    assert all(
        finish(mars, mars, f"由省科技厅承担[{n}]。", hits, texts, lexicon=lexicon).abstained
        for n in (1, 2, 3)
    )


def test_statement_moved_for_its_wording_is_judged_by_the_passage_it_moved_to(pipeline: Pipeline):
    # the model cited the plan's general targets for what the G60 clause says
    question = "浙江科技创新“十四五”规划给嘉兴G60科创走廊定的聚焦方向是什么?"
    hits = pipeline.retriever.search(question, k=5)
    texts = [h.chunk.text for h in hits]
    holder = next(n for n, t in enumerate(texts, 1) if "数字科创" in t)
    other = next(n for n, h in enumerate(hits, 1) if n != holder and "嘉兴" not in h.chunk.text)
    reply = f"嘉兴G60科创走廊聚焦数字科创，打造长三角数字经济创新高地[{other}]。"
    answer = finish(question, question, reply, hits, texts)
    assert not answer.abstained and answer.cited == [holder]


def test_bare_yes_or_no_quotes_the_sentence_that_decides_it(pipeline: Pipeline):
    question = "我爸妈都80多岁了,他们的户口能迁到我这边来吗?"
    hits = pipeline.retriever.search(question, k=3)
    texts = [h.chunk.text for h in hits]
    holder = next(n for n, t in enumerate(texts, 1) if "户口可随迁子女户口所在地" in t)
    lexicon = pipeline.retriever.lexicon(question)
    answer = finish(question, question, f"可以。[{holder}]", hits, texts, lexicon=lexicon)
    assert not answer.abstained and answer.cited == [holder]
    said, quoted = answer.text.split("\n\n")[:2]
    assert said == f"可以。[{holder}]" and quoted.startswith("原文：“") and quoted.endswith(f"”[{holder}]")
    assert "80周岁以上老年人户口可随迁子女户口所在地" in quoted
    # an answer that says more than yes or no, or a question that is not yes-or-no, is left as it is
    longer = f"可以，80周岁以上老年人户口可随迁子女户口所在地[{holder}]。"
    assert "原文" not in finish(question, question, longer, hits, texts, lexicon=lexicon).text
    assert "原文" not in finish("老人户口怎么迁?", "q", f"可以。[{holder}]", hits, texts).text


def test_bare_figure_quotes_the_sentence_stating_it(wage_hits: list[Hit]):
    texts = [h.chunk.text for h in wage_hits]
    answer = finish("嘉兴非全日制工作每小时最低工资多少钱?", "q", "22元[1]", wage_hits, texts)
    quoted = answer.text.split("\n\n")[1]
    assert quoted.startswith("原文：“") and quoted.endswith("”[1]")
    assert "非全日制工作的最低小时工资标准调整为 22 元" in quoted
    said = "嘉兴非全日制工作的最低小时工资标准是每小时22元[1]。"
    assert "原文" not in finish("嘉兴非全日制工作每小时最低工资多少钱?", "q", said, wage_hits, texts).text


def test_a_long_sentence_is_quoted_around_its_figure(pipeline: Pipeline):
    def last_figure(sentence: str) -> re.Match[str] | None:
        return ([None, *re.finditer(r"\d+(?:\.\d+)?", sentence)])[-1]

    # a sentence longer than a quote, whose last figure stands past the first QUOTE_CHARS characters
    chunk, sentence = next(
        (c, m.group())
        for c in pipeline.index.chunks
        for m in re.finditer(r"[^。！？\n]+[。！？]", c.text)
        if len(m.group()) > QUOTE_CHARS and (f := last_figure(m.group())) and f.start() > QUOTE_CHARS
    )
    figure = last_figure(sentence).group()
    answer = finish(chunk.clause_path, "q", f"{figure}[1]", [Hit(1, 1.0, chunk)], [chunk.text])
    quoted = answer.text.split("\n\n")[1]
    assert quoted.startswith("原文：“…") and quoted.endswith("”[1]") and figure in quoted
    assert len(quoted) <= QUOTE_CHARS + len("原文：“……”[1]")


def test_question_asking_which_document_gets_the_source_and_the_wording(pipeline: Pipeline):
    question = "嘉兴现行的最低工资标准是哪份文件定的?它出台后哪份旧文件作废了?"
    hits = pipeline.retriever.search(question, k=3)
    texts = [h.chunk.text for h in hits]
    holder = next(n for n, t in enumerate(texts, 1) if "同时废止" in t)
    c = hits[holder - 1].chunk
    reply = f"《{c.doc_title}》（{c.doc_number}）[{holder}]。"
    answer = finish(question, question, reply, hits, texts)
    said, quoted, source = answer.text.split("\n\n")[:3]
    assert said == reply
    # the quote is the sentence that answers, not the document's bare 发文字号 or title line
    assert "同时废止" in quoted and quoted.startswith("原文：“")
    assert source == f"出处：《{c.part or c.doc_title}》（{c.doc_number}） {c.clause_path}[{holder}]"
    # a question that does not ask where gets no source line
    assert "出处" not in finish("嘉兴最低工资是多少?", "q", f"2260元[{holder}]", hits, texts).text


def test_reply_ends_where_the_model_asks_itself_again_and_its_own_listing_keeps_its_markers(
    wage_hits: list[Hit],
):
    texts = [h.chunk.text for h in wage_hits]
    looped = "答案：2260元[1]\n\n问题：嘉兴最低工资是多少?\n\n答案：2260元，每小时20元[1]"
    check = check_reply(looped, texts, "嘉兴最低工资是多少?")
    assert check.text == "2260元[1]" and not check.unsupported  # the 20 of the repeat is gone
    listed = "2260元\n\n依据的资料：[1] 《嘉兴市人民政府关于调整全市最低工资标准的通知》 正文"
    check = check_reply(listed, texts, "嘉兴最低工资是多少?")
    assert check.text == "2260元[1]" and check.cited == [1]
    # the question echoed before the answer, a sentence of the instruction, a 资料来源 line
    echoed = "问题：嘉兴最低工资是多少?\n\n答案：2260元。问题有几问就逐一回答。\n资料来源：[1]"
    assert check_reply(echoed, texts, "嘉兴最低工资是多少?").text == "2260元。[1]"


def test_answer_naming_a_document_cites_its_clause_that_holds_the_question(pipeline: Pipeline):
    question = "科技创新“十四五”规划的哪一部分提到建设杭州城西科创大走廊?"
    hits = pipeline.retriever.search(question, k=3)
    texts = [h.chunk.text for h in hits]
    holder = next(n for n, h in enumerate(hits, 1) if "杭州城西科创大走廊" in h.chunk.clause_path)
    c = hits[holder - 1].chunk
    other = next(n for n, h in enumerate(hits, 1) if n != holder and h.chunk.doc_title == c.doc_title)
    lexicon = pipeline.retriever.lexicon(question)
    name = c.part or c.doc_title
    answer = finish(question, question, f"《{name}》[{other}]", hits, texts, lexicon=lexicon)
    assert answer.cited == [holder] and answer.text.startswith(f"《{name}》[{holder}]"), answer.text
    assert f"{c.clause_path}[{holder}]" in answer.text  # the 出处 line names that clause


def test_where_a_rule_is_written_is_answered_from_the_best_passage_when_the_reply_is_rejected(
    pipeline: Pipeline,
):
    question = "公建民营的养老机构,合同最长只能签15年,这个规定在哪份规划的哪一条?"
    hits = pipeline.retriever.search(question, k=3)
    texts = [h.chunk.text for h in hits]
    c = hits[0].chunk
    assert "合同期限最长不超过15年" in c.text
    lexicon = pipeline.retriever.lexicon(question)
    # the model cites only a passage never given: rejected, so the best passage answers
    answer = finish(question, question, "见资料[7]。", hits, texts, lexicon=lexicon)
    assert not answer.abstained and answer.cited == [1]
    assert answer.text.startswith(f"《{c.part or c.doc_title}》[1]")
    assert "合同期限最长不超过15年" in answer.text  # the wording, quoted
    assert f"{c.clause_path}[1]" in answer.text  # and the clause, on the 出处 line
    # the model quotes another clause of the plan (its 300 张床位): the clause stating the question's
    # 15 年 answers, with its wording
    other = next(n for n, t in enumerate(texts, 1) if "15年" not in t)
    answer = finish(question, question, f"《{c.part or c.doc_title}》[{other}]", hits, texts, lexicon=lexicon)
    assert not answer.abstained and answer.cited == [1] and "合同期限最长不超过15年" in answer.text
    # a question on what no document holds still abstains
    taxi = "嘉兴出租车起步价的规定出自哪份文件?"
    hits = pipeline.retriever.search(taxi, k=3)
    texts = [h.chunk.text for h in hits]
    assert finish(taxi, taxi, "见资料[7]。", hits, texts, lexicon=lexicon).abstained


def test_answers_to_the_parts_of_a_question_make_one_answer_numbering_their_passages_together(
    pipeline: Pipeline, wage_hits: list[Hit]
):
    plan_hits = pipeline.retriever.search("浙江妇女发展规划 孕产妇死亡率控制在多少", k=3)
    assert "孕产妇死亡率" in plan_hits[0].chunk.text
    figure = "7/10万"  # 孕产妇死亡率控制在 7/10 万以下

    def answer(question: str, reply: str, hits: list[Hit]) -> Answer:
        return finish(question, "q", reply, hits, [h.chunk.text for h in hits])

    wage = answer("嘉兴最低工资是多少?", "最低月工资标准为2260元[1]。", wage_hits)
    plan = answer("孕产妇死亡率要控制在多少?", f"控制在{figure}以下[1]。", plan_hits)
    hangzhou = answer("杭州最低工资是多少?", "最低月工资标准为2260元[1]。", wage_hits)
    assert not wage.abstained and not plan.abstained and hangzhou.abstained
    passages = [*wage_hits, *plan_hits]  # the second part's passages come after the first's
    after = {n: n + len(wage_hits) for n in range(1, len(plan_hits) + 1)}
    same = {n: n for n in range(1, len(wage_hits) + 1)}
    parts = [("嘉兴", wage.renumbered(same, passages)), ("孕产妇死亡率", plan.renumbered(after, passages))]
    merged = merge("嘉兴最低工资和孕产妇死亡率分别是多少?", "q", parts)
    first, second = merged.text.split("\n\n")[0].split("\n")
    assert first == "嘉兴：最低月工资标准为2260元[1]。" and second.endswith(
        f"{figure}以下[{1 + len(wage_hits)}]。"
    )
    assert not merged.abstained and merged.cited == [1, 1 + len(wage_hits)] and merged.passages == passages
    assert merged.text.count("已失效") == 1 and merged.text.endswith("）。")  # the plan's note, last
    partly = merge("嘉兴和杭州的最低工资分别是多少?", "q", [("嘉兴", wage), ("杭州", hangzhou)])
    assert not partly.abstained and partly.text.split("\n")[1] == f"杭州：{NOT_FOUND}。"
    assert "资料中相近的内容" not in partly.text  # said once for the whole question, when no part is answered
    neither = merge("杭州和湖州的最低工资分别是多少?", "q", [("杭州", hangzhou), ("湖州", hangzhou)])
    assert neither.abstained and neither.text.startswith(NOT_FOUND) and "资料中相近的内容" in neither.text


def test_streamed_markers_are_renumbered_even_when_cut_between_pieces():
    pieces = list(renumbered(["为2260元[", "1", "]，见【2】与[1, 3", "]。"], {1: 4, 2: 5, 3: 6}))
    assert "".join(pieces) == "为2260元[4]，见[5]与[4, 6]。"
    assert not any(re.search(r"\[\d*$|^\d", piece) for piece in pieces)


def test_figure_stated_of_another_level_than_the_one_asked_abstains(pipeline: Pipeline):
    hit = next(
        h
        for h in pipeline.retriever.search("嘉兴 新认定的省级重点企业研究院 奖励多少万元", k=5)
        if "省级重点企业研究院(含农业)" in h.chunk.text
    )

    def ask(question: str, reply: str) -> Answer:
        return finish(question, "q", reply, [hit], [hit.chunk.text])

    # 300 万元 is said of 省级 research institutes only: not an answer for a 市级 one
    assert ask("嘉兴认定为市级新型研发机构的,能拿到多少万元奖励?", "能拿到300万元奖励[1]。").abstained
    assert not ask("嘉兴对新认定的省级重点企业研究院奖励多少?", "奖励300万元[1]。").abstained
    # the sentence with 20 万元 names 国家级、省级、市级 technology centres, the 市级 one among them
    assert not ask("嘉兴对市级制造业企业技术中心奖励多少?", "奖励20万元[1]。").abstained
    assert not said_of_another(
        "嘉兴市级项目补助多少?", ["100万元"], hit.chunk.text
    )  # 实施市级科技项目…100 万元


def test_verification_asks_whether_the_sentences_stating_the_figures_answer_the_question(
    wage_hits: list[Hit],
):
    question = "嘉兴打零工每小时最低工资是多少?"
    given = build_prompt(question, question, wage_hits, 600).passages
    answer = finish(question, question, "22元[1]。", wage_hits, given)
    assert not answer.abstained
    user = verification(answer)[-1]["content"]
    # the sentences stating 22 (元), under their document and clause, then the question; not the others
    assert "（嘉政发〔2024〕9号）" in user and "最低小时工资标准调整为 22 元" in user
    assert question in user and "各县(市、区)人民政府" not in user
    worded = finish(question, question, "按非全日制工作的最低小时工资标准执行[1]。", wage_hits, given)
    assert not worded.abstained and verification(worded) == []  # no figure to verify
    assert confirms("能") and not confirms("不能。") and not confirms("否")


def test_a_question_on_a_year_period_or_place_the_passage_does_not_state_abstains(pipeline: Pipeline):
    # the outline's 十四五 targets (2025): 常住人口城镇化率达到75%左右, under 主要目标 of the 十四五 period
    hits = pipeline.retriever.search("浙江十四五规划纲要 常住人口城镇化率 达到多少", k=3)
    texts = [h.chunk.text for h in hits]
    n = next(i for i, t in enumerate(texts, 1) if "城镇化率达到75%左右" in t)
    reply = f"常住人口城镇化率达到75%左右[{n}]。"

    def abstains(question: str) -> bool:
        return finish(question, question, reply, hits, texts).abstained

    assert not abstains("到2025年浙江常住人口城镇化率要达到多少?")
    assert not abstains("浙江“十四五”时期常住人口城镇化率要达到多少?")
    assert abstains("到2023年浙江常住人口城镇化率要达到多少?")  # a year the plan sets no target for
    assert abstains("浙江“十四五”中期常住人口城镇化率要达到多少?")  # a period it does not have
    assert abstains("到2025年宁波常住人口城镇化率要达到多少?")  # a city it does not cover


def test_a_question_asking_for_an_attribute_no_cited_passage_states_abstains(pipeline: Pipeline):
    # the wage notice states amounts and its date of effect, no time limit for paying
    hits = pipeline.retriever.search("嘉兴市最低工资标准", k=3)
    texts = [h.chunk.text for h in hits]
    n = next(i for i, t in enumerate(texts, 1) if "2260" in t)
    reply = f"最低月工资标准为2260元[{n}]。"
    assert not finish("嘉兴最低月工资标准是多少钱?", "q", reply, hits, texts).abstained
    assert finish("嘉兴的工资最迟要在发薪日后几天内付清?", "q", reply, hits, texts).abstained
    # an amount asked by what it is paid as (多少补贴, 多少奖金): a reply stating none is no answer
    unstated = f"按照本通知规定的最低工资标准执行[{n}]。"
    assert finish("嘉兴职工最低能领多少工资?", "q", reply, hits, texts).cited == [n]
    assert finish("嘉兴职工最低能领多少工资?", "q", unstated, hits, texts).abstained
    assert Constraints.of("《浙江省实施〈中华人民共和国献血法〉办法》自哪天起施行？").documents == (
        "浙江省实施中华人民共和国献血法办法",
    )
    assert Constraints.of("浙政发〔2021〕16号的实施意见从哪天施行?").documents == ("浙政发〔2021〕16号",)


def test_constraints_are_stated_by_the_cited_passages_about_the_question(pipeline: Pipeline):
    # the wage notice is 嘉兴's; a passage naming 杭州 about something else does not make it 杭州's
    hits = [
        *pipeline.retriever.search("嘉兴市最低工资标准", k=1),
        *pipeline.retriever.search("杭州城西科创大走廊", k=1),
    ]
    texts = [h.chunk.text for h in hits]
    assert "2260" in texts[0] and "杭州" not in texts[0] and "杭州" in texts[1] and "最低工资" not in texts[1]
    lexicon = pipeline.retriever.lexicon("嘉兴最低月工资标准是多少?")
    reply = "最低月工资标准为2260元[1][2]。"
    assert not finish("嘉兴最低月工资标准是多少?", "q", reply, hits, texts, lexicon=lexicon).abstained
    assert finish("杭州最低月工资标准是多少?", "q", reply, hits, texts, lexicon=lexicon).abstained


def test_a_marker_naming_a_document_by_its_number_cites_its_passages(wage_hits: list[Hit]):
    texts = [f"{label(h)} {h.chunk.clause_path}\n{h.chunk.text}" for h in wage_hits]
    n = next(i for i, h in enumerate(wage_hits, 1) if "2260" in h.chunk.text)
    number = wage_hits[n - 1].chunk.doc_number
    check = check_reply(f"最低月工资标准为2260元。[{number}]", texts, "嘉兴最低工资是多少?")
    assert check.cited == [n] and check.unsupported == [] and number not in check.text
    assert check_reply("为2260元。[浙政发〔2099〕1号]", texts, "嘉兴最低工资是多少?").invalid_markers == []
