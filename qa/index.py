"""The index store: chunks, a FAISS inner-product index over normalised vectors, a BM25 index, and a
manifest that says what they were built from. Built atomically; checked on load."""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import faiss

from qa.chunking import CHUNKER_VERSION, Chunk, chunk_documents
from qa.config import Config
from qa.embedding import Embedder
from qa.lexical import KEYWORD_VERSION, BM25Index
from qa.models import sha256_file
from qa.parsing import corpus_files, read_corpus, source_name
from qa.tagging import TAGS, Tags, load_tags, save_tags, tag_chunks

MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
FORMAT = 2


class IndexUnusable(RuntimeError):
    """The index is missing, stale or damaged (the message says which, and what happens next)."""


@dataclass
class Index:
    """A loaded index: chunks in id order, their vectors (FAISS), BM25 and matching tags."""

    chunks: list[Chunk]
    dense: faiss.Index
    bm25: BM25Index
    manifest: dict[str, object] = field(default_factory=dict)
    tags: list[Tags] = field(default_factory=list)


def _corpus_state(config: Config) -> dict[str, str]:
    return {source_name(p, config.corpus_dir): sha256_file(p) for p in corpus_files(config.corpus_dir)}


def _settings(config: Config, model_id: str) -> dict[str, object]:
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
    """Hashes of the index files; the tags file is left out: it checks itself against the chunks and
    is redone without re-embedding when the tagger changes (see :mod:`qa.tagging`)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in (MANIFEST, TAGS):
            out[str(path.relative_to(folder))] = sha256_file(path)
    return out


def build_index(config: Config, embedder: Embedder, progress: bool = True) -> Index:
    """Parse, chunk, embed and index the corpus into ``config.index_dir`` (atomically)."""
    timings: dict[str, float] = {}
    start = t = time.perf_counter()
    files = _corpus_state(config)
    corpus = read_corpus(config.corpus_dir, config.cache_dir, _say if progress else None)
    for name, problem in corpus.problems.items():
        _say(f"skipped {name}: {problem}")
    docs = corpus.documents
    timings["parse_s"] = time.perf_counter() - t
    t = time.perf_counter()
    chunks = chunk_documents(docs, config.chunk_max_chars, config.chunk_min_chars, config.chunk_overlap_chars)
    timings["chunk_s"] = time.perf_counter() - t
    t = time.perf_counter()
    if progress:
        print(f"embedding {len(chunks)} passages from {len(docs)} documents…", file=sys.stderr)
    vectors = embedder.encode_document([c.text for c in chunks], progress=progress)
    timings["embed_s"] = time.perf_counter() - t
    t = time.perf_counter()
    dense = faiss.IndexFlatIP(vectors.shape[1])
    dense.add(vectors)
    bm25 = BM25Index.build([c.keyword_text for c in chunks])
    tags = tag_chunks(chunks)
    timings["index_s"] = time.perf_counter() - t

    target = config.index_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with open(tmp / CHUNKS, "w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
    faiss.write_index(dense, str(tmp / DENSE))
    bm25.save(tmp / BM25_DIR)
    save_tags(tmp, chunks, tags)
    timings["total_s"] = time.perf_counter() - start
    manifest = {
        **_settings(config, embedder.model_id),
        "corpus": files,
        "unreadable": corpus.problems,
        "documents": len(docs),
        "chunks": len(chunks),
        "files": _files_digest(tmp),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    _swap(tmp, target)
    return Index(chunks, dense, bm25, manifest, tags)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


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
    if any(manifest.get(k) != v for k, v in _settings(config, model_id).items()):
        return "the index was built with other settings or another model"
    if manifest.get("corpus") != _corpus_state(config):
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
        with open(index_dir / CHUNKS, encoding="utf-8") as fh:
            chunks = [Chunk(**json.loads(line)) for line in fh]
        dense = faiss.read_index(str(index_dir / DENSE))
        bm25 = BM25Index.load(index_dir / BM25_DIR)
    except Exception as exc:  # any damage to these files means: rebuild
        raise IndexUnusable(f"the index in {index_dir} is damaged ({type(exc).__name__}: {exc})") from exc
    if dense.ntotal != len(chunks):
        raise IndexUnusable(f"the index in {index_dir} is damaged (vectors and chunks differ in number)")
    return Index(chunks, dense, bm25, manifest, load_tags(index_dir, chunks))


def ensure_index(config: Config, embedder: Embedder, progress: bool = True) -> Index:
    """The current index: loaded when up to date, else (re)built, saying why on stderr."""
    reason = stale_reason(config, embedder.model_id)
    if reason is None:
        try:
            return load_index(config.index_dir)
        except IndexUnusable as exc:
            reason = str(exc)
    print(f"building the index ({reason})…", file=sys.stderr)
    return build_index(config, embedder, progress=progress)
