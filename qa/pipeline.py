"""The pipeline shared by the CLI and the chat: checks the question, loads the models and the index
(building it when missing or stale), brings a question in another language into Chinese, retrieves,
answers with the passages cited (in the language of the question), and matches profiles to policies."""

from __future__ import annotations

import collections.abc
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from qa.answering import Answer, abstention, finish, merge
from qa.config import Config
from qa.decomposition import Part, split_question
from qa.embedding import Embedder
from qa.expansion import Lexicon, load_thesaurus
from qa.figures import unmarked
from qa.generation import Generator, complete, load_generator
from qa.language import Language, detect, translate
from qa.lexical import normalize
from qa.matching import Match, Matcher, Profile
from qa.prompting import build_prompt
from qa.replies import STOP, renumbered
from qa.retrieval import Filters, Hit, Mode, Retriever, asks_figure, states_figure
from qa.store import Store, ensure_store, load_store, thesaurus_path
from qa.verification import confirms, verification

FIGURE_FIT = 0.5
"""A passage states a figure about a question when one of its clauses holds this share of the question's
words (weighted by IDF; see :meth:`qa.retrieval.Retriever.figure_fit`)."""
_WHICH = re.compile(r"哪几|哪些")
VERIFY_TOKENS = 2
"""The model's yes or no (能/不能) to the verification of an answer's figures."""


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


@dataclass(frozen=True)
class Served:
    """An index with the retriever and matcher built on it: swapped as one when the index changes."""

    index: Store
    retriever: Retriever
    matcher: Matcher


class Pipeline:
    """Model, index and retriever for one configuration.

    Args:
        config: the settings.
        progress: show progress while the index is built or updated.
    """

    def __init__(self, config: Config, progress: bool = True) -> None:
        self.config = config
        self.embedder = Embedder.from_config(config)
        self.generator: Generator | None = None
        self._served = self._serve(ensure_store(config, self.embedder, progress=progress))
        self._reloading = threading.Lock()

    def _serve(self, index: Store) -> Served:
        config = self.config
        retriever = Retriever(
            index,
            self.embedder,
            candidates=config.candidates,
            dense_weight=config.dense_weight,
            prior_weight=config.prior_weight,
            named_weight=config.named_weight,
            place_weight=config.place_weight,
            figure_weight=config.figure_weight,
            penalty_weight=config.penalty_weight,
            focus_weight=config.focus_weight,
            focus_window=config.focus_window,
            as_of=config.as_of,
            thesaurus=load_thesaurus(thesaurus_path(config), index.vocabulary, self.embedder)
            if config.expand
            else None,
        )
        return Served(index, retriever, Matcher(retriever))

    @property
    def index(self) -> Store:
        return self._served.index

    @property
    def retriever(self) -> Retriever:
        return self._served.retriever

    @property
    def matcher(self) -> Matcher:
        return self._served.matcher

    def refresh(self) -> bool:
        """Serve the index in the store when an update (``qa index``, ``qa add``, another process) has
        written a new one since it was loaded; returns whether it did. Questions already being answered
        finish on the index they started with; a new index that cannot be loaded leaves the current one
        serving.

        Raises:
            IndexUnusable: the new index is damaged or cannot be reached.
        """
        if self.index.is_current():
            return False
        with self._reloading:  # another thread may have served it meanwhile
            if self.index.is_current():
                return False
            self._served = self._serve(load_store(self.config))
        return True

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
        return self.retriever.search(self.query(question, history), k=k, mode=mode, filters=filters)

    def query(self, question: str, history: list[str] | None = None) -> str:
        """What retrieval searches for: the question after the conversation's last turns, in Chinese (a
        question in another language is translated by the answering model first)."""
        query = contextual_query(question, history)
        if detect(query) == Language.CHINESE:
            return query
        return translate(self.load_generator(), query)

    def load_generator(self) -> Generator:
        """The answering model, loaded on first use (one instance, shared by all callers)."""
        if self.generator is None:
            self.generator = load_generator(self.config)
        return self.generator

    def ask_stream(
        self, question: str, history: list[str] | None = None, filters: Filters | None = None
    ) -> Iterator[Sources | str | Answer]:
        """Answer a question from the passages: yields the passages found (:class:`Sources`, as soon as
        retrieval is done, before the model reads them), the reply piece by piece as the model writes it,
        then the checked :class:`Answer` (which may differ: abstention, removed markers). A reply rejected
        for citing passages about something else is asked for once more, with only the passages about the
        question (not streamed; kept when it passes the check). A question asking the same of several
        things (``A和B分别…``) is answered for each in turn, each after the thing it asks about, the
        passages of all numbered together (see :mod:`qa.decomposition` and :func:`merge`).

        Raises :class:`QuestionError` for an empty or over-long question, before yielding anything.
        """
        question = check_question(question, self.config.max_question_chars)
        timings: dict[str, float] = {}
        if self.generator is None:
            t = time.perf_counter()
            self.load_generator()
            timings["load_s"] = time.perf_counter() - t
        start = time.perf_counter()
        language = detect(question)
        parts = split_question(question) if language == Language.CHINESE else [Part(question)]
        passages: list[Hit] = []  # of all parts, numbered together
        answers: list[tuple[str, Answer]] = []
        several = len(parts) > 1
        for i, part in enumerate(parts):
            t = time.perf_counter()
            query = self.query(part.question, history)
            if language != Language.CHINESE:
                timings["translate_s"] = time.perf_counter() - t
            hits = self.retriever.search(query, k=self.config.answer_passages, filters=filters, split=False)
            hits = [replace(hit, headings=self.retriever.headings(hit.chunk)) for hit in hits]
            spent = time.perf_counter() - t - timings.get("translate_s", 0.0)
            timings["retrieval_s"] = timings.get("retrieval_s", 0.0) + spent
            numbers = {n: _number(passages, hit) for n, hit in enumerate(hits, 1)} if several else None
            yield Sources(list(passages) if several else hits)
            timings.setdefault("sources_s", time.perf_counter() - start)
            if several:
                yield ("\n" if i else "") + f"{part.subject}："
            answer = yield from self._answer(
                part.question, query, hits, history, language, start, timings, numbers
            )
            answers.append((part.subject, answer.renumbered(numbers, passages) if several else answer))
        if several:
            answer = merge(question, contextual_query(question, history), answers, language)
        else:
            answer = answers[0][1]
        timings["total_s"] = time.perf_counter() - start
        answer.timings = timings
        yield answer

    def _answer(
        self,
        question: str,
        query: str,
        hits: list[Hit],
        history: list[str] | None,
        language: Language,
        start: float,
        timings: dict[str, float],
        numbers: dict[int, int] | None = None,
    ) -> collections.abc.Generator[str, None, Answer]:
        """The model's reply to ``question`` from ``hits``, streamed (its markers renumbered by
        ``numbers``, if given), then its check and, if needed, the second look; records the first token's
        time after ``start`` and the second look's in ``timings``."""
        prompt = build_prompt(question, query, hits, self.config.context_chars, history, language)
        reply: list[str] = []
        if hits:
            generator = self.load_generator()
            pieces = _kept(generator.stream(prompt.messages, self.config.max_answer_tokens, STOP), reply)
            for piece in renumbered(pieces, numbers) if numbers else pieces:
                timings.setdefault("first_token_s", time.perf_counter() - start)
                yield piece
        lexicon = self._lexicon(query, language)
        answer = finish(question, query, "".join(reply), hits, prompt.passages, language, lexicon)
        if self.refocus(answer):
            t = time.perf_counter()
            answer = self.second_look(answer, history, language)
            timings["second_look_s"] = timings.get("second_look_s", 0.0) + time.perf_counter() - t
        if self.config.verify_figures and not answer.abstained:
            t = time.perf_counter()
            answer = self.verify(answer, language)
            timings["verify_s"] = timings.get("verify_s", 0.0) + time.perf_counter() - t
        return answer

    def _lexicon(self, query: str, language: Language) -> Lexicon:
        """The words a passage must hold to be about ``query``: for a Chinese question, also the documents'
        words nearest to those no passage uses; a translated question's words are the model's, not the
        asker's (it may add some of its own), so they are not stretched to near words."""
        if language == Language.CHINESE:
            return self.retriever.lexicon(query)
        return Lexicon(self.retriever.index.vocabulary)

    def verify(self, answer: Answer, language: Language = Language.CHINESE) -> Answer:
        """``answer``, or "资料中未提及" when the model, asked whether the sentences behind the answer's
        figures state them of what the question asks (see :func:`qa.verification.verification`), says no:
        1 小时 of sport a day is not a limit on homework time."""
        messages = verification(answer, language)
        if not messages or confirms(complete(self.load_generator(), messages, VERIFY_TOKENS)):
            return answer
        return abstention(answer.question, answer.query, answer.passages, answer.reply, language)

    def refocus(self, answer: Answer) -> list[int]:
        """The passages to ask again with (sets ``answer.refocus``): those about the question when the
        model answered from a passage about something else (see :func:`finish`); those stating a figure
        about at least :data:`FIGURE_FIT` of the question when it asks for a figure (多少, 比例; not 哪几个,
        which asks for names) and the reply states none (`女干部比例逐步提高` for the table row's
        `换届后当年达到100%`). None when they would be all the passages given."""
        query, reply = answer.query, normalize(unmarked(answer.reply))
        asked = asks_figure(query) and not _WHICH.search(query)
        if asked and not (answer.refocus or answer.abstained or states_figure(reply)):
            fit = self.retriever.figure_fit(query, [hit.chunk for hit in answer.passages])
            answer.refocus = [n for n, f in enumerate(fit, 1) if f >= FIGURE_FIT]
        if len(answer.refocus) == len(answer.passages):
            answer.refocus = []
        return answer.refocus

    def second_look(
        self, answer: Answer, history: list[str] | None = None, language: Language = Language.CHINESE
    ) -> Answer:
        """Ask once more, with only the passages of ``answer.refocus`` (see :meth:`refocus`): the new
        answer if it passes the check, else ``answer`` as it was."""
        kept = [answer.passages[n - 1] for n in answer.refocus]
        if not kept:
            return answer
        question, query = answer.question, answer.query
        prompt = build_prompt(question, query, kept, self.config.context_chars, history, language)
        reply = complete(self.load_generator(), prompt.messages, self.config.max_answer_tokens, STOP)
        lexicon = self._lexicon(query, language)
        second = finish(question, query, reply, kept, prompt.passages, language, lexicon)
        return answer if second.abstained else second

    def ask(self, question: str, history: list[str] | None = None, filters: Filters | None = None) -> Answer:
        """The checked answer to a question (see :meth:`ask_stream`)."""
        *_, answer = self.ask_stream(question, history, filters)
        assert isinstance(answer, Answer)
        return answer

    def match(self, profile: Profile, k: int = 10, in_force_only: bool = False) -> list[Match]:
        """The ``k`` clauses that best apply to a profile (see :mod:`qa.matching`).

        Args:
            profile: from :meth:`Profile.parse`.
            k: how many clauses.
            in_force_only: leave out documents that are 已失效 or 尚未施行.
        """
        check_question(profile.text, self.config.max_question_chars)
        return self.matcher.match(profile, k, in_force_only)


@dataclass
class Sources:
    """The passages an answer is being written from, numbered from 1 as its markers name them (of a
    split question, those of its parts so far)."""

    hits: list[Hit]


def _kept(pieces: Iterable[str], into: list[str]) -> Iterator[str]:
    """``pieces``, each also appended to ``into``."""
    for piece in pieces:
        into.append(piece)
        yield piece


def _number(passages: list[Hit], hit: Hit) -> int:
    """The number of ``hit`` among ``passages`` (from 1), appended to them if not there yet."""
    for n, given in enumerate(passages, 1):
        if given.chunk.chunk_id == hit.chunk.chunk_id:
            return n
    passages.append(hit)
    return len(passages)
