"""Scoring and writing benchmark results (no model)."""

from __future__ import annotations

from pathlib import Path

from qa.evaluation import NEW_BLOCKS, answer_correct, write_results


def test_figures_in_chinese_numerals_score_as_the_numbers_they_write():
    # FORMAT.md: 十五日 = 15日, 五千元 = 5000元, 二十万元 = 20万元, 三分之二 holds 2 and 3
    row = {"type": "numeric", "answer": "十五日", "answer_aliases": []}
    assert answer_correct(row, {"answer": "应在15日内办理[1]。", "abstained": False})
    assert not answer_correct(row, {"answer": "应在30日内办理[1]。", "abstained": False})
    fine = {"type": "numeric", "answer": "5000元以上1万元以下", "answer_aliases": []}
    assert answer_correct(fine, {"answer": "处五千元以上一万元以下罚款[1]", "abstained": False})
    share = {"type": "numeric", "answer": "三分之二", "answer_aliases": []}
    assert answer_correct(share, {"answer": "2/3以上[1]", "abstained": False})
    award = {"type": "numeric", "answer": "20万元", "answer_aliases": []}
    assert answer_correct(award, {"answer": "奖励二十万元[1]", "abstained": False})
    assert not answer_correct(award, {"answer": "奖励二十万元[1]", "abstained": True})


def test_results_rewrite_their_own_block_of_the_benchmark_document(tmp_path: Path):
    document = tmp_path / "benchmarks.md"
    document.write_text(f"# Benchmarks\n\nwritten by hand\n\n{NEW_BLOCKS}\n\n## Older\n", encoding="utf-8")
    write_results(tmp_path / "out", "answers-x", {"a": 1}, "| first |", {"run": [{"id": "q1"}]}, document)
    write_results(tmp_path / "out", "answers-y", {"a": 2}, "| other |", {}, document)
    write_results(tmp_path / "out", "answers-x", {"a": 3}, "| second |", {}, document)
    text = document.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nwritten by hand\n") and text.endswith(
        f"{NEW_BLOCKS}\n\n## Older\n"
    )
    assert text.index("answers-x") < text.index("answers-y")
    assert "| second |" in text and "| first |" not in text and "| other |" in text
    assert text.count("<!-- qa eval: answers-x -->") == 1 and "Measured " in text and " cores" in text
    assert (tmp_path / "out" / "answers-x.run.run.jsonl").read_text() == '{"id": "q1"}\n'
    assert '"a": 3' in (tmp_path / "out" / "answers-x.json").read_text()
