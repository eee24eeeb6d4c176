"""Dense embeddings with sentence-transformers on the CPU, strictly offline.

By default the model's transformer is run by ONNX Runtime (exported once per model into
``models/onnx/``) for passages and float questions: the same vectors as sentence-transformers, about 1.5
times as fast for passages and twice for questions on 2 cores. A sentence-transformers folder is read
from its configuration files (prompts, pooling, length) and its ``tokenizer.json``: torch and
sentence-transformers are loaded only to export (once), for the torch backend or int8 questions, which
keeps start-up and memory small. Nothing heavy is imported with this module.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.config import DEFAULT_EMBED_MODEL, Config
from qa.models import ModelError, build_id, resolve_embed_model

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer


class EmbedBackend(str, Enum):
    """What runs the embedding model's transformer."""

    ONNX = "onnx"  # ONNX Runtime, exported from the loaded model on first use (default)
    TORCH = "torch"  # sentence-transformers itself


QUERY_PROMPT_NAMES = ("query",)
DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")
"""Prompt names looked up in the model's ``prompts``, in order (as sentence-transformers does)."""


def _load_sentence_transformer(path: str) -> SentenceTransformer:
    """``SentenceTransformer(path)`` on the CPU from local files only; never uses the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read when huggingface_hub is first imported
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar at every start
    return SentenceTransformer(path, device="cpu", local_files_only=True)


def _pick_prompt(prompts: dict[str, str], names: tuple[str, ...]) -> str | None:
    """The first of ``names`` present in ``prompts``, else ``None`` (then no prefix is added)."""
    for name in names:
        if name in prompts:
            return prompts[name]
    return None


@dataclass(frozen=True)
class _Spec:
    """What the ONNX runner needs of a model: prompts, pooling over all tokens, vector length and the
    longest input in tokens."""

    prompts: dict[str, str]
    pooling: str | None  # "mean" or "cls"; None: the model has other modules or pooling (torch runs it)
    dim: int
    max_length: int


_MODULE_TYPES = ["Transformer", "Pooling", "Normalize"]


def _folder_spec(folder: Path) -> _Spec | None:
    """The spec of a sentence-transformers folder read from its configuration files, or None when it is
    not one with a plain Transformer, Pooling (mean or CLS, prompt included) and optional Normalize."""

    def read(name: str) -> dict[str, Any]:
        return json.loads((folder / name).read_text(encoding="utf-8"))

    try:
        modules = read("modules.json")
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if types not in (_MODULE_TYPES[:2], _MODULE_TYPES) or not (folder / "tokenizer.json").is_file():
            return None
        pooling = read(f"{modules[1]['path']}/config.json")
        dim = int(pooling["word_embedding_dimension"])
        max_length = int(read("sentence_bert_config.json")["max_seq_length"])
        prompts = read("config_sentence_transformers.json").get("prompts") or {}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    flags = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True}
    mode = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}.get(
        next(iter(flags)) if len(flags) == 1 else ""
    )
    if not pooling.get("include_prompt", True):
        mode = None
    return _Spec(dict(prompts), mode, dim, max_length)


def _load_tokenizer(folder: Path, max_length: int) -> Tokenizer:
    """The fast tokenizer of ``folder/tokenizer.json`` set to pad to the longest text of a batch and cut
    at ``max_length`` tokens, as sentence-transformers calls it."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    pad = "<pad>"
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        pad = config.get("pad_token") or pad
        pad = pad["content"] if isinstance(pad, dict) else pad
    except (OSError, ValueError):
        pass
    return _for_batches(tokenizer, pad, tokenizer.token_to_id(pad), max_length)


def _for_batches(tokenizer: Tokenizer, pad: str, pad_id: int | None, max_length: int) -> Tokenizer:
    """``tokenizer`` set to pad to the longest text of a batch with ``pad`` and cut at ``max_length``."""
    tokenizer.enable_padding(pad_id=pad_id or 0, pad_token=pad)
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def _onnx_pooling(st: SentenceTransformer) -> str | None:
    """``mean`` or ``cls`` when the model is a transformer with that pooling over all tokens (prompt
    included) and optionally L2 normalisation: what the ONNX runner reproduces. Else None."""
    modules = list(st)
    names = [type(m).__name__ for m in modules]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    pooling = modules[1]
    mode = (
        pooling.get_pooling_mode_str() if hasattr(pooling, "get_pooling_mode_str") else pooling.pooling_mode
    )
    mode = mode if isinstance(mode, str) else "+".join(mode)
    return mode if mode in ("mean", "cls") and getattr(pooling, "include_prompt", True) else None


def _export_onnx(st: SentenceTransformer, folder: Path) -> None:
    """Write the model's transformer (token ids and mask in, hidden states out, any batch and length) to
    ``folder/model.onnx``, atomically."""
    import onnx  # noqa: F401  (the exporter needs it; fail here with its name)
    import torch

    class Hidden(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "model.onnx.tmp"
    sample = st.tokenizer(["passage: 样例"], return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation notices of the TorchScript exporter
        torch.onnx.export(
            Hidden(st[0].auto_model).eval(),
            (sample["input_ids"], sample["attention_mask"]),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["hidden"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, folder / "model.onnx")


def _onnx_key(model_id: str, path: str) -> str:
    """Name of a model's export: its id, and for a local folder the sizes and times of its files."""
    stamp = model_id
    folder = Path(path).expanduser()
    if folder.is_dir():
        for f in sorted(folder.iterdir()):
            info = f.stat()
            stamp += f"{f.name}:{info.st_size}:{info.st_mtime_ns};"
    return hashlib.sha256(stamp.encode()).hexdigest()[:16]


def _quantize_onnx(source: Path, target: Path) -> None:
    """Write ``source`` with its weights quantized to int8 per output channel (ONNX Runtime's dynamic
    quantization: activations are quantized on the fly) to ``target``, atomically."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(".tmp")
    logging.disable(logging.WARNING)  # its advice to pre-process the model, printed on every call
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.disable(logging.NOTSET)
    os.replace(tmp, target)


class Embedder:
    """Encodes queries and passages into float32, L2-normalised vectors.

    Args:
        model: ``multilingual-e5-small`` (built under ``models_dir`` on first use), a local
            sentence-transformers folder, or a model name already in the Hugging Face cache.
        models_dir: where built-in models are built and cached.
        batch_size: texts per forward pass.
        threads: CPU threads of ONNX Runtime, and of torch (process-wide) when it runs.
        query_int8: encode queries with a copy of the model whose linear layers torch quantizes to int8
            on the fly (dynamic quantization): about half the float query time in torch, vectors within
            cosine 0.98 of the float ones. Passages are always encoded in float32.
        backend: ``onnx`` (default): passages, and queries when not ``query_int8``, are encoded by ONNX
            Runtime from an export made on first use under ``models_dir/onnx/`` (a model with another
            pooling than mean or CLS runs in torch); ``torch``: all in sentence-transformers.
        passage_int8: (onnx) encode passages with a copy of the export whose weights are quantized to int8
            per channel (made on first use): about 1.8 times as fast, vectors within cosine 0.995 of the
            float ones. Questions stay float32. The model id says so, so an index knows how it was built.

    Raises:
        ModelError: the model is missing or cannot be loaded.
    """

    def __init__(
        self,
        model: str,
        models_dir: Path,
        batch_size: int = 32,
        threads: int = 2,
        query_int8: bool = False,
        backend: str = EmbedBackend.ONNX,
        passage_int8: bool = False,
    ) -> None:
        try:
            self.backend = EmbedBackend(backend)
        except ValueError:
            raise ModelError(f"embed_backend must be 'onnx' or 'torch', not {backend!r}") from None
        self.name = model
        self.batch_size = batch_size
        self.query_int8 = query_int8
        self.threads = threads
        self._query_st: SentenceTransformer | None = None
        self._st: SentenceTransformer | None = None
        self._onnx_sessions: dict[tuple[bool, int], onnxruntime.InferenceSession] = {}
        self._unpadded: Tokenizer | None = None
        self.path = resolve_embed_model(model, Path(models_dir))
        self._builtin = model == DEFAULT_EMBED_MODEL
        self._model_id = f"{model}@{build_id(Path(self.path))}" if self._builtin else model
        self._onnx_dir = Path(models_dir) / "onnx" / _onnx_key(self._model_id, self.path)

        folder = Path(self.path).expanduser()
        spec = _folder_spec(folder) if self.backend == EmbedBackend.ONNX and not query_int8 else None
        if spec is not None and spec.pooling is not None:  # the model loads only to export, if at all
            self._tokenizer: Tokenizer | None = _load_tokenizer(folder, spec.max_length)
        else:
            spec, self._tokenizer = self._spec_of_model()
        self._pooling = spec.pooling if self.backend == EmbedBackend.ONNX else None
        self._dim = spec.dim
        self.query_prompt = _pick_prompt(spec.prompts, QUERY_PROMPT_NAMES)
        self.document_prompt = _pick_prompt(spec.prompts, DOCUMENT_PROMPT_NAMES)
        if self._pooling is None:
            self.backend = EmbedBackend.TORCH
        elif not (self._onnx_dir / "model.onnx").is_file():
            self._export()
        self.passage_int8 = passage_int8 and self.backend == EmbedBackend.ONNX
        if self.passage_int8:
            self._model_id += "+int8-passages"

    def _model(self) -> SentenceTransformer:
        """The sentence-transformers model, loaded on first use (with torch set to ``threads``)."""
        if self._st is None:
            import torch

            if self.threads > 0:
                torch.set_num_threads(self.threads)
            try:
                self._st = _load_sentence_transformer(self.path)
            except Exception as exc:  # any load failure becomes one plain, actionable message
                raise ModelError(self._load_failure(exc, self._builtin)) from exc
        return self._st

    def _spec_of_model(self) -> tuple[_Spec, Tokenizer | None]:
        """The spec of the loaded model, and a copy of its fast tokenizer set up for the ONNX runner
        (None when it has no fast tokenizer: then torch runs it)."""
        from tokenizers import Tokenizer

        st = self._model()
        prompts: dict[str, str] = dict(getattr(st, "prompts", None) or {})
        backend = getattr(st.tokenizer, "backend_tokenizer", None)
        pooling = _onnx_pooling(st) if backend is not None else None
        spec = _Spec(prompts, pooling, self._embedding_dimension(), int(st.max_seq_length))
        if backend is None:
            return spec, None
        pad, pad_id = st.tokenizer.pad_token, st.tokenizer.pad_token_id
        return spec, _for_batches(Tokenizer.from_str(backend.to_str()), pad, pad_id, spec.max_length)

    def _export(self) -> None:
        """Export the model's transformer to ONNX under ``models_dir/onnx/``."""
        try:
            _export_onnx(self._model(), self._onnx_dir)
        except ImportError as exc:
            raise ModelError(
                f"the onnx backend needs {exc.name}, which is not installed; fix: run the set-up "
                f"again (make setup), or set QA_EMBED_BACKEND=torch"
            ) from exc

    @classmethod
    def from_config(cls, config: Config) -> Embedder:
        """The embedding model of ``config``."""
        return cls(
            config.embed_model,
            config.models_dir,
            config.embed_batch_size,
            config.threads,
            config.query_int8,
            config.embed_backend,
            config.passage_int8,
        )

    def _load_failure(self, exc: Exception, builtin: bool) -> str:
        reason = f"{type(exc).__name__}: {exc}".strip()
        if builtin:
            return (
                f"the built-in embedding model at {self.path} failed to load ({reason}); "
                f"fix: delete that folder and run again to rebuild it"
            )
        if not Path(self.path).expanduser().exists():
            return (
                f"embedding model {self.path!r} is neither a local folder nor in the Hugging Face cache, "
                f"and nothing is downloaded (offline); fix: give the path of a sentence-transformers "
                f"folder, or use the built-in {DEFAULT_EMBED_MODEL!r}"
            )
        return (
            f"embedding model folder {self.path} failed to load ({reason}); "
            f"fix: point embed_model at a complete sentence-transformers folder"
        )

    def _embedding_dimension(self) -> int:
        st = self._model()
        get_dim = getattr(st, "get_embedding_dimension", None) or getattr(
            st, "get_sentence_embedding_dimension", None
        )
        dim = get_dim() if get_dim is not None else None
        if not dim:  # some models only know it after a forward pass
            dim = int(self._encode(["dimension probe"], None, False).shape[1])
        return int(dim)

    @property
    def model_id(self) -> str:
        """Stable id for index manifests: ``name@build-hash`` for the built-in model, else the name."""
        return self._model_id

    @property
    def dim(self) -> int:
        """Length of each vector."""
        return self._dim

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """Vectors of search queries, shape ``(len(texts), dim)``, with the model's query prompt."""
        if self.backend == EmbedBackend.ONNX and not self.query_int8:
            return self._encode(texts, self.query_prompt, False, onnx=True)
        return self._encode(texts, self.query_prompt, False, self._query_model())

    def encode_document(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Vectors of passages, shape ``(len(texts), dim)``, with the model's document prompt."""
        if self.backend == EmbedBackend.ONNX:
            return self._encode_onnx(list(texts), self.document_prompt, progress, self.passage_int8)
        return self._encode(texts, self.document_prompt, progress)

    def _session(self, int8: bool, threads: int) -> onnxruntime.InferenceSession:
        """The ONNX Runtime session of the exported model (its int8 copy when ``int8``) on ``threads``
        threads, loaded on first use; a damaged export is made again once. Its threads do not spin after a
        call: spinning took a core from the search that follows a question's encoding."""
        key = (int8, threads)
        if key not in self._onnx_sessions:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3  # errors only
            path = self._onnx_dir / ("model-int8.onnx" if int8 else "model.onnx")

            def load() -> onnxruntime.InferenceSession:
                if int8 and not path.is_file():
                    _quantize_onnx(self._onnx_dir / "model.onnx", path)
                return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

            try:
                self._onnx_sessions[key] = load()
            except Exception:  # noqa: BLE001 - a damaged or partial file: export again
                self._export()
                if int8:  # made again from the new export
                    path.unlink(missing_ok=True)
                self._onnx_sessions[key] = load()
        return self._onnx_sessions[key]

    def _encode_onnx(
        self, texts: list[str], prompt: str | None, progress: bool, int8: bool = False
    ) -> np.ndarray:
        """What sentence-transformers computes (prompt, tokens, transformer, pooling, L2 norm), with the
        transformer run by ONNX Runtime (its int8 copy when ``int8``). Texts go in batches of the same
        token count, longest first. Several batches run side by side, one thread each (a third more
        passages a second on 2 cores than one batch at a time on both); a single batch (a question) runs
        on all ``threads`` (a question takes 13 ms on two threads, 18 on one)."""
        from concurrent.futures import ThreadPoolExecutor

        from tqdm.auto import tqdm

        texts = [(prompt or "") + t for t in texts]
        many = len(texts) > self.batch_size
        order = np.argsort(-self._token_counts(texts), kind="stable") if many else np.arange(len(texts))
        batches = [order[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        workers = max(1, min(self.threads, len(batches)))
        session = self._session(int8, 1 if workers > 1 else max(self.threads, 0))

        def run(rows: np.ndarray) -> np.ndarray:
            encoded = self._tokenizer.encode_batch([texts[i] for i in rows])  # type: ignore[union-attr]
            ids = np.array([e.ids for e in encoded], np.int64)
            mask = np.array([e.attention_mask for e in encoded], np.int64)
            (hidden,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
            if self._pooling == "cls":
                vectors = hidden[:, 0]
            else:
                vectors = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True).clip(min=1)
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)

        out = np.zeros((len(texts), self._dim), np.float32)
        with ThreadPoolExecutor(workers) as pool:
            done = tqdm(pool.map(run, batches), total=len(batches), desc="Batches", disable=not progress)
            for rows, vectors in zip(batches, done, strict=True):
                out[rows] = vectors
        return out

    def _token_counts(self, texts: list[str], slice_size: int = 8192) -> np.ndarray:
        """How many tokens each text has (cut at the model's maximum), without padding: batches of texts of
        the same count carry no padding (by characters, an eighth of a batch's tokens were padding)."""
        if self._unpadded is None:
            from tokenizers import Tokenizer

            self._unpadded = Tokenizer.from_str(self._tokenizer.to_str())  # type: ignore[union-attr]
            self._unpadded.no_padding()
        return np.array(
            [
                len(e.ids)
                for i in range(0, len(texts), slice_size)
                for e in self._unpadded.encode_batch(texts[i : i + slice_size])
            ],
            dtype=np.int64,
        )

    def _query_model(self) -> SentenceTransformer:
        """The model that encodes queries: the int8 copy (made on first use) or the model itself."""
        if not self.query_int8:
            return self._model()
        if self._query_st is None:
            import torch

            with warnings.catch_warnings():  # torch announces the move of this API to torchao
                warnings.simplefilter("ignore")
                self._query_st = torch.ao.quantization.quantize_dynamic(
                    self._model(), {torch.nn.Linear}, dtype=torch.qint8
                )
        return self._query_st

    def _encode(
        self,
        texts: list[str],
        prompt: str | None,
        progress: bool,
        model: SentenceTransformer | None = None,
        onnx: bool = False,
    ) -> np.ndarray:
        """Vectors of ``texts`` by ``model`` (default: the loaded one), or by ONNX Runtime when ``onnx``."""
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a single string")
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        if onnx:
            return self._encode_onnx(list(texts), prompt, progress)
        kwargs: dict[str, Any] = {"prompt": prompt} if prompt else {}
        vectors = (model or self._model()).encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
            **kwargs,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
