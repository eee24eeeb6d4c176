"""Hybrid retrieval: dense (FAISS) and BM25 scores, each scaled to [0, 1] over the pool of both
rankers' best candidates, summed (on the dev questions this beat reciprocal rank fusion, which
throws away how far ahead a confident BM25 match is: hit@1 0.83 against 0.81), aware of the
documents: a question that names a 发文字号 is answered from that document, and one that names a
document, a plan or an issuer has that document's clauses lifted first; a question asking for a
figure lifts the clauses that state one about its subject. Filters by document, issuer and year."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum
from functools import cached_property

import numpy as np
from scipy import sparse

from qa.chunking import PATH_SEP, Chunk, is_closing, scope_share
from qa.decomposition import split_question
from qa.embedding import Embedder
from qa.expansion import Lexicon, Thesaurus, unknown_words
from qa.figures import REFERENCE
from qa.focus import SentenceFocus
from qa.lexical import normalize
from qa.metadata import KINDS
from qa.numerals import arabic_numerals
from qa.parsing import DOC_NUMBER_ANYWHERE, normalize_doc_number
from qa.store import Query, Ranker, Scope, Store, documents_of, history_rows, scope_rows, top_rows
from qa.tables import CELL_SEP, ROW_SEP
from qa.tagging import CITIES, PROVINCE
from qa.validity import Status, parse_as_of, repeals, validity_of

_ASKS_WHEN_IN_FORCE = re.compile(
    r"(施行|实施|生效|执行|有效期|废止).{0,8}(什么时候|哪天|何时|日期|多久|哪一天|到期)"
    r"|(什么时候|哪天|何时|哪一天|从哪).{0,10}(施行|实施|生效|执行|有效)"
)
"""A question about when something takes effect or expires: a closing provision answers it when the
something is a document (:func:`names_a_document`), not a licence or an order it rules on."""
_DOCUMENT_WORDS = re.compile(r"政策|文件|《[^》]+》")
_ASKS_HISTORY = re.compile(r"通过|批准|修正|修订|修改|制定|颁布|公布|出台|沿革|历史")
"""A question about a document's history: only such a question is answered from its history lines."""


_ASKS_SCOPE = re.compile(r"适用|范围|目的|宗旨|依据|根据什么|为什么|为何|立法")
"""A question on what a document applies to or why it was made: its scope article answers it."""
SCOPE_SHARE = 0.5
"""A clause more than this share of which states its document's purpose or scope is a scope article."""
_ASKS_PENALTY = re.compile(r"罚|处分|法律责任|什么责任|承担.{0,4}责任|什么后果|追究")
"""A question about what a breach costs: a fine, a sanction, liability."""
_PENALTY = re.compile(r"罚款|罚金|处罚|警告|没收|吊销|拘留|处分|追究.{0,8}责任")
"""Wording that imposes a sanction: a penalty clause (处五十元以上二百元以下罚款, 吊销许可证,
依法追究刑事责任)."""


def is_penalty(text: str) -> bool:
    """Whether a clause imposes a sanction (a regulation's penalty articles, a plan's 追究责任)."""
    return bool(_PENALTY.search(text))


_ASKS_FIGURE = re.compile(
    r"多少|几[个项家所条名次倍万千百天日周月年岁]|多久|比例|比重|占比|多大|多高|多长|目标是|达到"
)
"""A question asking for a figure: an amount, a share, a target."""
_FIGURE = re.compile(r"\d|分之|[两一二三四五六七八九十百千]+[倍成]|翻一?番")
_PLAN_NUMBER = r"十[一二三四五]五"
_NOT_FIGURE = re.compile(rf"(?:19|20)\d\d年?|{_PLAN_NUMBER}|{REFERENCE.pattern}")
"""Years, plan names (十四五) and references to a part of a document (第11条) are not the figures a
question asks for."""
_QUESTION_NUMBER = re.compile(rf"\d|{_PLAN_NUMBER}")
"""A question's own numbers (2025, 十四五) are not the subject of the figure it asks for."""
_CLAUSE = re.compile(r"[,。;!?]")
_SENTENCE = re.compile(r"[。;!?]")
"""Clause and sentence ends (of normalized text: full-width punctuation is ASCII after NFKC)."""
_TABLE_ROW = (normalize(CELL_SEP), normalize(ROW_SEP))


def asks_figure(question: str) -> bool:
    """Whether a question asks for a figure (多少, 比例, 达到…)."""
    return bool(_ASKS_FIGURE.search(question))


def states_figure(text: str) -> bool:
    """Whether ``text`` (normalized) states a figure in either script: digits, 十五日, a fraction
    (三分之二), a multiple (两倍); not a year, a plan name or a reference to a clause (第十一条)."""
    return bool(_FIGURE.search(_NOT_FIGURE.sub("", arabic_numerals(text))))


def figure_parts(text: str, cited: str = "", sentence_share: float = 0.5) -> list[tuple[str, float]]:
    """The parts of a passage that state a figure, normalized, each with how much it counts: its clauses
    (a table row is one clause) with 1, its sentences with ``sentence_share`` (the figure may stand in
    the clause after its subject: ``对首次通过认定的高新技术企业,给予每家 20 万元奖励``). Each part carries
    the wording the passage cites (:attr:`Chunk.cited`): a penalty's subject is the act it cites."""
    cited = normalize(cited)
    parts = []
    for line in normalize(text).split("\n"):
        row = all(sep in line for sep in _TABLE_ROW)
        for splitter, share in ((_CLAUSE, 1.0), (_SENTENCE, sentence_share)):
            for part in [line] if row else splitter.split(line):
                if states_figure(part):
                    parts.append((part + cited, share))
    return parts


def _figure_parts(chunk: Chunk, penalty: bool) -> list[tuple[str, float]]:
    """The :func:`figure_parts` of ``chunk``, with the wording it cites only for a question on what a breach
    costs (``penalty``): a fine is a figure about the act it punishes, not about the rule that act breaks."""
    return figure_parts(chunk.text, chunk.cited if penalty else "")


def figure_coverage(parts: list[tuple[str, float]], weights: dict[str, float]) -> float:
    """How much of a question a passage states a figure about: the largest share of the question's token
    weights found in one of the passage's :func:`figure_parts`, times that part's share.

    Args:
        parts: the passage's figure parts.
        weights: token -> weight (IDF) of the question's words, without its numbers.
    """
    total = sum(weights.values())
    best = max(
        (share * sum(w for t, w in weights.items() if t in part) for part, share in parts), default=0.0
    )
    return best / total if total else 0.0


ABOVE_SHARE = 0.5
"""The share of the place lift that the documents issued above a named place get (a province's and the
nation's apply in its cities too): a city's own document first, then those above it, then other cities'."""

NAMED_SHARE = 0.5
"""Documents lifted by at least this share of the best-lifted one's lift are those a question names: the
fusion takes candidates from among their clauses too, however many other documents there are."""


class Mode(str, Enum):
    HYBRID = "hybrid"
    DENSE = "dense"
    BM25 = "bm25"


@dataclass
class Filters:
    """Restrict hits to a document (doc number or words of its title), an issuer, a year, or the
    documents that apply in a region (a city's own and the province-wide and national ones)."""

    doc: str | None = None
    issuer: str | None = None
    year: int | None = None
    region: str | None = None


@dataclass
class Hit:
    rank: int
    score: float
    chunk: Chunk
    validity: Status | None = None
    headings: str = ""
    """The wording of the clauses that head this one in its document (the paragraphs of its parent
    sections: ``到2025年，…`` above a target), which often says what its figures are of; filled
    (:meth:`Retriever.headings`) for the passages an answer is written from, not for every search."""

    def to_dict(self) -> dict[str, object]:
        """The hit object of the benchmark contract, plus issuer, dates, kind, part, offsets and validity
        (``{"status": "现行有效", "reason": "有效期至2028-12-31"}``)."""
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "chunk_id": c.chunk_id,
            "source_file": c.source_file,
            "doc_title": c.doc_title,
            "doc_number": c.doc_number,
            "clause_path": c.clause_path,
            "text": c.text,
            "part": c.part,
            "issuer": c.issuer,
            "date": c.date,
            "kind": c.kind,
            "amended_date": c.amended_date,
            "effective_date": c.effective_date,
            "start": c.start,
            "end": c.end,
            "validity": self.validity.to_dict() if self.validity else None,
        }


def interleaved(lists: list[list[Hit]], k: int) -> list[Hit]:
    """The first ``k`` passages of ``lists`` taken in turns (the first of each, then the second of
    each…), each passage once, ranked anew."""
    seen: set[str] = set()
    out: list[Hit] = []
    for hit in (h for group in itertools.zip_longest(*lists) for h in group if h is not None):
        if hit.chunk.chunk_id not in seen and len(out) < k:
            seen.add(hit.chunk.chunk_id)
            out.append(replace(hit, rank=len(out) + 1))
    return out


def _scaled(scores: np.ndarray) -> np.ndarray:
    """Min-max scaling to [0, 1] over the candidate pool (all zeros when the scores are all equal)."""
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", normalize(text))


def _ngrams(text: str, n: int = 2) -> set[str]:
    """Character n-grams of the Chinese text (digits and Latin letters dropped: years and numbers
    say nothing about which document is meant)."""
    chars = re.sub(r"[^\u4e00-\u9fff]", "", _squash(text))
    return {chars[i : i + n] for i in range(len(chars) - n + 1)}


def _names(chunk: Chunk) -> str:
    """The ways a user names a document: title, attached plan, issuer (十四个五年 said as 十四五)."""
    return short_plan(" ".join((chunk.doc_title, chunk.part, chunk.issuer)))


_PLAN_NAME = re.compile(r"第?十([一二三四五六七八九])个五年")


def short_plan(text: str) -> str:
    """A plan's full name in its short form, as users say it (第十四个五年 -> 十四五)."""
    return _PLAN_NAME.sub(r"十\1五", text)


_NAMED = re.compile(
    r"[^,，。?？!！;；:：、]{0,12}?"
    rf"(?:规划纲要|名单|{'|'.join(k for k in KINDS if len(k) > 1 and k not in ('规定', '解释'))})"
)
"""Where a question names a document: up to twelve characters before a kind of document
(``商务“十四五”规划``, ``嘉兴卫生健康现代化实施意见``, ``宁波市学校安全条例``); not the one-character kinds
(法, 令, 函: they end too many other words) nor 规定 and 解释 (everyday verbs: 有什么规定)."""


_PLACE = re.compile(r"(.{2,3}?)[省市县区]")


def _place(issuer: str) -> str:
    """Where an issuer governs: 嘉兴 for 嘉兴市人民政府办公室, 浙江 for 浙江省人民政府 ("" when unknown)."""
    match = _PLACE.match(issuer)
    return match.group(1) if match else ""


def named_spans(query: str) -> list[str]:
    """The parts of a question that name a document (empty when it names none)."""
    return _NAMED.findall(short_plan(query))


def names_a_document(query: str) -> bool:
    """Whether a question speaks of a document: names one by its kind, its 发文字号 or a 《title》, or says
    政策 or 文件."""
    return bool(named_spans(query) or DOC_NUMBER_ANYWHERE.search(query) or _DOCUMENT_WORDS.search(query))


class DocumentPrior:
    """How much a question lifts each document's clauses: the IDF-weighted character bigrams that the
    question shares with the document's names (title, plan title, issuer), so that 嘉兴, 妇女 or 商务
    count. Bigrams shared by every document (浙江, 政府) weigh nothing.

    When the question names a document (``商务“十四五”规划定的…目标``), only the naming words count,
    with ``named_weight``: the other words are about the content (社会消费品, 目标) and would lift a
    document whose title happens to hold them. The documents whose names hold less of the name than the
    best one are lifted the less, in proportion: every plan shares the 十四五规划 of 省“十四五”规划纲要,
    the outline alone its 纲要. A question naming several documents lifts each by the name that names it
    best. Otherwise all its words count, with ``other_weight``.
    The one place a question names (嘉兴) is read apart, by :meth:`at_place`.

    Args:
        chunks: the index's chunks.
        named_weight: the lift of a fully named document.
        other_weight: the lift of a document whose names share about three distinctive bigrams with
            a question that names no document.
    """

    def __init__(
        self,
        chunks: list[Chunk],
        named_weight: float = 1.2,
        other_weight: float = 0.2,
    ) -> None:
        self.named_weight = named_weight
        self.other_weight = other_weight
        self.doc_keys, self.chunk_doc = documents_of(chunks)
        first = np.full(len(self.doc_keys), len(chunks), dtype=np.int64)
        np.minimum.at(first, self.chunk_doc, np.arange(len(chunks)))
        self.docs = [chunks[i] for i in first]
        """One chunk of each document (its first), in document order: its metadata is read from it."""
        doc_grams = [_ngrams(_names(c)) for c in self.docs]
        self.doc_places = np.array([_place(c.issuer) for c in self.docs])
        self.places = {p for p in self.doc_places if p}
        df = Counter(b for grams in doc_grams for b in grams)
        n = len(self.doc_keys)
        self.gram_ids = {b: i for i, b in enumerate(df)}
        self.idf = np.array([math.log(n / d) for d in df.values()], dtype=np.float64)
        rows = [i for i, grams in enumerate(doc_grams) for _ in grams]
        cols = [self.gram_ids[b] for grams in doc_grams for b in grams]
        self.names = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(self.gram_ids)))
        """Documents by name bigrams: 1 where a document's names hold the bigram."""
        self.saturation = 3 * math.log(max(n, 2))
        """Weight at which a document counts as fully named: about three distinctive bigrams."""

    def scores(self, query: str) -> np.ndarray:
        """Per document: 0 when the question shares no distinctive name bigram with it, the weight from
        ``saturation`` on."""
        spans = named_spans(query)
        if spans:  # each document by the name that names it best
            lift = np.max([self._lift(_ngrams(span), named=True) for span in spans], axis=0)
        else:
            lift = self._lift(_ngrams(query), named=False)
        return lift

    def at_place(self, query: str) -> np.ndarray:
        """Per document, how far it applies in the one place the question names: 1 when issued there,
        ``ABOVE_SHARE`` when issued above it (the province of a Zhejiang city, the nation), else 0 (all 0
        when the question names no place or several)."""
        places = {p for p in self.places if p in query}
        if len(places) != 1:
            return np.zeros(len(self.docs))
        place = places.pop()
        above = ["", _place(PROVINCE)] if place in CITIES else [""]
        return (self.doc_places == place) + ABOVE_SHARE * np.isin(self.doc_places, above)

    def _lift(self, grams: set[str], named: bool) -> np.ndarray:
        """Per document: ``named_weight`` (``other_weight`` for grams not from a name) times its share of
        ``saturation`` in the IDF of the ``grams`` its names hold; for a ``named`` document, times its share
        of the best-named one's (a share of the name: 十四五规划 of 省“十四五”规划纲要)."""
        ids = [self.gram_ids[b] for b in grams if b in self.gram_ids]
        query = np.zeros(len(self.gram_ids))
        query[ids] = self.idf[ids]
        weights = self.names @ query
        scale = self.named_weight if named else self.other_weight
        lift = scale * np.minimum(weights / self.saturation, 1.0)
        best = weights.max()
        return lift * weights / best if named and best > 0 else lift


class DocumentTable:
    """Per document, what filters and 发文字号 lookups read, as arrays: a question is checked against
    all documents at once.

    Args:
        prior: the index's :class:`DocumentPrior` (its documents, in the order its scores use).
        regions: per chunk, the region its document applies in (:class:`qa.tagging.Tags`).
    """

    def __init__(self, prior: DocumentPrior, regions: list[str]) -> None:
        docs = prior.docs
        self.regions = np.full(len(docs), PROVINCE, dtype=object)
        if regions:
            self.regions[prior.chunk_doc] = regions
        self.numbers = np.array([c.doc_number for c in docs])
        self.names = np.array([_squash(c.part or c.doc_title) for c in docs])
        self.issuers = np.array([_squash(c.issuer + c.doc_title) for c in docs])
        self.dates = np.array([c.date for c in docs])
        self.by_number: dict[tuple[str, int], list[tuple[str, str]]] = {}
        """(year, sequence) -> (prefix, 发文字号) of the documents so numbered."""
        for number in set(self.numbers):
            m = DOC_NUMBER_ANYWHERE.fullmatch(number) if number else None
            if m:
                self.by_number.setdefault((m.group(2), int(m.group(3))), []).append((m.group(1), number))

    def numbered(self, query: str) -> np.ndarray:
        """Per document: whether the question names its 发文字号 (printed with 〔〕, [] or ())."""
        named = set()
        for m in DOC_NUMBER_ANYWHERE.finditer(query):
            for prefix, number in self.by_number.get((m.group(2), int(m.group(3))), []):
                if m.group(1).endswith(prefix):
                    named.add(number)
        return np.isin(self.numbers, list(named))

    def allowed(self, filters: Filters) -> np.ndarray:
        """Per document: whether ``filters`` let it through: its 发文字号, or words of its title (or of the
        plan it attaches), its issuer (or title) holding the issuer asked for, its date in the year."""
        mask = np.ones(len(self.numbers), dtype=bool)
        if filters.doc:
            number = normalize_doc_number(filters.doc)
            if number:
                mask &= self.numbers == number
            else:
                mask &= np.char.find(self.names, _squash(filters.doc)) >= 0
        if filters.issuer:
            mask &= np.char.find(self.issuers, _squash(filters.issuer)) >= 0
        if filters.year:
            mask &= np.char.startswith(self.dates, str(filters.year))
        if filters.region:
            mask &= (self.regions == filters.region) | (self.regions == PROVINCE)
        return mask


class Retriever:
    """Searches a :class:`Store` with an :class:`Embedder`.

    Args:
        index: the loaded store (embedded or Milvus).
        embedder: the model that embedded the index.
        candidates: hits taken from each ranker into the fusion pool.
        dense_weight: weight of the scaled dense score (the scaled BM25 score has weight 1).
        prior_weight: how much a question's words shared with a document's names lift its clauses
            (added to a fused score whose maximum is ``1 + dense_weight``; see :class:`DocumentPrior`).
        named_weight: how much a question that names a document (``商务“十四五”规划``) lifts it.
        place_weight: how much a question that names one place (嘉兴) lifts the documents issued there
            (those issued above it, the province's and the nation's, get ``ABOVE_SHARE`` of it).
        figure_weight: how much a question asking for a figure (多少, 比例) lifts a clause that states one
            about the question's words (see :func:`figure_coverage`).
        penalty_weight: how much a question about a sanction (罚多少, 法律责任) lifts the clauses that
            impose one (:func:`is_penalty`).
        scope_weight: how much a clause stating its document's purpose or scope (more than
            :data:`SCOPE_SHARE` of it, :func:`qa.chunking.scope_share`) drops for a question not on scope.
        focus_weight: how much a passage's sentence closest to the question counts when the passages of
            one document among the first ``focus_window`` hits are ordered again
            (:class:`qa.focus.SentenceFocus`); 0: not at all.
        focus_window: how many of the first hits are ordered again by their closest sentence.
        as_of: the date as of which hits tell their document's validity (None: today).
        thesaurus: the documents' words, to search for those nearest to a question's words that no
            passage uses (None: the question's words only).
    """

    def __init__(
        self,
        index: Store,
        embedder: Embedder,
        candidates: int = 50,
        dense_weight: float = 1.0,
        prior_weight: float = 0.2,
        named_weight: float = 1.2,
        place_weight: float = 1.0,
        figure_weight: float = 0.9,
        penalty_weight: float = 0.5,
        scope_weight: float = 0.5,
        focus_weight: float = 5.0,
        focus_window: int = 10,
        as_of: date | str | None = None,
        thesaurus: Thesaurus | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.dense_weight = dense_weight
        self.figure_weight = figure_weight
        self.penalty_weight = penalty_weight
        self.scope_weight = scope_weight
        self.sentence_focus = SentenceFocus(embedder, focus_weight, focus_window)
        self.place_weight = place_weight
        self.prior = DocumentPrior(index.chunks, named_weight, prior_weight)
        self.documents = DocumentTable(self.prior, [t.region for t in index.tags])
        self.closing = np.array([is_closing(c.text) for c in index.chunks], dtype=bool)
        self.history = history_rows(index.chunks)
        self.penalty = np.array([is_penalty(c.text) for c in index.chunks], dtype=bool)
        self.scope = np.array([scope_share(c.text) > SCOPE_SHARE for c in index.chunks], dtype=bool)
        self._figures: dict[tuple[int, bool], list[tuple[str, float]]] = {}
        self.as_of = parse_as_of(as_of)
        self.thesaurus = thesaurus
        self.repealed = repeals(index.chunks)
        self._status: dict[tuple[str, str, str], Status] = {}

    def validity(self, chunk: Chunk) -> Status:
        """The validity of a chunk's document as of ``as_of`` (one computation per document)."""
        key = (chunk.source_file, chunk.doc_title, chunk.part)
        if key not in self._status:
            self._status[key] = validity_of(chunk, self.as_of, self.repealed)
        return self._status[key]

    def encode(self, text: str, expand: bool = True) -> Query:
        """``text`` with its vector, as the rankers take it; when ``expand``, the keywords with the
        documents' words for its words that no passage uses (see :mod:`qa.expansion`), the vector of
        ``text`` as written."""
        thesaurus = self.thesaurus if expand else None
        unknown = unknown_words(text, self.index.vocabulary) if thesaurus is not None else []
        vectors = self.embedder.encode_query([text, *unknown])  # one pass
        nearest = thesaurus.nearest(vectors[1:]) if thesaurus is not None and unknown else []
        return Query(" ".join([text, *nearest]), vectors[0])

    def lexicon(self, text: str) -> Lexicon:
        """The documents' words, with the nearest of them for each word of ``text`` that no passage uses
        (as :meth:`encode` expands it; none without a thesaurus)."""
        vocabulary = self.index.vocabulary
        unknown = unknown_words(text, vocabulary) if self.thesaurus is not None else []
        if not unknown:
            return Lexicon(vocabulary)
        near = self.thesaurus.neighbours(self.embedder.encode_query(unknown))
        return Lexicon(vocabulary, {w: list(n) for w, n in zip(unknown, near, strict=True) if n})

    def dense_scores(self, text: str, rows: np.ndarray) -> np.ndarray:
        """Inner product of the vector of ``text`` with the vectors of the passages in ``rows``."""
        return self.index.scores(Ranker.DENSE, self.encode(text), rows)

    def _scope(self, query: str, filters: Filters | None, mode: Mode) -> Scope:
        documents = None
        if filters and (filters.doc or filters.issuer or filters.year or filters.region):
            documents = self.documents.allowed(filters)
        if mode == Mode.HYBRID:
            named = self.documents.numbered(query)
            if named.any():
                documents = named if documents is None else documents & named
            return Scope(documents, with_history=bool(_ASKS_HISTORY.search(query)))
        return Scope(documents)

    def figures(self, row: int, penalty: bool = False) -> list[tuple[str, float]]:
        """The figure parts of the passage in ``row`` (:func:`_figure_parts`; read once, when first asked
        for)."""
        if (row, penalty) not in self._figures:
            self._figures[row, penalty] = _figure_parts(self.index.chunks[row], penalty)
        return self._figures[row, penalty]

    def search(
        self,
        query: str,
        k: int = 10,
        mode: Mode = Mode.HYBRID,
        filters: Filters | None = None,
        expand: bool = True,
        focus: bool = True,
        split: bool = True,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first (its unknown words ``expand``-ed by the
        thesaurus, see :meth:`encode`; the first few ordered again by their sentence closest to it when
        ``focus``, see :class:`qa.focus.SentenceFocus`). A question asking the same of several things
        (``A和B分别…``, ``A与B…有什么不同``) is searched once for each when ``split`` (see
        :func:`qa.decomposition.split_question`), their passages taken in turns."""
        parts = split_question(query) if split else []
        if len(parts) > 1:
            found = [self.search(p.question, k, mode, filters, expand, focus, split=False) for p in parts]
            return interleaved(found, k)
        scope = self._scope(query, filters, mode)
        if scope.documents is not None and not scope.documents.any():
            return []
        if mode != Mode.HYBRID:
            ranker = Ranker.DENSE if mode == Mode.DENSE else Ranker.KEYWORD
            q = self.encode(query, expand=False) if ranker == Ranker.DENSE else Query(query)
            return self._hits(*self.index.top(ranker, q, k, scope))
        q = self.encode(query, expand)
        doc_prior = self.prior.scores(query)
        here = self.prior.at_place(query)
        scopes = [scope]
        # candidates from the whole index, and as many again from the documents the question names
        # (by their names or by the place they were issued in)
        own = doc_prior + self.place_weight * (here == 1)
        named = (own >= NAMED_SHARE * own.max()) & (own > 0)
        if named.any():
            in_scope = named if scope.documents is None else named & scope.documents
            if in_scope.any():
                scopes.append(Scope(in_scope, scope.with_history))
        found: dict[Ranker, dict[int, float]] = {r: {} for r in Ranker}  # each ranker's scores by row
        for ranker in Ranker:
            for s in scopes:
                found[ranker].update(zip(*self.index.top(ranker, q, self.candidates, s), strict=True))
        pool = np.array(sorted(set(found[Ranker.DENSE]) | set(found[Ranker.KEYWORD])), dtype=np.int64)
        if not len(pool):
            return []
        dense, lexical = (self._pool_scores(r, q, pool, found[r]) for r in (Ranker.DENSE, Ranker.KEYWORD))
        prior = (doc_prior + self.place_weight * here)[self.prior.chunk_doc]
        fused = np.full(len(self.index.chunks), -np.inf)
        fused[pool] = _scaled(lexical) + self.dense_weight * _scaled(dense) + prior[pool]
        penalty = bool(_ASKS_PENALTY.search(query))
        if self.figure_weight and asks_figure(query):
            weights = self._subject_weights(query)
            fused[pool] += self.figure_weight * np.array(
                [figure_coverage(self.figures(i, penalty), weights) for i in pool]
            )
        if self.penalty_weight and penalty:
            fused[pool] += self.penalty_weight * self.penalty[pool]
        if self.scope_weight and not _ASKS_SCOPE.search(query):
            fused[pool] -= self.scope_weight * self.scope[pool]
        if _ASKS_WHEN_IN_FORCE.search(query) and names_a_document(query):
            # closing provisions outside the pool too: their document's lift
            closing = np.flatnonzero(self.closing & scope_rows(scope, self.prior.chunk_doc, self.history))
            fused[closing] = np.maximum(fused[closing], prior[closing]) + 1.0 + self.dense_weight
        rows = np.flatnonzero(np.isfinite(fused))
        best = rows[top_rows(fused[rows], max(k, self.sentence_focus.window if focus else 0))]
        scores = fused[best]
        if focus and q.vector is not None:
            order, scores = self.sentence_focus.reorder(
                q.vector, [self.index.chunks[i] for i in best], scores
            )
            best = best[order]
        return self._hits(best[:k], scores[:k])

    def _pool_scores(
        self, ranker: Ranker, query: Query, pool: np.ndarray, known: dict[int, float]
    ) -> np.ndarray:
        """The scores of the ``pool`` by ``ranker``: those its candidates brought, the others asked for."""
        missing = np.array([i for i in pool if i not in known], dtype=np.int64)
        if len(missing):
            known.update(zip(missing.tolist(), self.index.scores(ranker, query, missing), strict=True))
        return np.array([known[i] for i in pool.tolist()], dtype=np.float32)

    def _subject_weights(self, query: str) -> dict[str, float]:
        """The IDF of the question's words, its own numbers (2025, 十四五) left out."""
        weights = self.index.term_weights(query)
        return {t: w for t, w in weights.items() if not _QUESTION_NUMBER.search(t)}

    def figure_fit(self, query: str, chunks: list[Chunk]) -> list[float]:
        """How much of the question each chunk states a figure about (:func:`figure_coverage`)."""
        weights, penalty = self._subject_weights(query), bool(_ASKS_PENALTY.search(query))
        return [figure_coverage(_figure_parts(c, penalty), weights) for c in chunks]

    def _hits(self, rows: np.ndarray, scores: np.ndarray) -> list[Hit]:
        chunks = self.index.chunks
        return [
            Hit(r + 1, float(score), chunks[i], self.validity(chunks[i]))
            for r, (i, score) in enumerate(zip(rows, scores, strict=True))
        ]

    @cached_property
    def _clauses(self) -> dict[tuple[str, str, str, str], int]:
        """The row of each document's first chunk of each clause path."""
        rows: dict[tuple[str, str, str, str], int] = {}
        for i, c in enumerate(self.index.chunks):
            rows.setdefault((c.source_file, c.doc_title, c.part, c.clause_path), i)
        return rows

    def headings(self, chunk: Chunk) -> str:
        """The wording of the clauses whose paths lead to ``chunk``'s (see :attr:`Hit.headings`)."""
        steps = chunk.clause_path.split(PATH_SEP)
        key = (chunk.source_file, chunk.doc_title, chunk.part)
        rows = [self._clauses.get((*key, PATH_SEP.join(steps[:n]))) for n in range(1, len(steps))]
        return "\n".join(self.index.chunks[row].text for row in rows if row is not None)
