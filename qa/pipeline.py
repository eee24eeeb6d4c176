"""The search pipeline shared by the CLI and the chat: checks the question, loads the model and the
index (building it when missing or stale), retrieves, and matches profiles to policies."""

from __future__ import annotations

from qa.config import Config
from qa.embedding import Embedder
from qa.index import Index, build_index, ensure_index
from qa.matching import Match, Matcher, Profile
from qa.retrieval import Filters, Hit, Mode, Retriever


class QuestionError(ValueError):
    """A question that cannot be searched (empty, or over the length limit)."""


def check_question(question: str, max_chars: int) -> str:
    """The question stripped, or :class:`QuestionError` with a message for the user."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("问题为空：请输入要查询的问题。")
    question = question.strip()
    if len(question) > max_chars:
        raise QuestionError(f"问题过长（{len(question)} 字）：请缩短到 {max_chars} 字以内。")
    return question


def contextual_query(question: str, history: list[str] | None = None, turns: int = 2) -> str:
    """A follow-up question ("那嘉兴呢?") searched together with the last user turns before it."""
    previous = [h.strip() for h in (history or []) if h and h.strip()][-turns:]
    return " ".join([*previous, question])


class Pipeline:
    """Model, index and retriever for one configuration.

    Args:
        config: the settings.
        rebuild: rebuild the index even when it is current.
        progress: show progress while building.
    """

    def __init__(self, config: Config, rebuild: bool = False, progress: bool = True) -> None:
        self.config = config
        self.embedder = Embedder(
            config.embed_model, config.models_dir, config.embed_batch_size, config.threads
        )
        if rebuild:
            self.index: Index = build_index(config, self.embedder, progress=progress)
        else:
            self.index = ensure_index(config, self.embedder, progress=progress)
        self.retriever = Retriever(
            self.index,
            self.embedder,
            candidates=config.candidates,
            dense_weight=config.dense_weight,
            prior_weight=config.prior_weight,
            as_of=config.as_of,
        )
        self.matcher = Matcher(self.retriever)

    def search(
        self,
        question: str,
        k: int = 10,
        mode: Mode = Mode.HYBRID,
        filters: Filters | None = None,
        history: list[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for a question (with its conversation history, if any)."""
        question = check_question(question, self.config.max_question_chars)
        return self.retriever.search(contextual_query(question, history), k=k, mode=mode, filters=filters)

    def match(self, profile: Profile, k: int = 10, in_force_only: bool = False) -> list[Match]:
        """The ``k`` clauses that best apply to a profile (see :mod:`qa.matching`).

        Args:
            profile: from :meth:`Profile.parse`.
            k: how many clauses.
            in_force_only: leave out documents that are 已失效 or 尚未施行.
        """
        check_question(profile.text, self.config.max_question_chars)
        return self.matcher.match(profile, k, in_force_only)
