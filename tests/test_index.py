"""The index store: manifest-driven rebuilds, damaged files, atomic builds. On a one-file corpus
(the Jiaxing gazette) to keep builds short; the real embedding model."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa.cli import main
from qa.config import ROOT, Config
from qa.embedding import Embedder
from qa.index import DENSE, MANIFEST, Index, build_index, ensure_index, load_index, stale_reason, update_index
from qa.retrieval import Mode, Retriever

SOURCE = ROOT / "corpus" / "jx-gazette-2024-03.txt"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    config = Config.from_env()
    return Embedder(config.embed_model, config.models_dir)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SOURCE, corpus / SOURCE.name)
    return Config.from_env(corpus_dir=corpus, index_dir=tmp_path / "index")


def test_build_then_current_then_stale_after_corpus_change(config: Config, embedder: Embedder):
    assert stale_reason(config, embedder.model_id) == "no index yet"
    built = build_index(config, embedder, progress=False)
    assert stale_reason(config, embedder.model_id) is None
    assert built.manifest["corpus"] == {SOURCE.name: built.manifest["corpus"][SOURCE.name]}
    assert built.dense.ntotal == len(built.chunks) == built.manifest["chunks"]

    path = config.corpus_dir / SOURCE.name
    path.write_text(path.read_text(encoding="utf-8") + "\n本通知自2025年1月1日起施行。\n", encoding="utf-8")
    assert stale_reason(config, embedder.model_id) == "the corpus changed since the index was built"
    rebuilt = ensure_index(config, embedder, progress=False)
    assert stale_reason(config, embedder.model_id) is None
    assert rebuilt.manifest["corpus"] != built.manifest["corpus"]


def test_settings_change_triggers_rebuild(config: Config, embedder: Embedder):
    build_index(config, embedder, progress=False)
    other = Config.from_env(corpus_dir=config.corpus_dir, index_dir=config.index_dir, chunk_max_chars=200)
    assert (
        stale_reason(other, embedder.model_id) == "the index was built with other settings or another model"
    )


def test_damaged_index_file_is_reported_and_rebuilt(config: Config, embedder: Embedder, capsys):
    build_index(config, embedder, progress=False)
    (config.index_dir / DENSE).write_bytes(b"not a faiss index")
    assert stale_reason(config, embedder.model_id) == "an index file is damaged or missing"
    index = ensure_index(config, embedder, progress=False)
    assert "damaged" in capsys.readouterr().err
    assert index.dense.ntotal == len(index.chunks)
    assert load_index(config.index_dir).dense.ntotal == len(index.chunks)


def test_cli_rebuilds_a_damaged_index_without_traceback(config: Config, embedder: Embedder, capsys):
    build_index(config, embedder, progress=False)
    (config.index_dir / MANIFEST).write_text("{ truncated", encoding="utf-8")
    args = [
        "search",
        "最低工资",
        "--k",
        "1",
        "--corpus",
        str(config.corpus_dir),
        "--index-dir",
        str(config.index_dir),
    ]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "manifest is missing or unreadable" in captured.err and "Traceback" not in captured.err
    assert "嘉政发〔2024〕9号" in captured.out


def test_interrupted_build_leaves_the_old_index_usable(config: Config, embedder: Embedder):
    first = build_index(config, embedder, progress=False)
    # a build that died before its final swap leaves only its temporary folder behind
    leftover = config.index_dir.parent / f".{config.index_dir.name}.building"
    leftover.mkdir()
    (leftover / "chunks.jsonl").write_text("partial", encoding="utf-8")
    assert stale_reason(config, embedder.model_id) is None
    assert len(load_index(config.index_dir).chunks) == len(first.chunks)


def test_missing_corpus_gives_a_clear_error(tmp_path: Path, capsys):
    assert main(["index", "--corpus", str(tmp_path / "nowhere"), "--index-dir", str(tmp_path / "i")]) == 1
    assert "corpus folder not found" in capsys.readouterr().err


LAW = ROOT.parent / "shared" / "corpus-laws" / "地方性法规" / "浙江" / "宁波市学校安全条例(2020-06-05).md"
BAD_FILES = {
    "坏文件/旧格式.doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),  # an OLE (Word 97) header
    "坏文件/二进制.txt": bytes(range(256)) * 4,
    "坏文件/空白.txt": b"",
    "坏文件/损坏.docx": b"PK\x03\x04 not really a zip archive",
}


@pytest.mark.skipif(not LAW.is_file(), reason="../shared/corpus-laws is not beside the project")
def test_a_corpus_of_sub_folders_and_unreadable_files(tmp_path: Path, capsys):
    """Documents in sub-folders with Chinese names are indexed under their paths; each file that cannot
    be read is named with what to do, and everything else is indexed all the same."""
    corpus = tmp_path / "公文"
    (corpus / "法规").mkdir(parents=True)
    shutil.copy(LAW, corpus / "法规" / "宁波市学校安全条例.md")
    shutil.copy(SOURCE, corpus / "公报.txt")
    for name, content in BAD_FILES.items():
        (corpus / name).parent.mkdir(exist_ok=True)
        (corpus / name).write_bytes(content)
    args = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index")]
    assert main(["index", *args]) == 0
    err = capsys.readouterr().err
    for name in BAD_FILES:
        line = next(ln for ln in err.splitlines() if ln.startswith(f"not indexed: {name}: "))
        assert name in line.split(": ", 2)[2], "the message names the file"
    assert "save it as .docx" in err and "Traceback" not in err

    assert main(["search", "学校安全教育周是哪一周", "--k", "1", "--json", *args]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert hit["source_file"] == "法规/宁波市学校安全条例.md"
    assert (hit["doc_title"], hit["clause_path"]) == ("宁波市学校安全条例", "第二章 安全管理 > 第九条")
    assert main(["search", "嘉兴最低工资", "--k", "1", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["source_file"] == "公报.txt"


# ---------------------------------------------------------------- incremental updates (qa add / remove)


def _args(config: Config) -> list[str]:
    return ["--corpus", str(config.corpus_dir), "--index-dir", str(config.index_dir)]


def _updated(err: str) -> tuple[int, int]:
    """The passages embedded and reused, from the ``index updated: …`` line."""
    line = next(ln for ln in err.splitlines() if ln.startswith("index updated: "))
    embedded, reused = (
        int(n.replace(",", "")) for n in re.findall(r"([\d,]+) (?:passages embedded|reused)", line)
    )
    return embedded, reused


def _from(index: Index, source: str) -> int:
    return sum(c.source_file == source for c in index.chunks)


@pytest.mark.skipif(not LAW.is_file(), reason="../shared/corpus-laws is not beside the project")
def test_add_embeds_only_the_new_file_and_remove_takes_it_out_of_both_rankers(
    config: Config, embedder: Embedder, capsys
):
    first = build_index(config, embedder, progress=False)
    assert main(["add", str(LAW), "--into", "法规", *_args(config)]) == 0
    err = capsys.readouterr().err
    added = load_index(config.index_dir)
    law = "法规/" + LAW.name
    assert f"{law}: added" in err and "+1 files, -0, 0 changed" in err
    assert _updated(err) == (_from(added, law), len(first.chunks)), "only the new file's passages embedded"
    assert added.bm25.size == added.dense.ntotal == len(added.chunks) == len(first.chunks) + _from(added, law)

    retriever = Retriever(added, embedder)
    question = "学校安全教育周是哪一周"
    for mode in (Mode.DENSE, Mode.BM25, Mode.HYBRID):
        assert retriever.search(question, k=1, mode=mode)[0].chunk.source_file == law

    assert main(["remove", LAW.name, *_args(config)]) == 0
    err = capsys.readouterr().err
    assert (
        f"{law}: removed" in err
        and "+0 files, -1, 0 changed" in err
        and _updated(err) == (0, len(first.chunks))
    )
    removed = load_index(config.index_dir)
    assert not (config.corpus_dir / law).exists()
    retriever = Retriever(removed, embedder)
    for mode in (Mode.DENSE, Mode.BM25):
        assert all(
            h.chunk.source_file != law for h in retriever.search(question, k=len(removed.chunks), mode=mode)
        )
    assert "学校安全教育周" not in removed.bm25.vocabulary
    assert [c.chunk_id for c in removed.chunks] == [c.chunk_id for c in first.chunks]


@pytest.mark.skipif(not LAW.is_file(), reason="../shared/corpus-laws is not beside the project")
def test_an_updated_index_equals_a_full_build(config: Config, embedder: Embedder, tmp_path: Path):
    build_index(config, embedder, progress=False)
    shutil.copy(LAW, config.corpus_dir / LAW.name)
    path = config.corpus_dir / SOURCE.name
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("结合我市实际", "结合本市实际", 1), encoding="utf-8")
    updated, update = update_index(config, embedder, progress=False)
    assert (update.added, update.changed, update.removed) == ([LAW.name], [SOURCE.name], [])
    full = build_index(
        Config.from_env(corpus_dir=config.corpus_dir, index_dir=tmp_path / "full"), embedder, False
    )
    assert [vars(c) for c in updated.chunks] == [vars(c) for c in full.chunks]
    assert np.allclose(updated.vectors(), full.vectors(), atol=1e-5)
    assert updated.tags == full.tags
    for question in ("嘉兴最低工资标准是多少", "学校安全教育周", "违反本条例规定的处罚"):
        assert np.allclose(updated.bm25.scores(question), full.bm25.scores(question), atol=1e-5)


def test_a_changed_file_re_embeds_only_its_changed_passages(config: Config, embedder: Embedder):
    first = build_index(config, embedder, progress=False)
    path = config.corpus_dir / SOURCE.name
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("结合我市实际", "结合本市实际", 1), encoding="utf-8")
    index, update = update_index(config, embedder, progress=False)
    assert update.changed == [SOURCE.name] and 1 <= update.embedded <= 3
    assert update.embedded + update.reused == len(index.chunks)
    assert len(index.chunks) == len(first.chunks)


@pytest.mark.skipif(not LAW.is_file(), reason="../shared/corpus-laws is not beside the project")
def test_an_update_killed_mid_way_leaves_the_old_index_serving(
    config: Config, embedder: Embedder, tmp_path: Path
):
    first = build_index(config, embedder, progress=False)
    for n in range(8):  # enough new passages that the update is still embedding when it is killed
        text = LAW.read_text(encoding="utf-8").replace("宁波市", f"第{n}市")
        (config.corpus_dir / f"law{n}.md").write_text(text, encoding="utf-8")
    log = tmp_path / "update.log"
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "index", *_args(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 300
        while "embedding" not in log.read_text(encoding="utf-8") and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.kill()
        process.wait()
    assert "index updated" not in log.read_text(encoding="utf-8"), "killed before it finished"
    served = load_index(config.index_dir)
    assert [c.chunk_id for c in served.chunks] == [c.chunk_id for c in first.chunks]
    assert Retriever(served, embedder).search("嘉兴最低工资", k=1)[0].chunk.source_file == SOURCE.name

    # killed between the two renames of the swap: the next update puts the old index back first
    config.index_dir.rename(config.index_dir.parent / f".{config.index_dir.name}.old")
    index, update = update_index(config, embedder, progress=False)
    assert len(update.added) == 8 and update.reused == len(first.chunks)
    assert len(index.chunks) > len(first.chunks)


def test_add_and_remove_refuse_bad_input_and_change_nothing(
    config: Config, embedder: Embedder, tmp_path, capsys
):
    build_index(config, embedder, progress=False)
    before = sorted(p.name for p in config.corpus_dir.rglob("*"))
    doc = tmp_path / "旧格式.doc"
    doc.write_bytes(BAD_FILES["坏文件/旧格式.doc"])
    for argv in (
        ["add", str(tmp_path / "missing.pdf")],
        ["add", str(doc)],
        ["add", str(SOURCE), "--into", "../elsewhere"],
        ["remove", "no-such-file.txt"],
    ):
        assert main([*argv, *_args(config)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("错误：") and "Traceback" not in err
        if argv[1] == str(doc):
            assert "旧格式.doc" in err and ".docx" in err, "names the file and what to do"
    assert sorted(p.name for p in config.corpus_dir.rglob("*")) == before
