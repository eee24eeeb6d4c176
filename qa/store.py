"""The store protocol: where an index's passages, their vectors and keyword counts are kept, and the two
rankers over them.

Two stores implement it: the embedded one (:class:`qa.index.Index`: FAISS and BM25 files in a folder,
the default) and Milvus (:class:`qa.milvus.MilvusStore`: an embedded Milvus Lite file or a Milvus server).
Either way the process holds every passage's text and metadata (the document lifts, validity and profile
matching read them); a store ranks passages by their vector or their keywords, within a :class:`Scope`,
and gives the scores of named passages. Fusion is done above the stores (:mod:`qa.retrieval`), the same
for both."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.chunking import HISTORY_PATH, Chunk

if TYPE_CHECKING:
    from pathlib import Path

    from qa.config import Config
    from qa.embedding import Embedder
    from qa.index import Update
    from qa.tagging import Tags


class IndexUnusable(RuntimeError):
    """The index is missing, stale, damaged or cannot be reached (the message says which, and what to do)."""


class StoreKind(str, Enum):
    EMBEDDED = "embedded"
    MILVUS = "milvus"


class Ranker(str, Enum):
    DENSE = "dense"
    KEYWORD = "keyword"


@dataclass
class Query:
    """What the rankers search for: the question's text (keywords) and its vector (dense)."""

    text: str
    vector: np.ndarray | None = None
    memo: dict[object, np.ndarray] = field(default_factory=dict, repr=False)
    """Scratch space of a store for this query (the embedded store keeps its full score arrays here)."""


@dataclass(frozen=True)
class Scope:
    """Which passages a ranker may return: those of the ``documents`` marked True (one flag per document,
    in :func:`documents_of` order; None: every document), history lines only ``with_history``."""

    documents: np.ndarray | None = None
    with_history: bool = True


DocKey = tuple[str, str, str, str]


def doc_key(chunk: Chunk) -> DocKey:
    """What tells one document (or a plan attached to it) from another: file, 发文字号, title, part."""
    return (chunk.source_file, chunk.doc_number, chunk.doc_title, chunk.part)


def doc_id(key: DocKey) -> str:
    """A short stable name of a document key (the same in every process and store)."""
    return hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).hexdigest()


def documents_of(chunks: list[Chunk]) -> tuple[list[DocKey], np.ndarray]:
    """The documents of ``chunks`` in order of first appearance, and each chunk's document number."""
    position: dict[DocKey, int] = {}
    rows = np.empty(len(chunks), dtype=np.int64)
    for i, chunk in enumerate(chunks):
        rows[i] = position.setdefault(doc_key(chunk), len(position))
    return list(position), rows


def history_rows(chunks: list[Chunk]) -> np.ndarray:
    """Per chunk: whether it is a document's history lines (通过 / 修正 dates), searched only when asked."""
    return np.array([c.clause_path == HISTORY_PATH for c in chunks], dtype=bool)


def scope_rows(scope: Scope, chunk_doc: np.ndarray, history: np.ndarray) -> np.ndarray:
    """Per chunk: whether ``scope`` lets it through, given each chunk's document (:func:`documents_of`)
    and whether it is a history line (:func:`history_rows`)."""
    mask = np.ones(len(chunk_doc), dtype=bool) if scope.documents is None else scope.documents[chunk_doc]
    return mask if scope.with_history else mask & ~history


class Store(Protocol):
    """An index's passages and their two rankers."""

    chunks: list[Chunk]
    tags: list[Tags]
    manifest: dict[str, object]

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """The keyword tokens the passages use, each with how many passages hold it."""
        ...

    def term_weights(self, query: str) -> dict[str, float]:
        """The IDF, log(N / df), of each distinct indexed token of ``query``."""
        ...

    def top(self, ranker: Ranker, query: Query, k: int, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        """The rows (into ``chunks``) of the ``k`` best passages in ``scope`` by ``ranker``, best first,
        and their scores."""
        ...

    def scores(self, ranker: Ranker, query: Query, rows: np.ndarray) -> np.ndarray:
        """The scores of the passages in ``rows`` by ``ranker`` (0 for keywords: no query token)."""
        ...

    def is_current(self) -> bool:
        """Whether the index kept where this store reads from is still the one it holds (no update since)."""
        ...


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the ``k`` highest scores, best first (ties in row order), without sorting them all."""
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < len(scores):
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        rows = np.flatnonzero(scores >= kth)  # the k best and any tied with the k-th, in row order
    else:
        rows = np.arange(len(scores))
    return rows[np.argsort(-scores[rows], kind="stable")][:k]


def ensure_store(config: Config, embedder: Embedder, progress: bool = True) -> Store:
    """The configured store, up to date with the corpus (built or updated as needed)."""
    if StoreKind(config.store) == StoreKind.MILVUS:
        from qa.milvus import ensure_milvus

        return ensure_milvus(config, embedder, progress)
    from qa.index import ensure_index

    return ensure_index(config, embedder, progress)


def load_store(config: Config) -> Store:
    """The configured store as it is now (no update)."""
    if StoreKind(config.store) == StoreKind.MILVUS:
        from qa.milvus import load_milvus

        return load_milvus(config)
    from qa.index import load_index

    return load_index(config.index_dir)


def update_store(
    config: Config, embedder: Embedder, progress: bool = True, rebuild: bool = False
) -> tuple[dict[str, object], Update]:
    """Bring the configured store up to date with the corpus (everything read again when ``rebuild``);
    returns its manifest and what the update did (the index itself is not loaded for it)."""
    if StoreKind(config.store) == StoreKind.MILVUS:
        from qa.milvus import update_milvus

        return update_milvus(config, embedder, progress, rebuild)
    from qa.index import update_index

    index, update = update_index(config, embedder, progress, rebuild)
    return index.manifest, update


def thesaurus_path(config: Config) -> Path:
    """Where the configured store's thesaurus (:mod:`qa.expansion`) is kept: in the embedded index's folder
    (swapped with it), or beside the Milvus index's name."""
    from qa.expansion import THESAURUS

    if StoreKind(config.store) == StoreKind.MILVUS:
        return config.index_dir.with_name(f"{config.index_dir.name}.{THESAURUS}")
    return config.index_dir / THESAURUS


def store_location(config: Config) -> str:
    """Where the configured store keeps the index (for messages)."""
    if StoreKind(config.store) == StoreKind.MILVUS:
        from qa.milvus import milvus_uri

        return f"Milvus {milvus_uri(config)}"
    return str(config.index_dir)
