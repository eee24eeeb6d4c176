"""The answer: the model's checked reply (see :mod:`qa.replies`) stands or becomes "资料中未提及" with
the nearby clauses, decided from the reply together with the retrieval evidence (see
:mod:`qa.answerability`); a standing answer gets the sentence of its passage behind it, its sources and
the validity of its documents; the answers to the parts of a split question merge into one. A question in
another language is answered in that language, from the same Chinese passages (its Chinese translation,
the retrieval query, serves the checks)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from qa.answerability import (
    PLACES,
    WHERE_COVERAGE,
    coverage,
    fits,
    party_clause,
    said_of_another,
    wanted,
)
from qa.chunking import PATH_SEP, Chunk, item_range
from qa.expansion import Lexicon
from qa.figures import (
    MARKER,
    NUMBER,
    WHOLE_SENTENCE,
    bigrams,
    claims,
    closest_span,
    norm,
    number_in,
    sentences,
    split_figure,
    stating_spans,
    unit_at,
    unmarked,
    window,
)
from qa.language import Language
from qa.parsing import DOC_NUMBER_ANYWHERE
from qa.prompting import ASKS_TOTAL, WORDING, excerpt, label
from qa.replies import YES_NO, Check, check_reply, declines, renumber
from qa.retrieval import Hit
from qa.validity import Validity

_WHERE = re.compile(r"哪份|哪个文件|哪一?[条节款]|哪一?部分|出自|出处|文号|条款")
"""A question asking where a rule is written (which document, which clause): answered with its source."""


TERSE_BIGRAMS = 4
"""A reply adding fewer bigrams than this to the question's wording, besides its figures, is a bare yes
or no or a bare figure (可以。/ 35000); the answer then quotes the sentence of its passage behind it."""


@dataclass
class Answer:
    """A checked answer with the passages it was given (numbered from 1) and what it cites."""

    question: str
    query: str
    text: str
    abstained: bool
    passages: list[Hit]
    cited: list[int] = field(default_factory=list)
    invalid_markers: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    reply: str = ""  # the model's reply before the check
    refocus: list[int] = field(default_factory=list)  # passages to ask again with (see finish)

    def highlights(self, n: int) -> list[tuple[int, int]]:
        """Spans of passage ``n``'s text that support the answer: the sentences sharing the answer's
        numbers, else the one sharing most of its wording."""
        if self.abstained or not 1 <= n <= len(self.passages):
            return []
        text = self.passages[n - 1].chunk.text
        with_numbers = stating_spans(text, claims(self.text, self.question), sentences(text))
        if with_numbers:
            return with_numbers[:3]
        shared, closest = closest_span(text, sentences(text), bigrams(MARKER.sub("", self.text)))
        return [closest] if shared >= 2 else []

    def renumbered(self, numbers: Mapping[int, int], passages: list[Hit]) -> Answer:
        """This answer citing ``passages``, in which its passage ``n`` is number ``numbers[n]``."""
        return replace(
            self,
            text=renumber(self.text, numbers),
            passages=passages,
            cited=[numbers[n] for n in self.cited],
            unsupported=[renumber(u, numbers) for u in self.unsupported],
            refocus=[],
        )

    def to_dict(self) -> dict[str, object]:
        """The answer object of the benchmark contract (``citations`` are the cited passages, with
        ``n``), plus the passages given, unsupported statements and invalid markers."""
        return {
            "question": self.question,
            "query": self.query,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [{"n": n, **self.passages[n - 1].to_dict()} for n in self.cited],
            "passages": [{"n": i + 1, **h.to_dict()} for i, h in enumerate(self.passages)],
            "unsupported": self.unsupported,
            "invalid_markers": self.invalid_markers,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "reply": self.reply,
        }


def nearby(question: str, hits: list[Hit], limit: int = 2, language: Language = Language.CHINESE) -> str:
    """What the documents cover near an unanswered question: the best passages' documents and clauses,
    each with its sentence closest to the (Chinese) question, after a header in ``language``."""
    seen, lines = set(), []
    for hit in hits:
        c = hit.chunk
        key = (c.doc_title, c.clause_path)
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"《{c.part or c.doc_title}》{c.clause_path}：{excerpt(c.text, question, 80)}")
        if len(lines) == limit:
            break
    header = WORDING[language]["nearby"]
    return f"{header}\n" + "\n".join(f"- {line}" for line in lines) if lines else ""


def finish(
    question: str,
    query: str,
    reply: str,
    hits: list[Hit],
    given: list[str],
    language: Language = Language.CHINESE,
    lexicon: Lexicon | None = None,
) -> Answer:
    """Check the model's ``reply`` and decide abstention from it and from the retrieval evidence.

    Abstains when nothing was retrieved; when the model says the passages do not answer; when every
    marker it wrote names a passage that was not given (see :func:`check_reply` for one stating
    figures); when it states figures of which none is in any passage, or names a place (温州, 宁波) that
    no passage names, or when every passage it cites states its figures of another level or party
    than the one asked (see :func:`said_of_another`: 单位's fine for a person; the answer is then the
    cited passage's clause stating the asked party's figure, if it has one: see :func:`party_clause`):
    not grounded in what was retrieved; or when each sentence
    of the question has a constraint (its places, years, periods, named documents, the attribute it
    asks for: see :func:`wanted`; a follow-up's completed from ``query``, which carries the
    conversation) that none of the passages it cites about the question states (the attribute asked,
    the reply neither): a passage is about it when it holds :data:`MIN_COVERAGE` of its content words
    (those the documents use or have near words for, by ``lexicon``) and fits its place (a city's
    document does not answer about the province); a passage naming the city asked about something else
    does not make another city's rule that city's. Otherwise it answered about something else. The cited
    passages are those after the check (a statement moves to the passage stating its figures, or
    holding clearly more of its wording). For a question in another language, ``query`` (its Chinese
    translation) stands for the question in these checks, and the answer's own words are in that
    language. An answer abstaining only because its passages are about something else lists in
    ``refocus`` the given passages that are about the question, to ask again with.
    """
    asked = question if language == Language.CHINESE else query
    check = check_reply(reply, given, question)
    figures = claims(check.text, question)  # markers aside: the same after they move
    where = bool(_WHERE.search(asked))
    moved = {}
    if where:  # the clause asked about: of the cited document's passages, the one holding the question
        moved = {n: _clause_asked(asked, hits, n, figures, lexicon) for n in check.cited}
    elif ASKS_TOTAL.search(asked):  # how many items a list has: the passage holding its last one
        moved = {n: _last_item(hits, n, figures) for n in check.cited}
    if moved:
        check.text = renumber(check.text, moved)
        check.cited = list(dict.fromkeys(moved[n] for n in check.cited))
    grounded = not figures or any(number_in(x, norm(p)) for x in figures for p in given)
    if grounded and check.cited and all(said_of_another(asked, figures, given[n - 1]) for n in check.cited):
        # the figures of another level or party: the cited passage's clause stating the asked party's, if any
        n = check.cited[0]
        clause = party_clause(asked, given[n - 1])
        grounded = bool(clause)
        if clause:
            check = Check(f"{clause}[{n}]", [n], [], [])
            figures = claims(check.text, question)
    places = set(PLACES.findall(check.text)) - set(PLACES.findall(asked))
    grounded = grounded and all(any(place in p for p in given) for place in places)
    cited = [hits[n - 1] for n in check.cited]
    relevant = [hit for hit in cited if fits(asked, query, hit, lexicon, constrained=False)]
    said = unmarked(check.text)
    on_topic = not cited or (relevant and any(not c.unmet(relevant, said) for c in wanted(asked, query)))
    invented = bool(check.invalid_markers) and not check.written  # cites only passages never given
    declined = declines(check.text, asked, given)
    abstained = not hits or not check.text or declined or not grounded or not on_topic or invented
    stating = _stating_asked(asked, given) if where else []
    if stating and (abstained or not set(check.cited) & set(stating)):
        # which document says it: the best passage stating what the question states (合同最长15年),
        # plainly about the question, where the model named another document or clause or none (it is
        # weak at this; retrieval ranks the source first); the 出处 line below gives its clause
        n = stating[0]
        if fits(asked, query, hits[n - 1], lexicon, WHERE_COVERAGE):
            check, abstained = Check(f"{label(hits[n - 1])}[{n}]", [n], [], []), False
    if abstained:
        refocus = []
        if hits and check.text and not (declined or invented or on_topic) and grounded:
            # the model answered from a passage about something else (the province's table for a
            # corridor's target): worth asking again with the passages about the question alone
            refocus = [n for n, hit in enumerate(hits, 1) if fits(asked, query, hit, lexicon)]
        return abstention(question, query, hits, reply, language, refocus)
    text = check.text
    if language == Language.CHINESE and check.cited and (where or terse(question, text)):
        text = with_basis(question, text, hits, check.cited[0])
    sources = [sources_line(hits, check.cited, language)] if where and check.cited else []
    text = "\n\n".join([text, *sources, *validity_notes([hits[n - 1] for n in check.cited], language)])
    return Answer(
        question, query, text, False, hits, check.cited, check.invalid_markers, check.unsupported, reply=reply
    )


def _stating_asked(question: str, given: list[str]) -> list[int]:
    """The given passages (numbered from 1) that state every figure of the question but its years: the
    clause a question such as 合同最长只能签15年,这个规定在哪一条 asks about states its 15 年."""
    asked = norm(question)
    figures = [m.group() + unit_at(asked, m.end()) for m in NUMBER.finditer(asked)]
    figures = [x for x in figures if not re.fullmatch(r"(?:19|20)\d\d年?", x)]
    return [n for n, p in enumerate(given, 1) if all(number_in(x, norm(p)) for x in figures)]


def _clause_asked(question: str, hits: list[Hit], n: int, figures: list[str], lexicon: Lexicon | None) -> int:
    """Of the given passages from the document of passage ``n`` that state what it states of the answer's
    ``figures``, the one holding most of the question's words (``n`` on a tie): where a question asks
    which clause says something, the answer names the document, and the model cites whichever of its
    passages came first."""
    c = hits[n - 1].chunk
    held = [x for x in figures if number_in(x, norm(c.text))]
    same = [
        m
        for m, hit in enumerate(hits, 1)
        if (hit.chunk.doc_title, hit.chunk.part) == (c.doc_title, c.part)
        and all(number_in(x, norm(hit.chunk.text)) for x in held)
    ]
    return max(same, key=lambda m: (coverage(question, hits[m - 1], lexicon), m == n))


def _last_item(hits: list[Hit], n: int, figures: list[str]) -> int:
    """The given passage holding the last item of the numbered list that passage ``n`` belongs to, when
    the answer's ``figures`` state that last number (a list's total is proved by its last item: 13 by
    ``序号13``, not by items 1-12); else ``n``."""
    c = hits[n - 1].chunk
    last = c.list_items.rpartition("-")[2]
    if not last or all(split_figure(x)[0] != last for x in figures):
        return n

    def parent(chunk: Chunk) -> tuple[str, str, str]:  # the list's heading, as the chunker groups it
        return chunk.doc_title, chunk.part, chunk.clause_path.rpartition(PATH_SEP)[0]

    for m, hit in enumerate(hits, 1):
        items = item_range(hit.chunk.clause_path)
        if items and items[1] == int(last) and parent(hit.chunk) == parent(c):
            return m
    return n


def terse(question: str, answer: str) -> bool:
    """Whether ``answer`` says little more than yes or no to a yes-or-no question, or than a figure: fewer
    than :data:`TERSE_BIGRAMS` bigrams beyond the question's wording and the answer's numbers."""
    said = norm(MARKER.sub("", answer))
    if not (NUMBER.search(said) or YES_NO.search(question)):
        return False
    return len(bigrams(NUMBER.sub("", said)) - bigrams(question)) < TERSE_BIGRAMS


def with_basis(question: str, answer: str, hits: list[Hit], n: int) -> str:
    """``answer`` followed by the sentence (or table row) of cited passage ``n`` behind it (原文：“…”[n]):
    the one stating the answer's figures, else the one sharing most of the question's and answer's
    wording."""
    passage, title = hits[n - 1].chunk.text, norm(hits[n - 1].chunk.doc_title)
    said = norm(MARKER.sub("", answer))
    figures = claims(answer, question)
    heading = (title, "")  # the title line and a bare 发文字号 line are not quoted
    spans = [
        (m.start(), m.end())
        for m in WHOLE_SENTENCE.finditer(passage)
        if DOC_NUMBER_ANYWHERE.sub("", norm(m.group())) not in heading
    ]
    stating = [s for s in spans if figures and all(number_in(x, norm(passage[slice(*s)])) for x in figures)]
    shared, (start, end) = closest_span(passage, stating or spans, bigrams(question + said))
    if not stating and shared < 2:
        return answer
    start, end = window(passage, start, end, figures)
    before = "…" if start > 0 and passage[start - 1] not in "。！？!?\n" else ""
    after = "…" if end < len(passage) and passage[end - 1] not in "。！？!?\n" else ""
    return f"{answer}\n\n原文：“{before}{passage[start:end].strip()}{after}”[{n}]"


def sources_line(hits: list[Hit], cited: list[int], language: Language = Language.CHINESE) -> str:
    """Where the cited passages stand: document, 发文字号 and clause path of each (出处：…[n]), for a
    question that asks which document or clause."""
    seen: dict[str, int] = {}
    for n in cited:
        seen.setdefault(f"{label(hits[n - 1])} {hits[n - 1].chunk.clause_path}", n)
    return WORDING[language]["source"] + "；".join(f"{where}[{n}]" for where, n in seen.items())


def validity_notes(cited: list[Hit], language: Language = Language.CHINESE) -> list[str]:
    """A line for each cited document that is not in force (已失效, 尚未施行) on the configured date."""
    notes: dict[str, str] = {}
    for hit in cited:
        status = hit.validity
        if status and status.validity in (Validity.EXPIRED, Validity.NOT_YET):
            name = hit.chunk.part or hit.chunk.doc_title
            notes[name] = f"{WORDING[language]['note']}《{name}》{status.validity.value}（{status.reason}）。"
    return list(notes.values())


def abstention(
    question: str,
    query: str,
    hits: list[Hit],
    reply: str = "",
    language: Language = Language.CHINESE,
    refocus: list[int] | None = None,
) -> Answer:
    """The answer "资料中未提及", with what the documents cover near the question (its Chinese ``query``
    when it is in another language; see :func:`nearby`)."""
    asked = question if language == Language.CHINESE else query
    parts = (WORDING[language]["not_found"], nearby(asked, hits, language=language))
    text = "\n\n".join(part for part in parts if part)
    return Answer(question, query, text, True, hits, reply=reply, refocus=refocus or [])


def _added(language: Language) -> tuple[str, ...]:
    """How the paragraphs start that the answering step adds to a reply: the quote, the source, a note."""
    words = WORDING[language]
    return ("原文：", words["source"], words["note"])


def statements(text: str, language: Language = Language.CHINESE) -> str:
    """An answer's ``text`` without the paragraphs added to the reply (see :func:`with_basis`,
    :func:`sources_line`, :func:`validity_notes`): what it states."""
    return "\n\n".join(p for p in text.split("\n\n") if not p.startswith(_added(language)))


def merge(
    question: str, query: str, parts: list[tuple[str, Answer]], language: Language = Language.CHINESE
) -> Answer:
    """One answer to a question split into parts (see :mod:`qa.decomposition`) from the answers to each,
    all numbering the same passages: each part's statement on its own line, after the thing it asks about
    unless it names it (``资料中未提及`` for a part that abstains), then the quotes, sources and validity
    notes, each once. Abstains, with what the documents cover nearby, when every part does.

    Args:
        question: the question as asked.
        query: what stands for it in retrieval.
        parts: the thing each part asks about, with its answer (see :meth:`Answer.renumbered`).
        language: the question's.
    """
    words = WORDING[language]
    answers = [answer for _, answer in parts]
    hits = answers[-1].passages
    reply = "\n".join(answer.reply for answer in answers)
    if all(answer.abstained for answer in answers):
        return abstention(question, query, hits, reply, language)
    lines: list[str] = []
    extras: dict[str, None] = {}
    added = _added(language)
    for subject, answer in parts:
        said = words["not_found"]
        if not answer.abstained:
            said = statements(answer.text, language)
            extras.update(dict.fromkeys(p for p in answer.text.split("\n\n") if p.startswith(added)))
        lines.append(said if subject in said else f"{subject}：{said}")
    tail = sorted(extras, key=lambda p: p.startswith(words["note"]))  # validity notes last
    return Answer(
        question,
        query,
        "\n\n".join(["\n".join(lines), *tail]),
        False,
        hits,
        list(dict.fromkeys(n for answer in answers for n in answer.cited)),
        [n for answer in answers for n in answer.invalid_markers],
        [u for answer in answers for u in answer.unsupported],
        reply=reply,
    )
