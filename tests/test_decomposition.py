"""Splitting a question that asks the same of several things into one question for each (no model)."""

from __future__ import annotations

import pytest

from qa.decomposition import Part, split_question


@pytest.mark.parametrize(
    "question, expected",
    [
        (  # joined years: the noun before the first year is shared, not joined
            "常住人口城镇化率2025年和2035年分别要达到多少?",
            [
                ("常住人口城镇化率2025年要达到多少?", "2025年"),
                ("常住人口城镇化率2035年要达到多少?", "2035年"),
            ],
        ),
        (  # 各 before a verb, the joined places far before it
            "嘉兴和湖州搞执法改革,除统一目录外,各把多少个领域纳入综合执法?",
            [
                ("嘉兴搞执法改革,除统一目录外,把多少个领域纳入综合执法?", "嘉兴"),
                ("湖州搞执法改革,除统一目录外,把多少个领域纳入综合执法?", "湖州"),
            ],
        ),
        (  # whole clauses between commas
            "那份促进新型研发机构发展的意见,和三年行动计划,分别从什么时候施行?",
            [
                ("那份促进新型研发机构发展的意见从什么时候施行?", "那份促进新型研发机构发展的意见"),
                ("三年行动计划从什么时候施行?", "三年行动计划"),
            ],
        ),
        (  # levels joined before what they are levels of: that is said of each
            "省级和市级企业研究院分别奖励多少万元?",
            [
                ("省级企业研究院奖励多少万元?", "省级企业研究院"),
                ("市级企业研究院奖励多少万元?", "市级企业研究院"),
            ],
        ),
        (  # places joined (the second a city and its district) before what they share
            "杭州和金华市婺城区国家高新区分别要进入全国前几位?",
            [
                ("杭州国家高新区要进入全国前几位?", "杭州国家高新区"),
                ("金华市婺城区国家高新区要进入全国前几位?", "金华市婺城区国家高新区"),
            ],
        ),
        (  # single words joined before what they share
            "妇女和儿童发展规划分别是哪天印发的?",
            [
                ("妇女发展规划是哪天印发的?", "妇女发展规划"),
                ("儿童发展规划是哪天印发的?", "儿童发展规划"),
            ],
        ),
        (  # three things, the rest of the question kept
            "浙江、江苏和上海的最低工资分别是多少?各自从哪天起执行?",
            [
                ("浙江的最低工资是多少?各自从哪天起执行?", "浙江"),
                ("江苏的最低工资是多少?各自从哪天起执行?", "江苏"),
                ("上海的最低工资是多少?各自从哪天起执行?", "上海"),
            ],
        ),
        (  # compared: what each is, asked of each
            "丽水和湖州对养未登记犬的罚款有什么不同？",
            [("丽水对养未登记犬的罚款是什么？", "丽水"), ("湖州对养未登记犬的罚款是什么？", "湖州")],
        ),
        (
            "嘉兴和宁波的最低工资一样吗？",
            [("嘉兴的最低工资是什么？", "嘉兴"), ("宁波的最低工资是什么？", "宁波")],
        ),
        (  # compared after a comma: the question before it, asked of each
            "杭州与台州的电梯维保单位变更信息后多少日内要报告，有何区别？",
            [
                ("杭州的电梯维保单位变更信息后多少日内要报告？", "杭州"),
                ("台州的电梯维保单位变更信息后多少日内要报告？", "台州"),
            ],
        ),
        (  # a count of the places joined is said of both, of neither alone
            "嘉兴与湖州两个城市的养犬登记费分别是多少",
            [("嘉兴的养犬登记费是多少", "嘉兴"), ("湖州的养犬登记费是多少", "湖州")],
        ),
        (
            "个人乱扔垃圾，在温州、台州两地分别罚多少？",
            [("个人乱扔垃圾，在温州罚多少？", "温州"), ("个人乱扔垃圾，在台州罚多少？", "台州")],
        ),
    ],
)
def test_things_asked_about_one_by_one_give_a_question_each(question: str, expected: list[tuple[str, str]]):
    assert split_question(question) == [Part(q, subject) for q, subject in expected]


@pytest.mark.parametrize(
    "question",
    [
        "嘉兴的最低工资标准是多少?",  # one thing
        "各地的补贴标准是多少?",  # 各 of 各地
        "不同类型的企业有什么支持?",  # 不同 that compares nothing
        "企业和高校是什么关系?补贴分别是多少?",  # the joined things are in another sentence
        "浙江省人民政府关于加快促进高新区发展的意见是哪天施行的?",
    ],
)
def test_a_question_asking_one_thing_is_kept_whole(question: str):
    assert split_question(question) == [Part(question)]
