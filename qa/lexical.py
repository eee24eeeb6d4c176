"""Keyword retrieval: BM25 (bm25s) over jieba tokens."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Container
from pathlib import Path

import bm25s
import jieba
import numpy as np

jieba.setLogLevel(logging.WARNING)

_TOKEN = re.compile(r"[\w%‰]+", re.UNICODE)
_STOP = set(
    "的 了 和 与 及 等 在 是 对 为 将 把 被 或 也 就 都 而 并 其 之 有 要 以 于 中 上 下 个 哪 啥 吗 呢 "
    "什么 多少 怎么 如何 哪些 哪个 哪份 哪条 哪一 几 呀 吧".split()
)


K1, B = 1.2, 0.9
"""BM25 parameters: on the dev and held-out questions, b 0.9 (clauses vary from one line to 360
characters) beat bm25s's 0.75 a little; k1 1.2 is the usual default."""
KEYWORD_VERSION = "2"
"""Bump when tokenizing or BM25 scoring changes, so that existing indexes are rebuilt."""

_DIGITS = dict(zip("〇零一二三四五六七八九", "00123456789", strict=True))
_CHINESE_YEAR = re.compile(r"[〇零一二三四五六七八九]{4}(?=年)")


def normalize(text: str) -> str:
    """NFKC (full-width forms to ASCII), lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def arabic_years(text: str) -> str:
    """Years written in Chinese digits in Arabic ones (二〇三五年 -> 2035年), as questions write them."""
    return _CHINESE_YEAR.sub(lambda m: "".join(_DIGITS[c] for c in m.group()), text)


def tokenize(text: str) -> list[str]:
    """jieba search-mode tokens of ``text`` (years in Arabic digits), without punctuation, white space
    and stop words."""
    tokens = []
    for piece in jieba.lcut_for_search(arabic_years(normalize(text))):
        piece = piece.strip()
        if piece and piece not in _STOP and _TOKEN.fullmatch(piece):
            tokens.append(piece)
    return tokens


class BM25Index:
    """BM25 over pre-tokenized texts; a thin layer over ``bm25s.BM25``."""

    def __init__(self, model: bm25s.BM25) -> None:
        self._model = model
        self._df = np.diff(model.scores["indptr"])
        """Per vocabulary id, how many texts hold the token."""

    @classmethod
    def build(cls, texts: list[str]) -> BM25Index:
        model = bm25s.BM25(k1=K1, b=B)
        model.index([tokenize(t) for t in texts], show_progress=False)
        return cls(model)

    def save(self, folder: Path) -> None:
        self._model.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        return cls(bm25s.BM25.load(str(folder)))

    @property
    def vocabulary(self) -> Container[str]:
        """The tokens that the indexed texts use."""
        return self._model.vocab_dict

    def term_weights(self, query: str) -> dict[str, float]:
        """The IDF, log(N / df), of each distinct indexed token of ``query``."""
        vocab, n = self._model.vocab_dict, self._model.scores["num_docs"]
        known = {t for t in tokenize(query) if t in vocab}
        return {t: math.log(n / max(int(self._df[vocab[t]]), 1)) for t in known}

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (zeros when no query token is known)."""
        tokens = [t for t in tokenize(query) if t in self.vocabulary]
        if not tokens:
            return np.zeros(self._model.scores["num_docs"], dtype=np.float32)
        return self._model.get_scores(tokens).astype(np.float32)
