"""Dense embeddings with sentence-transformers on the CPU, strictly offline.

torch and sentence-transformers are imported when an :class:`Embedder` is created, not when this
module is imported, so commands that never embed stay fast.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.config import DEFAULT_EMBED_MODEL
from qa.models import ModelError, build_id, resolve_embed_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

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


class Embedder:
    """Encodes queries and passages into float32, L2-normalised vectors.

    Args:
        model: ``multilingual-e5-small`` (built under ``models_dir`` on first use), a local
            sentence-transformers folder, or a model name already in the Hugging Face cache.
        models_dir: where built-in models are built and cached.
        batch_size: texts per forward pass.
        threads: torch CPU threads (set process-wide).
        query_int8: encode queries with a copy of the model whose linear layers are quantized to int8
            on the fly (torch dynamic quantization): about half the query time on a CPU, vectors within
            cosine 0.98 of the float ones. Passages are always encoded in float32.

    Raises:
        ModelError: the model is missing or cannot be loaded.
    """

    def __init__(
        self, model: str, models_dir: Path, batch_size: int = 32, threads: int = 2, query_int8: bool = True
    ) -> None:
        self.name = model
        self.batch_size = batch_size
        self.query_int8 = query_int8
        self._query_st: SentenceTransformer | None = None
        self.path = resolve_embed_model(model, Path(models_dir))
        builtin = model == DEFAULT_EMBED_MODEL
        self._model_id = f"{model}@{build_id(Path(self.path))}" if builtin else model

        import torch

        if threads > 0:
            torch.set_num_threads(threads)
        try:
            self._st = _load_sentence_transformer(self.path)
        except Exception as exc:  # any load failure becomes one plain, actionable message
            raise ModelError(self._load_failure(exc, builtin)) from exc

        prompts: dict[str, str] = dict(getattr(self._st, "prompts", None) or {})
        self.query_prompt = _pick_prompt(prompts, QUERY_PROMPT_NAMES)
        self.document_prompt = _pick_prompt(prompts, DOCUMENT_PROMPT_NAMES)
        self._dim = self._embedding_dimension()

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
        get_dim = getattr(self._st, "get_embedding_dimension", None) or getattr(
            self._st, "get_sentence_embedding_dimension", None
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
        return self._encode(texts, self.query_prompt, False, self._query_model())

    def encode_document(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Vectors of passages, shape ``(len(texts), dim)``, with the model's document prompt."""
        return self._encode(texts, self.document_prompt, progress)

    def _query_model(self) -> SentenceTransformer:
        """The model that encodes queries: the int8 copy (made on first use) or the model itself."""
        if not self.query_int8:
            return self._st
        if self._query_st is None:
            import torch

            with warnings.catch_warnings():  # torch announces the move of this API to torchao
                warnings.simplefilter("ignore")
                self._query_st = torch.ao.quantization.quantize_dynamic(
                    self._st, {torch.nn.Linear}, dtype=torch.qint8
                )
        return self._query_st

    def _encode(
        self, texts: list[str], prompt: str | None, progress: bool, model: SentenceTransformer | None = None
    ) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a single string")
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        kwargs: dict[str, Any] = {"prompt": prompt} if prompt else {}
        vectors = (model or self._st).encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
            **kwargs,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
