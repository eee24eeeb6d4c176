"""The index store: chunks, a FAISS inner-product index over normalised vectors, BM25 term counts,
matching tags and a manifest that says what they were built from.

An update reads only the corpus files that are new or changed since the manifest (their sha256), keeps
the chunks, vectors, term counts and tags of the others as they are, and embeds only passages whose
text the previous index did not hold (the previous index is the embedding cache, keyed by the text and
valid for the same model). It writes a new folder and swaps it in, so that a reader, or an update killed
mid-way, leaves the previous index whole. One update runs at a time (a lock file beside the index)."""

from __future__ import annotations

import fcntl
import json
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np
import orjson
from scipy import sparse

from qa.chunking import CHUNKER_VERSION, Chunk, chunk_documents, unique_ids
from qa.config import Config
from qa.embedding import Embedder
from qa.expansion import THESAURUS, load_thesaurus
from qa.lexical import KEYWORD_VERSION, BM25Index, count_tokens, tokenize
from qa.models import sha256_file
from qa.parsing import CorpusError, corpus_files, read_source, source_name
from qa.store import (
    IndexUnusable,
    Query,
    Ranker,
    Scope,
    documents_of,
    history_rows,
    scope_rows,
    top_rows,
)
from qa.tagging import TAGS, Tags, load_tags, save_tags, tag_chunks

MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
FORMAT = 3


@dataclass
class Index:
    """The embedded store (:class:`qa.store.Store`): chunks in id order, their vectors (FAISS), BM25 and
    matching tags, loaded from the folder ``folder``. A ranker scores every passage at once (one
    matrix-vector product, one pass over the query tokens' postings) and keeps the scores on the query."""

    chunks: list[Chunk]
    dense: faiss.Index
    bm25: BM25Index
    manifest: dict[str, object] = field(default_factory=dict)
    tags: list[Tags] = field(default_factory=list)
    folder: Path | None = None

    def vectors(self) -> np.ndarray:
        """The passage vectors, one row per chunk (a view of the FAISS index's own storage)."""
        n, dim = self.dense.ntotal, self.dense.d
        if n == 0:
            return np.zeros((0, dim), np.float32)
        return faiss.rev_swig_ptr(faiss.downcast_index(self.dense).get_xb(), n * dim).reshape(n, dim)

    @property
    def vocabulary(self) -> Mapping[str, int]:
        return self.bm25.vocabulary

    def term_weights(self, query: str) -> dict[str, float]:
        return self.bm25.term_weights(query)

    @cached_property
    def _chunk_doc(self) -> np.ndarray:
        return documents_of(self.chunks)[1]

    @cached_property
    def _history(self) -> np.ndarray:
        return history_rows(self.chunks)

    def _all(self, ranker: Ranker, query: Query) -> np.ndarray:
        """Every passage's score by ``ranker`` (computed once per query)."""
        key = (id(self), ranker)
        if key not in query.memo:
            query.memo[key] = (
                self.vectors() @ query.vector if ranker == Ranker.DENSE else self.bm25.scores(query.text)
            )
        return query.memo[key]

    def top(self, ranker: Ranker, query: Query, k: int, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(scope_rows(scope, self._chunk_doc, self._history))  # only these are ranked
        scores = self._all(ranker, query)[rows]
        best = top_rows(scores, k)
        return rows[best], scores[best]

    def scores(self, ranker: Ranker, query: Query, rows: np.ndarray) -> np.ndarray:
        return self._all(ranker, query)[rows]

    def is_current(self) -> bool:
        """Whether the folder still holds this index (its files' hashes, as the manifest lists them)."""
        if self.folder is None:
            return True
        manifest = read_manifest(self.folder)
        return manifest is None or manifest.get("files") == self.manifest.get("files")


@dataclass
class Update:
    """What an index update did: files added, removed, changed (or all read again), passages embedded
    and passages whose vectors were reused."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    rebuilt: bool = False

    def __str__(self) -> str:
        files = (
            f"{len(self.added)} files read"
            if self.rebuilt
            else f"+{len(self.added)} files, -{len(self.removed)}, {len(self.changed)} changed"
        )
        return f"{files}; {self.embedded:,} passages embedded, {self.reused:,} reused"


def corpus_state(config: Config) -> dict[str, str]:
    """Each corpus file (by its name under the corpus folder) with its sha256."""
    return {source_name(p, config.corpus_dir): sha256_file(p) for p in corpus_files(config.corpus_dir)}


def index_settings(config: Config, model_id: str) -> dict[str, object]:
    """What an index was built with: a change of any of these means reading everything again."""
    return {
        "format": FORMAT,
        "chunker": CHUNKER_VERSION,
        "keywords": KEYWORD_VERSION,
        "chunk_max_chars": config.chunk_max_chars,
        "chunk_min_chars": config.chunk_min_chars,
        "chunk_overlap_chars": config.chunk_overlap_chars,
        "embed_model": model_id,
    }


def _files_digest(folder: Path) -> dict[str, str]:
    """Hashes of the index files; the tags and the thesaurus are left out: they check themselves against
    the chunks and the vocabulary and are redone without re-embedding the passages (see :mod:`qa.tagging`,
    :mod:`qa.expansion`)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in (MANIFEST, TAGS, THESAURUS):
            out[str(path.relative_to(folder))] = sha256_file(path)
    return out


@dataclass
class _Parts:
    """The index being assembled, in corpus order: each chunk with its previous row (-1 when new)."""

    chunks: list[Chunk] = field(default_factory=list)
    old_rows: list[int] = field(default_factory=list)
    tokens: list[list[str]] = field(default_factory=list)
    """The BM25 tokens of the new chunks, in order."""
    tags: list[Tags] = field(default_factory=list)

    def keep(self, old: Index, rows: list[int]) -> None:
        self.chunks += [old.chunks[i] for i in rows]
        self.old_rows += rows
        self.tags += [old.tags[i] for i in rows]

    def read(self, chunks: list[Chunk]) -> None:
        self.chunks += chunks
        self.old_rows += [-1] * len(chunks)
        self.tokens += [tokenize(c.keyword_text) for c in chunks]
        self.tags += tag_chunks(chunks)  # a document's region is read from its own file's chunks


def update_index(
    config: Config, embedder: Embedder, progress: bool = True, rebuild: bool = False
) -> tuple[Index, Update]:
    """Bring the index in ``config.index_dir`` up to date with the corpus, reading and embedding only
    what changed (everything when ``rebuild`` or when the settings changed)."""
    with _locked(config.index_dir):
        return _update(config, embedder, progress, rebuild)


def _update(config: Config, embedder: Embedder, progress: bool, rebuild: bool) -> tuple[Index, Update]:
    timings: dict[str, float] = {}
    start = t = time.perf_counter()
    files = corpus_state(config)
    old = None if rebuild else previous_index(config.index_dir, embedder.model_id)
    same = old is not None and all(
        old.manifest.get(k) == v for k, v in index_settings(config, embedder.model_id).items()
    )
    before: dict[str, str] = old.manifest.get("corpus", {}) if same else {}  # type: ignore[union-attr,assignment]
    old_problems: dict[str, str] = old.manifest.get("unreadable", {}) if same else {}  # type: ignore[union-attr,assignment]
    rows = _rows_by_source(old.chunks) if same else {}  # type: ignore[union-attr]
    update = Update(removed=sorted(set(before) - set(files)), rebuilt=not same)
    parts, problems = _Parts(), {}
    for path in corpus_files(config.corpus_dir):
        name = source_name(path, config.corpus_dir)
        if before.get(name) == files[name]:
            if name in old_problems:
                problems[name] = old_problems[name]
            else:
                parts.keep(old, rows.get(name, []))  # type: ignore[arg-type]
            continue
        (update.changed if name in before else update.added).append(name)
        try:
            parts.read(read_chunks(path, config, progress))
        except CorpusError as exc:
            problems[name] = str(exc)
    for name, problem in problems.items():
        if name not in old_problems or not same:
            _say(f"skipped {name}: {problem}")
    chunks = unique_ids(parts.chunks)
    timings["read_s"] = time.perf_counter() - t

    t = time.perf_counter()
    vectors = _vectors(parts, old, embedder, update, progress)
    timings["embed_s"] = time.perf_counter() - t
    t = time.perf_counter()
    dense = faiss.IndexFlatIP(embedder.dim)
    dense.add(vectors)
    bm25 = _bm25(parts, old.bm25 if same else None)  # type: ignore[union-attr]
    tags = parts.tags
    timings["index_s"] = time.perf_counter() - t

    t = time.perf_counter()
    target = config.index_dir
    tmp = target.parent / f".{target.name}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with open(tmp / CHUNKS, "wb") as fh:
        fh.writelines(orjson.dumps(vars(c)) + b"\n" for c in chunks)
    faiss.write_index(dense, str(tmp / DENSE))
    bm25.save(tmp / BM25_DIR)
    save_tags(tmp, chunks, tags)
    timings["write_s"] = time.perf_counter() - t
    if config.expand:
        t = time.perf_counter()
        if (target / THESAURUS).is_file():  # its words' vectors are reused
            shutil.copy(target / THESAURUS, tmp / THESAURUS)
        load_thesaurus(tmp / THESAURUS, bm25.vocabulary, embedder)
        timings["thesaurus_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - start
    manifest = {
        **index_settings(config, embedder.model_id),
        "corpus": files,
        "unreadable": problems,
        "documents": len({(c.source_file, c.doc_title, c.part) for c in chunks}),
        "chunks": len(chunks),
        "files": _files_digest(tmp),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "update": {"embedded": update.embedded, "reused": update.reused},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    _swap(tmp, target)
    return Index(chunks, dense, bm25, manifest, tags, target), update


def read_chunks(path: Path, config: Config, progress: bool) -> list[Chunk]:
    """The chunks of one corpus file (raises :class:`CorpusError` when it cannot be read)."""
    docs = read_source(path, config.corpus_dir, config.cache_dir, _say if progress else None)
    return chunk_documents(docs, config.chunk_max_chars, config.chunk_min_chars, config.chunk_overlap_chars)


def previous_index(index_dir: Path, model_id: str) -> Index | None:
    """The index now in ``index_dir`` when it was embedded by ``model_id`` and loads, else None."""
    manifest = read_manifest(index_dir)
    if manifest is None or manifest.get("embed_model") != model_id:
        return None
    try:
        return load_index(index_dir)
    except IndexUnusable:
        return None


def _rows_by_source(chunks: list[Chunk]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        rows.setdefault(c.source_file, []).append(i)
    return rows


def _vectors(
    parts: _Parts, old: Index | None, embedder: Embedder, update: Update, progress: bool
) -> np.ndarray:
    """The vectors of the assembled chunks: kept rows and texts the previous index held are reused, the
    other texts embedded (each distinct text once)."""
    old_vectors = old.vectors() if old is not None else np.zeros((0, embedder.dim), np.float32)
    cache = {c.text: i for i, c in enumerate(old.chunks)} if old is not None else {}
    rows = np.array(parts.old_rows, dtype=np.int64)
    for i in np.flatnonzero(rows < 0):
        rows[i] = cache.get(parts.chunks[i].text, -1)
    missing = np.flatnonzero(rows < 0)
    texts = list(dict.fromkeys(parts.chunks[i].text for i in missing))
    if progress and texts:
        print(f"embedding {len(texts)} passages…", file=sys.stderr)
    fresh = embedder.encode_document(texts, progress=progress)
    where = {text: j for j, text in enumerate(texts)}
    out = np.empty((len(parts.chunks), embedder.dim), np.float32)
    out[rows >= 0] = old_vectors[rows[rows >= 0]]
    for i in missing:
        out[i] = fresh[where[parts.chunks[i].text]]
    update.embedded, update.reused = len(texts), len(parts.chunks) - len(missing)
    return out


def _bm25(parts: _Parts, old: BM25Index | None) -> BM25Index:
    """BM25 over the assembled chunks: the term counts of kept rows as they were, new chunks counted."""
    vocab: list[str] = []
    rows = np.array(parts.old_rows, dtype=np.int64)
    kept = rows >= 0
    blocks = [old.rows(rows[kept], vocab)] if old is not None and kept.any() else []
    blocks.append(count_tokens(parts.tokens, vocab))
    stacked = sparse.vstack([_widen(b, len(vocab)) for b in blocks], format="csr")
    order = (
        np.concatenate([np.flatnonzero(kept), np.flatnonzero(~kept)]) if blocks[:-1] else np.arange(len(rows))
    )
    return BM25Index(stacked[np.argsort(order)], vocab)


def _widen(counts: sparse.csr_matrix, width: int) -> sparse.csr_matrix:
    return sparse.csr_matrix((counts.data, counts.indices, counts.indptr), shape=(counts.shape[0], width))


def build_index(config: Config, embedder: Embedder, progress: bool = True) -> Index:
    """Read, chunk, embed and index the whole corpus anew (nothing is taken from the previous index)."""
    return update_index(config, embedder, progress, rebuild=True)[0]


def _say(message: str) -> None:
    print(message, file=sys.stderr)


@contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Hold the update lock of the index ``target`` (waits for another update to finish)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            _recover(target)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _recover(target: Path) -> None:
    """Put back the previous index when an update was killed between the two renames of :func:`_swap`."""
    old = target.parent / f".{target.name}.old"
    if not (target / MANIFEST).exists() and (old / MANIFEST).exists():
        shutil.rmtree(target, ignore_errors=True)
        old.rename(target)


def _swap(tmp: Path, target: Path) -> None:
    """Replace ``target`` by ``tmp``: a reader sees the old index or the new one, never a mix."""
    old = target.parent / f".{target.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(index_dir: Path) -> dict[str, object] | None:
    try:
        return json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def stale_reason(config: Config, model_id: str) -> str | None:
    """Why the index in ``config.index_dir`` cannot be used as it is, or None when it is current."""
    manifest = read_manifest(config.index_dir)
    if manifest is None:
        return (
            "no index yet" if not config.index_dir.exists() else "the index manifest is missing or unreadable"
        )
    if any(manifest.get(k) != v for k, v in index_settings(config, model_id).items()):
        return "the index was built with other settings or another model"
    if manifest.get("corpus") != corpus_state(config):
        return "the corpus changed since the index was built"
    if manifest.get("files") != _files_digest(config.index_dir):
        return "an index file is damaged or missing"
    return None


def load_index(index_dir: Path) -> Index:
    """Load a built index; raises :class:`IndexUnusable` with a plain message when a file is damaged."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexUnusable(f"no usable index in {index_dir}")
    try:
        with open(index_dir / CHUNKS, "rb") as fh:
            chunks = [Chunk(**orjson.loads(line)) for line in fh]
        dense = faiss.read_index(str(index_dir / DENSE))
        bm25 = BM25Index.load(index_dir / BM25_DIR)
    except Exception as exc:  # any damage to these files means: rebuild
        raise IndexUnusable(f"the index in {index_dir} is damaged ({type(exc).__name__}: {exc})") from exc
    if dense.ntotal != len(chunks) or bm25.size != len(chunks):
        raise IndexUnusable(
            f"the index in {index_dir} is damaged (vectors, BM25 and chunks differ in number)"
        )
    return Index(chunks, dense, bm25, manifest, load_tags(index_dir, chunks), index_dir)


def ensure_index(config: Config, embedder: Embedder, progress: bool = True) -> Index:
    """The current index: loaded when up to date, else updated (only what changed is read and embedded),
    saying why and what changed on stderr."""
    reason = stale_reason(config, embedder.model_id)
    if reason is None:
        try:
            return load_index(config.index_dir)
        except IndexUnusable as exc:
            reason = str(exc)
    print(f"updating the index ({reason})…", file=sys.stderr)
    index, update = update_index(config, embedder, progress=progress)
    print(f"index updated: {update}", file=sys.stderr)
    return index
