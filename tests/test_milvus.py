"""The Milvus store against real Milvus Lite: embedded (a file) and as the gRPC server that Milvus Lite
serves on loopback, reached by URI as a Milvus Standalone would be. The same retrieval as the embedded
store on the same corpus; filters; documents added and removed; two processes on one server; a Milvus
that cannot be reached. The Jiaxing gazette and one regulation, the real embedding model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port

from qa.config import ROOT, Config
from qa.embedding import Embedder
from qa.index import build_index
from qa.pipeline import Pipeline
from qa.retrieval import Filters, Mode, Retriever
from qa.store import IndexUnusable, Query, Ranker, load_store, update_store

pytestmark = pytest.mark.slow

GAZETTE = ROOT / "corpus" / "jx-gazette-2024-03.txt"
LAW = ROOT.parent / "shared" / "corpus-laws" / "地方性法规" / "浙江" / "宁波市学校安全条例(2020-06-05).md"
QUESTIONS = [
    "嘉兴市最低工资标准是多少",
    "非全日制工作的最低小时工资标准",
    "嘉兴市人民政府办公室关于印发的通知是哪天发布的",
    "企业研发投入有什么奖励",
    "本办法自什么时候起施行",
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    config = Config.from_env()
    return Embedder(config.embed_model, config.models_dir)


def _config(tmp_path: Path, uri: str) -> Config:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    shutil.copy(GAZETTE, corpus / GAZETTE.name)
    return Config.from_env(
        corpus_dir=corpus, index_dir=tmp_path / "index", store="milvus", milvus_uri=uri, reload_s=0
    )


def test_milvus_lite_ranks_and_fuses_as_the_embedded_store(tmp_path: Path, embedder: Embedder):
    config = _config(tmp_path, str(tmp_path / "passages.db"))
    _, update = update_store(config, embedder, progress=False)
    milvus = load_store(config)
    embedded = build_index(config, embedder, progress=False)
    assert update.rebuilt and update.added == [GAZETTE.name]
    assert [c.chunk_id for c in milvus.chunks] == [c.chunk_id for c in embedded.chunks]
    assert [t.to_dict() for t in milvus.tags] == [t.to_dict() for t in embedded.tags]

    rows = np.arange(len(embedded.chunks))
    on_milvus, on_embedded = Retriever(milvus, embedder), Retriever(embedded, embedder)
    for question in QUESTIONS:
        query = Query(question, embedder.encode_query([question])[0])
        dense = [store.scores(Ranker.DENSE, query, rows) for store in (milvus, embedded)]
        assert np.allclose(*dense, atol=1e-5), "the same vectors, the same inner products"
        keyword = [store.scores(Ranker.KEYWORD, query, rows) for store in (milvus, embedded)]
        assert np.array_equal(keyword[0] > 0, keyword[1] > 0), "the same tokens match the same passages"
        assert np.corrcoef(*keyword)[0, 1] > 0.95, "BM25 by Milvus's own statistics, close to the embedded"
        for mode in Mode:
            ids = [
                [h.chunk.chunk_id for h in r.search(question, k=5, mode=mode)]
                for r in (on_milvus, on_embedded)
            ]
            assert ids[0][0] == ids[1][0] and len(set(ids[0]) & set(ids[1])) >= 4, (question, mode, ids)

    only = Filters(issuer="嘉兴市人民政府办公室")
    hits = [r.search("最低工资", k=10, filters=only) for r in (on_milvus, on_embedded)]
    assert hits[0] and all("嘉兴市人民政府办公室" in h.chunk.issuer for h in hits[0])
    assert hits[0][0].chunk.chunk_id == hits[1][0].chunk.chunk_id
    assert on_milvus.search("工作", filters=Filters(year=1990)) == []


@pytest.mark.skipif(not LAW.is_file(), reason="../shared/corpus-laws is not beside the project")
def test_a_document_added_through_one_process_is_searched_from_another_on_the_server(
    tmp_path: Path, milvus_server: str
):
    config = _config(tmp_path, milvus_server)
    chat = Pipeline(config, progress=False)  # builds the collection on the server
    question = "学校安全教育周是哪一周"
    assert all(h.chunk.source_file != LAW.name for h in chat.search(question, k=5))
    assert not chat.refresh(), "nothing changed yet"

    env = {
        **os.environ,
        "QA_STORE": "milvus",
        "QA_MILVUS_URI": milvus_server,
        "QA_INDEX_DIR": str(config.index_dir),
    }
    add = subprocess.run(
        [sys.executable, "-m", "qa.cli", "add", str(LAW), "--corpus", str(config.corpus_dir)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert "+1 files, -0, 0 changed" in add.stderr

    assert chat.refresh(), "the other process's update is seen"
    assert chat.search(question, k=1)[0].chunk.source_file == LAW.name
    assert len(chat.index.chunks) == chat.index.manifest["chunks"]

    law = config.corpus_dir / LAW.name  # a changed document: its passages upserted, a dropped one deleted
    before = [c for c in chat.index.chunks if c.source_file == LAW.name]
    text = law.read_text(encoding="utf-8").replace("学校安全教育周", "校园安全宣传周")
    law.write_text(text[: text.index("第四十七条")], encoding="utf-8")  # its last two articles dropped
    _, update = update_store(config, chat.embedder, progress=False)
    store = load_store(config)
    after = [c for c in store.chunks if c.source_file == LAW.name]
    assert update.changed == [LAW.name] and 0 < update.embedded < len(after), "only the changed passages"
    assert len(after) < len(before) and not any("第四十八条" in c.clause_path for c in after)
    assert not any("学校安全教育周" in c.text for c in store.chunks)
    assert store.manifest["chunks"] == len(store.chunks)
    assert chat.refresh()
    assert "校园安全宣传周" in chat.search("校园安全宣传周是哪一周", k=1)[0].chunk.text

    law.unlink()
    _, update = update_store(config, chat.embedder, progress=False)
    store = load_store(config)
    assert update.removed == [LAW.name] and update.embedded == 0
    assert all(c.source_file != LAW.name for c in store.chunks)
    assert chat.refresh()
    for mode in (Mode.DENSE, Mode.BM25, Mode.HYBRID):
        assert all(h.chunk.source_file != LAW.name for h in chat.search(question, k=20, mode=mode))


def test_a_milvus_that_cannot_be_reached_is_a_clear_message_and_the_embedded_store_still_works(
    tmp_path: Path, embedder: Embedder
):
    down = _config(tmp_path, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(IndexUnusable, match=r"Milvus at http://127\.0\.0\.1:\d+ .*embedded store"):
        Pipeline(down, progress=False)
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "search", "最低工资", "--corpus", str(down.corpus_dir),
         "--index-dir", str(down.index_dir), "--store", "milvus", "--milvus-uri", down.milvus_uri],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 1 and result.stderr.startswith("错误：Milvus at ")
    assert "Traceback" not in result.stderr

    lite = _config(tmp_path, str(tmp_path / "passages.db"))
    holder = Pipeline(lite, progress=False)  # a Milvus Lite file is opened by one process at a time
    other = subprocess.run(
        [sys.executable, "-m", "qa.cli", "search", "最低工资", "--corpus", str(lite.corpus_dir),
         "--index-dir", str(lite.index_dir), "--store", "milvus", "--milvus-uri", lite.milvus_uri],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert (
        other.returncode == 1
        and "only one process at a time" in other.stderr
        and "milvus_lite server" in other.stderr
    )
    assert "Traceback" not in other.stderr
    assert holder.search("嘉兴市最低工资标准", k=1)[0].chunk.source_file == GAZETTE.name

    embedded = Pipeline(Config.from_env(corpus_dir=down.corpus_dir, index_dir=down.index_dir), progress=False)
    assert embedded.search("嘉兴市最低工资标准", k=1)[0].chunk.source_file == GAZETTE.name
