"""Sentence focus: the first hits of a search ordered again, each document's passages among the places
they hold, by how like the question the one sentence of each passage most like it is.

A regulation's neighbouring articles share their topic words, and an article of many sentences is
embedded as the average of them, so the article whose one sentence answers a question can rank below a
neighbour on the same matter. The fused score says which document answers; the sentence, which of its
articles."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from qa.chunking import Chunk
from qa.embedding import Embedder
from qa.figures import sentences
from qa.store import doc_key

KEPT = 20_000
"""Passages whose sentence vectors are kept (about 6 KB each), the least recently used dropped first."""

MIN_SENTENCE_CHARS = 5
"""Shorter pieces of a passage (a lone item number, 第一条) are no sentence to compare a question with."""


def sentences_of(text: str) -> list[str]:
    """The sentences of a passage (:func:`qa.figures.sentences`), the passage itself when it has none of
    :data:`MIN_SENTENCE_CHARS`."""
    found = [text[slice(*span)].strip() for span in sentences(text)]
    return [s for s in found if len(s) >= MIN_SENTENCE_CHARS] or [text]


def official_document(chunk: Chunk) -> tuple[str, ...]:
    """The official document a passage belongs to, a plan attached to a notice with it: its
    :func:`qa.store.doc_key` without the part."""
    return doc_key(chunk)[:3]


class SentenceFocus:
    """Orders the first hits again by their sentence closest to the question.

    Args:
        embedder: the model that embedded the index (its passage vectors for the sentences).
        weight: how much the likeness of the closest sentence adds to a hit's score when its document's
            passages are ordered again; 0: not at all.
        window: how many of the first hits are ordered again.
    """

    def __init__(self, embedder: Embedder, weight: float, window: int) -> None:
        self.embedder = embedder
        self.weight = weight
        self.window = window
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # by passage text, most recent last

    def likeness(self, vector: np.ndarray, chunks: list[Chunk]) -> np.ndarray:
        """For each passage, the inner product of the question's ``vector`` with the vector of its sentence
        most like it."""
        missing = list(dict.fromkeys(c.text for c in chunks if c.text not in self._vectors))
        if missing:
            parts = [sentences_of(text) for text in missing]
            vectors = self.embedder.encode_document([s for p in parts for s in p])
            at = 0
            for text, p in zip(missing, parts, strict=True):
                self._vectors[text] = vectors[at : at + len(p)]
                at += len(p)
        found = [self._vectors[c.text] for c in chunks]
        for c in chunks:
            self._vectors.move_to_end(c.text)
        while len(self._vectors) > KEPT:
            self._vectors.popitem(last=False)
        return np.array([float((v @ vector).max()) for v in found])

    def reorder(
        self, vector: np.ndarray, chunks: list[Chunk], scores: np.ndarray
    ) -> tuple[list[int], np.ndarray]:
        """The order of the first hits (``chunks`` with their ``scores``, best first) and their scores,
        each official document's passages ordered again among the places they hold by score plus
        ``weight`` times :meth:`likeness` (a document's only passage there is not compared); hits past
        :attr:`window` keep their places."""
        order = list(range(len(chunks)))
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, chunk in enumerate(chunks[: self.window if self.weight else 0]):
            groups.setdefault(official_document(chunk), []).append(i)
        shared = [places for places in groups.values() if len(places) > 1]
        if not shared:
            return order, scores
        compared = [i for places in shared for i in places]
        likeness = self.likeness(vector, [chunks[i] for i in compared])
        focused = dict(zip(compared, scores[compared] + self.weight * likeness, strict=True))
        for places in shared:
            for place, i in zip(places, sorted(places, key=lambda i: -focused[i]), strict=True):
                order[place] = i
        return order, scores[order]
