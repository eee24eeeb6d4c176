"""Everyday words to the documents' words: a question's words that no passage uses (司机, 小孩, 遛狗) are
looked up among the words the passages do use (驾驶员, 儿童, 养犬) by the embedding model, and the
nearest are searched for by keyword as well (query expansion).

The thesaurus is the index's vocabulary (words of two to six Chinese characters that at least two passages
hold), each word embedded as a query. It is kept in a file beside the index, checked against the
vocabulary when loaded; a changed vocabulary embeds only its new words."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jieba
import numpy as np

from qa.embedding import Embedder
from qa.lexical import tokenize

THESAURUS = "thesaurus.npz"
_WORD = re.compile(r"[\u4e00-\u9fff]{2,6}")
MIN_PASSAGES = 2
"""A word of the thesaurus is held by at least this many passages (one passage's word may be a typo)."""
SIMILAR = 0.92
"""A word is searched for a question's word when their vectors' cosine is at least this."""
NEAREST = 2
"""At most this many words are searched for each question word that no passage uses."""


def thesaurus_words(vocabulary: Mapping[str, int]) -> list[str]:
    """The words of ``vocabulary`` (token -> passages holding it) a question's word may be expanded to."""
    return sorted(w for w, n in vocabulary.items() if n >= MIN_PASSAGES and _WORD.fullmatch(w))


@dataclass
class Thesaurus:
    """The documents' words and their vectors (rows L2-normalised, as the embedder writes them).

    Args:
        words: the words, sorted.
        vectors: one row per word.
        model: the embedding model's id.
    """

    words: list[str]
    vectors: np.ndarray
    model: str

    @classmethod
    def build(
        cls, vocabulary: Mapping[str, int], embedder: Embedder, reuse: Thesaurus | None = None
    ) -> Thesaurus:
        """The thesaurus of ``vocabulary``, embedding only the words that ``reuse`` (same model) lacks."""
        words = thesaurus_words(vocabulary)
        same = reuse is not None and reuse.model == embedder.model_id
        known = {w: i for i, w in enumerate(reuse.words)} if same else {}  # type: ignore[union-attr]
        new = [w for w in words if w not in known]
        if len(new) > 1000:
            print(f"embedding {len(new):,} words of the documents for query expansion…", file=sys.stderr)
        fresh = embedder.encode_query(new) if new else np.zeros((0, embedder.dim), np.float32)
        where = {w: i for i, w in enumerate(new)}
        vectors = np.empty((len(words), embedder.dim), np.float32)
        for i, w in enumerate(words):
            vectors[i] = reuse.vectors[known[w]] if w in known else fresh[where[w]]  # type: ignore[union-attr]
        return cls(words, vectors, embedder.model_id)

    def save(self, path: Path) -> None:
        with open(path, "wb") as fh:
            vectors = self.vectors.astype(np.float16)
            np.savez(fh, words=np.array(self.words), vectors=vectors, model=self.model)

    @classmethod
    def load(cls, path: Path) -> Thesaurus | None:
        """The thesaurus in ``path``, or None when it is missing or damaged."""
        try:
            with np.load(path) as data:
                return cls(list(data["words"]), data["vectors"].astype(np.float32), str(data["model"]))
        except (OSError, ValueError, KeyError):
            return None

    def neighbours(self, vectors: np.ndarray) -> list[dict[str, float]]:
        """For each word whose vector (a row, as a query) is given, the documents' words nearest to it
        with their cosine: at most :data:`NEAREST`, each at least :data:`SIMILAR`."""
        found: list[dict[str, float]] = []
        for vector in vectors:
            similar = self.vectors @ vector if self.words else np.zeros(0, np.float32)
            best = np.argsort(-similar)[:NEAREST]
            found.append({self.words[i]: float(similar[i]) for i in best if similar[i] >= SIMILAR})
        return found

    def nearest(self, vectors: np.ndarray) -> list[str]:
        """The documents' words nearest to the words whose ``vectors`` (rows, as queries) are given, best
        first."""
        found: dict[str, float] = {}
        for near in self.neighbours(vectors):
            for word, similar in near.items():
                found[word] = max(found.get(word, 0.0), similar)
        return sorted(found, key=lambda w: -found[w])


@dataclass(frozen=True)
class Lexicon:
    """The words the documents use, and for the words of one question they never use, the documents'
    words nearest to them (those search looks for as well): what a passage must hold to hold a
    question's word.

    Args:
        vocabulary: the index's tokens.
        nearest: a question's words that no passage uses, each with its nearest words of the documents.
    """

    vocabulary: Container[str] = frozenset()
    nearest: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def forms(self, word: str) -> list[str]:
        """``word`` and the documents' words nearest to it."""
        return [word, *self.nearest.get(word, ())]


_SPLIT_WORD = re.compile(
    r"(?=([\u4e00-\u9fff])([过了着](?:好?[几一两二三四五六七八九十\d]*[次回个场顿趟遍家])?"
    r"|好?[几一两二三四五六七八九十\d]+[次回个场顿趟遍家])([\u4e00-\u9fff]))"
)
"""A separable word (离合词) with what happened between its characters: 献过好几次血, 洗了个澡, 结过两次婚."""


def rejoined(text: str, vocabulary: Container[str]) -> list[str]:
    """The separable words ``text`` splits (献过好几次血: 献血) that ``vocabulary`` holds joined."""
    joined = (m.group(1) + m.group(3) for m in _SPLIT_WORD.finditer(text))
    return list(dict.fromkeys(w for w in joined if w in vocabulary))


def unknown_words(query: str, vocabulary: Mapping[str, int]) -> list[str]:
    """The words of ``query`` (two to six Chinese characters) that no passage uses, and that jieba knows
    as words: a run of characters it joined only by guessing (时狗 of 遛狗时狗在…, 往车 of 往车窗外) is no
    word to look up."""
    return [
        t
        for t in dict.fromkeys(tokenize(query))
        if _WORD.fullmatch(t) and t not in vocabulary and jieba.dt.FREQ.get(t)
    ]


def load_thesaurus(path: Path | None, vocabulary: Mapping[str, int], embedder: Embedder) -> Thesaurus:
    """The thesaurus of ``vocabulary`` from ``path``; built (reusing what the file holds) and saved there
    when the file is missing, damaged, or was made for another vocabulary or model."""
    kept = Thesaurus.load(path) if path is not None else None
    if kept and kept.model == embedder.model_id and kept.words == thesaurus_words(vocabulary):
        return kept
    thesaurus = Thesaurus.build(vocabulary, embedder, kept)
    if path is not None:
        with contextlib.suppress(OSError):  # a read-only index folder: the thesaurus is right, only not kept
            thesaurus.save(path)
    return thesaurus
