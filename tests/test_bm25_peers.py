"""The project's BM25 (term counts kept for incremental updates) against bm25s, the library it replaced:
the same scores over the real index's passages for the dev questions."""

from __future__ import annotations

import json

import bm25s
import numpy as np
import pytest

from qa.config import ROOT, Config
from qa.index import load_index
from qa.lexical import K1, B, BM25Index, tokenize


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [c.keyword_text for c in load_index(Config.from_env().index_dir).chunks]


def test_scores_equal_bm25s_on_the_dev_questions(texts: list[str]):
    ours = BM25Index.build(texts)
    peer = bm25s.BM25(k1=K1, b=B)
    peer.index([tokenize(t) for t in texts], show_progress=False)
    rows = (ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in rows if line.strip()]
    for question in questions:
        tokens = [t for t in tokenize(question) if t in ours.vocabulary]
        assert tokens, question
        assert np.allclose(ours.scores(question), peer.get_scores(tokens), atol=1e-4), question


def test_saved_counts_load_to_the_same_scores(texts: list[str], tmp_path):
    index = BM25Index.build(texts)
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.size == len(texts)
    assert np.array_equal(loaded.scores("嘉兴最低工资标准"), index.scores("嘉兴最低工资标准"))
