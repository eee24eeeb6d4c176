"""Keyword retrieval: BM25 over jieba tokens, kept as term counts so that an index update tokenizes only
the new texts."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from functools import cached_property
from pathlib import Path

import jieba
import numpy as np
from scipy import sparse

jieba.setLogLevel(logging.WARNING)

_TOKEN = re.compile(r"[\w%‰]+", re.UNICODE)
_STOP = set(
    "的 了 和 与 及 等 在 是 对 为 将 把 被 或 也 就 都 而 并 其 之 有 要 以 于 中 上 下 个 哪 啥 吗 呢 "
    "什么 多少 怎么 如何 哪些 哪个 哪份 哪条 哪一 几 呀 吧".split()
)


K1, B = 1.2, 0.9
"""BM25 parameters: on the dev and held-out questions, b 0.9 (clauses vary from one line to 360
characters) beat the usual 0.75 a little; k1 1.2 is the usual default."""
KEYWORD_VERSION = "3"
"""Bump when tokenizing or BM25 scoring changes, so that existing indexes are rebuilt."""

COUNTS = "counts.npz"
VOCAB = "vocab.txt"

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
    """BM25 (Lucene's variant, as bm25s scores it) over a chunk-by-token matrix of term counts.

    The counts are kept, not only the scores, so that an index update can take the rows of unchanged
    chunks as they are and tokenize only the new ones (:meth:`rows`, :meth:`from_counts`).

    Args:
        counts: one row per text, one column per vocabulary token: how often the text holds it.
        vocab: the tokens, in column order.
    """

    def __init__(self, counts: sparse.csr_matrix, vocab: list[str]) -> None:
        counts, vocab = _compact(counts.tocsr(), vocab)
        self.vocab = vocab
        self._ids = {t: i for i, t in enumerate(vocab)}
        self._n = counts.shape[0]
        lengths = np.asarray(counts.sum(axis=1), dtype=np.float32).ravel()
        self._cols = counts.tocsc()
        self._df = np.diff(self._cols.indptr)
        self._idf = np.log1p((self._n - self._df + 0.5) / (self._df + 0.5)).astype(np.float32)
        self._norm = K1 * (1 - B + B * lengths / (lengths.mean() if self._n else 1.0))

    @classmethod
    def build(cls, texts: list[str]) -> BM25Index:
        """The index of ``texts`` (tokenized with :func:`tokenize`)."""
        vocab: list[str] = []
        return cls(count_tokens([tokenize(t) for t in texts], vocab), vocab)

    @property
    def counts(self) -> sparse.csr_matrix:
        """The term counts, one row per text."""
        return self._cols.tocsr()

    def rows(self, ids: np.ndarray, vocab: list[str]) -> sparse.csr_matrix:
        """The term counts of the texts ``ids``, over ``vocab`` (extended with this index's tokens)."""
        position = {t: i for i, t in enumerate(vocab)}
        for t in self.vocab:
            if t not in position:
                position[t] = len(vocab)
                vocab.append(t)
        remap = np.array([position[t] for t in self.vocab], dtype=np.int32)
        picked = self.counts[ids]
        return sparse.csr_matrix(
            (picked.data, remap[picked.indices], picked.indptr), shape=(picked.shape[0], len(vocab))
        )

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        sparse.save_npz(folder / COUNTS, self.counts, compressed=False)  # compressing took seconds at scale
        (folder / VOCAB).write_text("\n".join(self.vocab), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        counts = sparse.load_npz(folder / COUNTS)
        text = (folder / VOCAB).read_text(encoding="utf-8")
        vocab = text.split("\n") if text else []
        if counts.shape[1] != len(vocab):
            raise ValueError("the BM25 vocabulary and counts differ in size")
        return cls(counts, vocab)

    @property
    def size(self) -> int:
        """How many texts are indexed."""
        return self._n

    @cached_property
    def vocabulary(self) -> dict[str, int]:
        """The tokens that the indexed texts use, each with how many texts hold it."""
        return {t: int(n) for t, n in zip(self.vocab, self._df, strict=True)}

    def term_weights(self, query: str) -> dict[str, float]:
        """The IDF, log(N / df), of each distinct indexed token of ``query``."""
        known = {t for t in tokenize(query) if t in self._ids}
        return {t: math.log(self._n / max(int(self._df[self._ids[t]]), 1)) for t in known}

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query`` (zeros when no query token is known); a token said
        twice counts twice."""
        out = np.zeros(self._n, dtype=np.float32)
        cols = self._cols
        for token in tokenize(query):
            t = self._ids.get(token)
            if t is None:
                continue
            start, end = cols.indptr[t], cols.indptr[t + 1]
            rows, tf = cols.indices[start:end], cols.data[start:end]
            out[rows] += self._idf[t] * tf / (tf + self._norm[rows])
        return out


def count_tokens(token_lists: list[list[str]], vocab: list[str]) -> sparse.csr_matrix:
    """Term counts of tokenized texts, one row each, over ``vocab`` (extended in place with new tokens)."""
    position = {t: i for i, t in enumerate(vocab)}
    indptr, indices, data = [0], [], []
    for tokens in token_lists:
        for token, n in Counter(tokens).items():
            if token not in position:
                position[token] = len(vocab)
                vocab.append(token)
            indices.append(position[token])
            data.append(n)
        indptr.append(len(indices))
    return sparse.csr_matrix(
        (np.array(data, np.float32), np.array(indices, np.int32), np.array(indptr, np.int64)),
        shape=(len(token_lists), len(vocab)),
    )


def _compact(counts: sparse.csr_matrix, vocab: list[str]) -> tuple[sparse.csr_matrix, list[str]]:
    """The counts and vocabulary without the tokens that no text holds (left by removed texts)."""
    used = np.zeros(len(vocab), dtype=bool)
    used[counts.indices] = True
    if used.all():
        return counts, vocab
    remap = np.cumsum(used) - 1
    kept = [t for t, u in zip(vocab, used, strict=True) if u]
    compact = sparse.csr_matrix(
        (counts.data, remap[counts.indices], counts.indptr), shape=(counts.shape[0], len(kept))
    )
    return compact, kept
