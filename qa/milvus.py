"""The Milvus store: the index in one Milvus collection, for Milvus Lite (a local file, embedded) or a
Milvus server (Standalone or cluster) reached by URI with the same client code (pymilvus).

Each passage is a row: its chunk id, text and metadata (source file, document, 发文字号, issuer, year,
clause path, validity dates), matching tags, its vector (inner product, exact FLAT index) and its
keywords: the same jieba tokens the embedded store counts, each written as the hex of its UTF-8 so that
Milvus's ``standard`` analyzer keeps it as one term, scored by Milvus's own BM25 full-text search with
the embedded store's k1 and b. Filters and the document scopes of retrieval are Milvus expressions on
a document key. A second collection (``<name>_meta``) holds the manifest: settings, the corpus files
and their hashes, and a generation that changes with every update, so that every process pointed at the
same Milvus sees an update and serves it. An update upserts the passages of new and changed files and
deletes those of removed files (and those a changed file no longer has)."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunking import HISTORY_PATH, Chunk, unique_ids
from qa.config import Config
from qa.embedding import Embedder
from qa.index import Update, corpus_state, index_settings, previous_index, read_chunks
from qa.lexical import K1, B, tokenize
from qa.parsing import CorpusError, corpus_files, source_name
from qa.store import IndexUnusable, Query, Ranker, Scope, doc_id, doc_key, documents_of
from qa.tagging import TAGGER_VERSION, Tags, tag_chunks

MILVUS_FORMAT = 1
"""Bump when the collection's fields change, so that existing collections are rebuilt."""
_BATCH = 1000
"""Rows a request inserts, reads or scores at most."""
_TEXT_MAX = 65535
"""The longest VARCHAR Milvus stores."""
_DENSE, _SPARSE = "vector", "keywords_bm25"


def milvus_uri(config: Config) -> str:
    """The configured Milvus: ``milvus_uri``, or a Milvus Lite file beside the index folder."""
    return config.milvus_uri or str(config.index_dir.with_name(config.index_dir.name + ".milvus.db"))


def _keywords(text: str) -> str:
    """The jieba tokens of ``text`` (:func:`qa.lexical.tokenize`), each as the hex of its UTF-8."""
    return " ".join(t.encode().hex() for t in tokenize(text))


def _string(value: str | list[str]) -> str:
    """A string, or a list of strings, as a Milvus expression literal."""
    return json.dumps(value, ensure_ascii=False)


@contextmanager
def _reaching(uri: str) -> Iterator[None]:
    """Turn Milvus's errors into :class:`IndexUnusable` with what to do."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise IndexUnusable(
            f"Milvus at {uri} failed ({exc.message}); check that it runs and is reachable, "
            "or use the embedded store (--store embedded)"
        ) from exc


def _connect(config: Config) -> Any:
    """A pymilvus client of the configured Milvus (raises :class:`IndexUnusable` when unreachable)."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    # Milvus Lite lacks the call a query iterator makes first (AllocTimestamp): its in-process gRPC server
    # logs the refusal with a traceback and pymilvus warns that it falls back, on every read of the index
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
    logging.getLogger("milvus_lite.server_manager").setLevel(logging.CRITICAL)  # our messages say it
    logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
    uri = milvus_uri(config)
    if "://" not in uri:  # Milvus Lite: a file, made in a folder that exists
        Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, object] = {"uri": uri, "timeout": 10}
    if config.milvus_token:
        kwargs["token"] = config.milvus_token
    if config.milvus_db:
        kwargs["db_name"] = config.milvus_db
    if "://" in uri:
        with _reaching(uri):
            return MilvusClient(**kwargs)
    try:
        return MilvusClient(**kwargs)
    except MilvusException as exc:  # mostly: the file is open in another process
        raise IndexUnusable(
            f"the Milvus Lite file {uri} cannot be opened ({exc.message}); only one process at a time "
            "opens it (is the chat running?): stop that process, or serve the file to all of them with "
            "`python -m milvus_lite server --data-dir DIR` and QA_MILVUS_URI=http://127.0.0.1:19530"
        ) from exc


@dataclass
class MilvusStore:
    """The Milvus store (:class:`qa.store.Store`): the passages' text, metadata and tags are loaded into
    the process; vectors and keywords are ranked by Milvus.

    Args:
        client: a pymilvus client.
        collection: the passages' collection.
        chunks: every passage, in corpus order.
        tags: their matching tags.
        manifest: the manifest the collection was loaded with.
        tokens: each passage's keyword tokens (for the vocabulary and IDF of :meth:`term_weights`).
        uri: where the Milvus is (for messages).
    """

    client: Any
    collection: str
    chunks: list[Chunk]
    tags: list[Tags]
    manifest: dict[str, object]
    tokens: list[list[str]] = field(repr=False, default_factory=list)
    uri: str = ""

    def __post_init__(self) -> None:
        self._row = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        self._doc_ids = [doc_id(k) for k in documents_of(self.chunks)[0]]
        self._df = Counter(t for tokens in self.tokens for t in set(tokens))

    @property
    def vocabulary(self) -> Mapping[str, int]:
        return self._df

    def term_weights(self, query: str) -> dict[str, float]:
        n = len(self.chunks)
        return {t: float(np.log(n / self._df[t])) for t in set(tokenize(query)) if t in self._df}

    def _filter(self, scope: Scope) -> str:
        """``scope`` as a Milvus expression ("" for every passage)."""
        parts = []
        if scope.documents is not None:
            inside = np.flatnonzero(scope.documents)
            if len(inside) <= len(scope.documents) // 2:
                parts.append(f"doc in {_string([self._doc_ids[i] for i in inside])}")
            elif len(inside) < len(scope.documents):
                outside = np.flatnonzero(~scope.documents)
                parts.append(f"doc not in {_string([self._doc_ids[i] for i in outside])}")
        if not scope.with_history:
            parts.append("history == false")
        return " and ".join(parts)

    def _search(self, ranker: Ranker, query: Query, k: int, expr: str) -> tuple[np.ndarray, np.ndarray]:
        if ranker == Ranker.DENSE:
            data, field_, metric = [np.asarray(query.vector, np.float32).tolist()], _DENSE, "IP"
        else:
            keywords = _keywords(query.text)
            if not keywords:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            data, field_, metric = [keywords], _SPARSE, "BM25"
        with _reaching(self.uri):
            found = self.client.search(
                self.collection,
                data=data,
                anns_field=field_,
                limit=k,
                filter=expr,
                output_fields=[],
                search_params={"metric_type": metric},
            )[0]
        rows = np.array([self._row[h["id"]] for h in found if h["id"] in self._row], dtype=np.int64)
        scores = np.array([h["distance"] for h in found if h["id"] in self._row], dtype=np.float32)
        if ranker == Ranker.KEYWORD:
            # Milvus Lite gives BM25 as a negative distance, times the k1 + 1 that the embedded one leaves out
            scores = np.abs(scores) / (K1 + 1)
        return rows, scores

    def top(self, ranker: Ranker, query: Query, k: int, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        if scope.documents is not None and not scope.documents.any():
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self._search(ranker, query, k, self._filter(scope))

    def scores(self, ranker: Ranker, query: Query, rows: np.ndarray) -> np.ndarray:
        out = np.zeros(len(rows), np.float32)
        where = {int(r): i for i, r in enumerate(rows)}
        for start in range(0, len(rows), _BATCH):
            batch = [self.chunks[int(r)].chunk_id for r in rows[start : start + _BATCH]]
            found, scores = self._search(ranker, query, len(batch), f"id in {_string(batch)}")
            out[[where[int(r)] for r in found]] = scores
        return out

    def is_current(self) -> bool:
        """Whether the collection is still at the generation this store loaded (no update since)."""
        manifest = _read_manifest(self.client, self.collection, self.uri)
        return manifest is None or manifest.get("generation") == self.manifest.get("generation")


def _meta(collection: str) -> str:
    return f"{collection}_meta"


def read_milvus_manifest(config: Config) -> dict[str, object] | None:
    """The manifest of the configured collection (None when there is none yet)."""
    return _read_manifest(_connect(config), config.milvus_collection, milvus_uri(config))


def _read_manifest(client: Any, collection: str, uri: str) -> dict[str, object] | None:
    with _reaching(uri):
        if not client.has_collection(_meta(collection)) or not client.has_collection(collection):
            return None
        _load(client, _meta(collection))
        rows = client.query(_meta(collection), filter='key == "manifest"', output_fields=["value"])
    return rows[0]["value"] if rows else None


def _load(client: Any, name: str) -> None:
    """Load a collection into memory for search and query when it is not (a client that opens an
    existing collection finds it released)."""
    from pymilvus.client.types import LoadState

    if client.get_load_state(name)["state"] != LoadState.Loaded:
        client.load_collection(name)


def _write_manifest(client: Any, collection: str, manifest: dict[str, object]) -> None:
    client.upsert(_meta(collection), [{"key": "manifest", "value": manifest, "unused": [0.0, 0.0]}])


def _create(client: Any, collection: str, dim: int) -> None:
    """The passages' collection and the manifest's, anew."""
    from pymilvus import DataType, Function, FunctionType

    for name in (collection, _meta(collection)):
        if client.has_collection(name):
            client.drop_collection(name)
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=2048)
    schema.add_field("doc", DataType.VARCHAR, max_length=32)
    for name in ("source_file", "doc_title", "doc_number", "issuer", "clause_path"):
        schema.add_field(name, DataType.VARCHAR, max_length=_TEXT_MAX)
    schema.add_field("year", DataType.INT64)
    for name in ("effective_date", "valid_until"):
        schema.add_field(name, DataType.VARCHAR, max_length=16)
    schema.add_field("position", DataType.INT64)
    schema.add_field("history", DataType.BOOL)
    schema.add_field("chunk", DataType.JSON)
    schema.add_field("tags", DataType.JSON)
    schema.add_field(
        "keywords",
        DataType.VARCHAR,
        max_length=_TEXT_MAX,
        enable_analyzer=True,
        analyzer_params={"tokenizer": "standard"},
    )
    schema.add_field(_SPARSE, DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field(_DENSE, DataType.FLOAT_VECTOR, dim=dim)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["keywords"],
            output_field_names=[_SPARSE],
        )
    )
    params = client.prepare_index_params()
    params.add_index(_DENSE, index_type="FLAT", metric_type="IP")
    params.add_index(
        _SPARSE, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": K1, "bm25_b": B}
    )
    client.create_collection(collection, schema=schema, index_params=params, consistency_level="Strong")
    meta = client.create_schema(auto_id=False)
    meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    meta.add_field("value", DataType.JSON)
    meta.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in a collection
    meta_params = client.prepare_index_params()
    meta_params.add_index("unused", index_type="FLAT", metric_type="L2")
    client.create_collection(
        _meta(collection), schema=meta, index_params=meta_params, consistency_level="Strong"
    )


def _row(chunk: Chunk, tags: Tags, vector: np.ndarray, position: int) -> dict[str, object]:
    keywords = _keywords(chunk.keyword_text)
    if len(keywords) > _TEXT_MAX:  # only a passage of thousands of characters: its first terms
        keywords = keywords[: keywords.rfind(" ", 0, _TEXT_MAX)]
    return {
        "id": chunk.chunk_id,
        "doc": doc_id(doc_key(chunk)),
        "source_file": chunk.source_file,
        "doc_title": chunk.doc_title,
        "doc_number": chunk.doc_number,
        "issuer": chunk.issuer,
        "clause_path": chunk.clause_path,
        "year": int(chunk.date[:4]) if chunk.date[:4].isdigit() else 0,
        "effective_date": chunk.effective_date,
        "valid_until": chunk.valid_until,
        "position": position,
        "history": chunk.clause_path == HISTORY_PATH,
        "chunk": vars(chunk),
        "tags": tags.to_dict(),
        "keywords": keywords,
        _DENSE: vector.tolist(),
    }


def _kept_vectors(client: Any, collection: str, sources: list[str]) -> dict[str, np.ndarray]:
    """The vectors the collection holds for the passages of ``sources``, by text."""
    out: dict[str, np.ndarray] = {}
    for source in sources:
        rows = client.query(
            collection, filter=f"source_file == {_string(source)}", output_fields=["chunk", _DENSE]
        )
        out.update((r["chunk"]["text"], np.asarray(r[_DENSE], np.float32)) for r in rows)
    return out


def _vectors(
    chunks: list[Chunk], kept: dict[str, np.ndarray], config: Config, embedder: Embedder, progress: bool
) -> tuple[np.ndarray, int]:
    """The vectors of ``chunks``: those whose text is ``kept`` (the previous version of a changed file) or
    held by the embedded index in ``config.index_dir`` (same model) are reused, the others embedded; also
    how many texts were embedded."""
    cached = previous_index(config.index_dir, embedder.model_id)
    if cached is not None:
        vectors = cached.vectors()
        kept = {**{c.text: vectors[i] for i, c in enumerate(cached.chunks)}, **kept}
    texts = list(dict.fromkeys(c.text for c in chunks if c.text not in kept))
    if progress and texts:
        print(f"embedding {len(texts)} passages…", file=sys.stderr)
    fresh = embedder.encode_document(texts, progress=progress)
    where = {t: j for j, t in enumerate(texts)}
    out = np.empty((len(chunks), embedder.dim), np.float32)
    for i, c in enumerate(chunks):
        out[i] = fresh[where[c.text]] if c.text in where else kept[c.text]
    return out, len(texts)


def update_milvus(
    config: Config, embedder: Embedder, progress: bool = True, rebuild: bool = False
) -> tuple[dict[str, object], Update]:
    """Bring the collection up to date with the corpus: the passages of new and changed files are
    upserted, those of removed files and those a changed file no longer has deleted (everything anew
    when ``rebuild`` or when the settings changed). A passage text that the changed file held before, or
    that the embedded index holds, is not embedded again."""
    uri = milvus_uri(config)
    client = _connect(config)
    name = config.milvus_collection
    settings = {**index_settings(config, embedder.model_id), "format": MILVUS_FORMAT}
    start = time.perf_counter()
    timings: dict[str, float] = {}
    with _reaching(uri):
        old = None if rebuild else _read_manifest(client, name, uri)
        same = old is not None and all(old.get(k) == v for k, v in settings.items())
        if not same:
            _create(client, name, embedder.dim)
        before: dict[str, str] = old.get("corpus", {}) if same else {}  # type: ignore[union-attr,assignment]
        old_problems: dict[str, str] = old.get("unreadable", {}) if same else {}  # type: ignore[union-attr,assignment]
        documents: dict[str, int] = dict(old.get("file_documents", {})) if same else {}  # type: ignore[union-attr,arg-type]
        files = corpus_state(config)
        update = Update(removed=sorted(set(before) - set(files)), rebuilt=not same)
        chunks: list[Chunk] = []
        problems: dict[str, str] = {}
        for path in corpus_files(config.corpus_dir):
            source = source_name(path, config.corpus_dir)
            if before.get(source) == files[source]:
                if source in old_problems:
                    problems[source] = old_problems[source]
                continue
            (update.changed if source in before else update.added).append(source)
            try:
                chunks += unique_ids(read_chunks(path, config, progress))
            except CorpusError as exc:
                problems[source] = str(exc)
                print(f"skipped {source}: {exc}", file=sys.stderr)
        for source in update.removed + update.changed:
            documents.pop(source, None)
        for key in documents_of(chunks)[0]:
            documents[key[0]] = documents.get(key[0], 0) + 1
        timings["read_s"] = time.perf_counter() - start
        t = time.perf_counter()
        kept = _kept_vectors(client, name, update.changed)
        vectors, update.embedded = _vectors(chunks, kept, config, embedder, progress)
        timings["embed_s"] = time.perf_counter() - t
        t = time.perf_counter()
        update.reused = len(chunks) - update.embedded
        tags = tag_chunks(chunks)
        position = Counter[str]()
        rows = []
        for chunk, tag, vector in zip(chunks, tags, vectors, strict=True):
            rows.append(_row(chunk, tag, vector, position[chunk.source_file]))
            position[chunk.source_file] += 1
        timings["index_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(0, len(rows), _BATCH):  # a changed file's passages are replaced, never missing
            client.upsert(name, rows[i : i + _BATCH])
        for i in range(0, len(update.removed), _BATCH):
            client.delete(name, filter=f"source_file in {_string(update.removed[i : i + _BATCH])}")
        now: dict[str, list[str]] = {source: [] for source in update.changed}
        for chunk in chunks:
            if chunk.source_file in now:
                now[chunk.source_file].append(chunk.chunk_id)
        for source, ids in now.items():  # the passages a changed file no longer has
            client.delete(name, filter=f"source_file == {_string(source)} and id not in {_string(ids)}")
        client.flush(name)
        count = client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"]
        timings["write_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - start
        manifest = {
            **settings,
            "tagger": TAGGER_VERSION,
            "corpus": files,
            "unreadable": problems,
            "documents": sum(documents.values()),
            "file_documents": documents,
            "chunks": count,
            "generation": uuid.uuid4().hex,
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "update": {"embedded": update.embedded, "reused": update.reused},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        _write_manifest(client, name, manifest)
    return manifest, update


def load_milvus(config: Config, client: Any = None) -> MilvusStore:
    """The collection as it is: every passage's text, metadata and tags read into the process."""
    uri = milvus_uri(config)
    client = client or _connect(config)
    name = config.milvus_collection
    manifest = _read_manifest(client, name, uri)
    if manifest is None:
        raise IndexUnusable(f"no index in Milvus at {uri} yet: build it with `qa index --store milvus`")
    records: list[tuple[str, int, Chunk, dict, list[str]]] = []
    with _reaching(uri):
        _load(client, name)
        found = client.query_iterator(
            name, batch_size=_BATCH, filter="", output_fields=["chunk", "tags", "keywords", "position"]
        )
        while batch := found.next():
            for r in batch:
                chunk = Chunk(**r["chunk"])
                tokens = [bytes.fromhex(t).decode() for t in r["keywords"].split()]
                records.append((chunk.source_file, r["position"], chunk, r["tags"], tokens))
        found.close()
    records.sort(key=lambda r: (r[0], r[1]))  # corpus order: by file, then as the file reads
    chunks = [r[2] for r in records]
    # tagged by another version: tagged again here (`qa index --store milvus` stores them)
    tags = [Tags(**r[3]) for r in records] if manifest.get("tagger") == TAGGER_VERSION else tag_chunks(chunks)
    return MilvusStore(client, name, chunks, tags, manifest, [r[4] for r in records], uri)


def ensure_milvus(config: Config, embedder: Embedder, progress: bool = True) -> MilvusStore:
    """The collection: built from the corpus when it does not exist or was built with other settings,
    else served as it is (with Milvus the collection, shared by every process, is the index of record:
    ``qa index``, ``qa add`` and ``qa remove`` change it; the chat does not)."""
    client = _connect(config)
    uri = milvus_uri(config)
    manifest = _read_manifest(client, config.milvus_collection, uri)
    settings = {**index_settings(config, embedder.model_id), "format": MILVUS_FORMAT}
    if manifest is None or any(manifest.get(k) != v for k, v in settings.items()):
        reason = "no index yet" if manifest is None else "built with other settings or another model"
        print(f"building the index in Milvus at {uri} ({reason})…", file=sys.stderr)
        _, update = update_milvus(config, embedder, progress)
        print(f"index updated: {update}", file=sys.stderr)
        return load_milvus(config, client)
    store = load_milvus(config, client)
    if manifest.get("corpus") != corpus_state(config):
        print(
            f"note: the corpus folder differs from the index in Milvus at {uri}; `qa index --store milvus` "
            "brings the index up to date with it",
            file=sys.stderr,
        )
    return store
