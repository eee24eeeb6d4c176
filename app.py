"""政策问答: the web chat. A thin Gradio layer over :class:`qa.pipeline.Pipeline` (the same pipeline as the
``qa`` CLI): a chat that streams cited answers with source cards, a "查找条款" mode that lists the matching
clauses without the model, a "政策找企业 / 政策找人" mode that lists the clauses applying to a profile
(``qa match``), filters, and the ``ask``, ``locate`` and ``match`` API endpoints.

All document and user text is HTML-escaped before it is rendered (see :func:`esc`).

    python app.py [--host 127.0.0.1] [--port 7860]
"""

from __future__ import annotations

import argparse
import contextlib
import html
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import gradio as gr

from qa.answering import Answer
from qa.chunking import Chunk
from qa.config import Config
from qa.generation import GenerationError
from qa.matching import GENERIC, Match, Profile, match_report
from qa.models import ModelError
from qa.pipeline import Pipeline, QuestionError, Sources, check_question
from qa.prompting import NOT_FOUND
from qa.readers import CorpusError, read_document
from qa.retrieval import Filters, Hit
from qa.roles import Attribute
from qa.store import IndexUnusable, Store
from qa.tagging import CATEGORIES, CITIES, COUNTIES, INDUSTRIES, PROVINCE, Kind

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
CONTEXT_CHARS = 1500
"""Characters of the document shown on each side of a clause in the document viewer."""
LOCATE_K = 5
MATCH_K = 10
MATCH_FOLD_CHARS = 200
"""A matching clause longer than this is folded (its one-line summary says what it gives)."""

ASK_EXAMPLES = [
    "嘉兴市最低工资标准现在是多少？",
    "浙江妇女发展规划要求把孕产妇死亡率控制在多少以下？",
    "嘉兴对首次认定的高新技术企业奖励多少钱？",
    "浙政发〔2021〕16号是从哪天开始施行的？",
    "What is the hourly minimum wage for part-time work in Jiaxing?",
]
LOCATE_EXAMPLES = [
    "公建民营养老机构合同期限",
    "高标准打造祥符荡科创绿谷",
    "外籍高端人才工作许可",
]
MATCH_EXAMPLES = [  # profile, region, kind, industry, enterprise qualifications, person situations
    ["嘉兴一家做新材料的科技型中小企业，40人，去年研发投入占营收6%", "", "", "", [], []],
    ["", "海宁", Kind.ENTERPRISE.value, "新材料", ["高新技术企业"], []],
    ["温州的失能老人家属", "", "", "", [], []],
]
KIND_LABELS = {Kind.ENTERPRISE: "企业", Kind.PERSON: "个人"}
ATTRIBUTE_LABELS = {
    Attribute.AGE: "年龄（岁）",
    Attribute.HEADCOUNT: "人数",
    Attribute.REVENUE: "营收（万元）",
    Attribute.RD_SHARE: "研发投入占比（%）",
}
EMPTY_PROFILE = "画像为空：请描述企业或个人（例如“嘉兴一家科技型中小企业，40人”），或选择资质、身份或行业。"

_USER_ERRORS = (QuestionError, ModelError, GenerationError, IndexUnusable, CorpusError)
"""Errors whose message is written for the user; anything else is logged and reported in general words."""

_TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;"})
_LINKED_MARKER = re.compile(r"\[(\d+(?:, \d+)*)\]")
"""Citation markers as :func:`qa.answering.finish` leaves them: ``[1]``, ``[1, 3]``."""


def esc(text: object) -> str:
    """``text`` as inert HTML text: escaped, and with ``$ { } `` ` `` as entities so that gr.HTML's
    ``${…}`` / ``{{…}}`` templates cannot pick anything up from document or user text."""
    return html.escape(str(text), quote=True).translate(_TEMPLATE_CHARS)


def marked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` escaped, with the character ``spans`` wrapped in ``<mark>``."""
    out, last = [], 0
    for start, end in sorted(spans):
        start = max(start, last)
        if end <= start:
            continue
        out += [esc(text[last:start]), f"<mark>{esc(text[start:end])}</mark>"]
        last = end
    out.append(esc(text[last:]))
    return "".join(out)


def answer_html(text: str, anchor: str | None) -> str:
    """An answer's text escaped; with an ``anchor`` prefix its ``[n]`` markers link to the cards
    ``{anchor}-{n}``."""
    if anchor is None:
        return esc(text)
    out, last = [], 0
    for m in _LINKED_MARKER.finditer(text):
        links = ", ".join(f'<a class="cite" href="#{anchor}-{n}">{n}</a>' for n in m.group(1).split(", "))
        out += [esc(text[last : m.start()]), f"<sup>[{links}]</sup>"]
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out)


def card_html(
    hit: Hit,
    label: str,
    anchor: str,
    spans: list[tuple[int, int]] | None = None,
    details: str = "",
    fold_chars: int | None = None,
) -> str:
    """A source card: document, 发文字号, issuer, date, validity (现行有效/已失效/…, with its reason),
    clause path, ``details`` (HTML, e.g. what a matching clause gives) and the passage (``spans``
    highlighted; folded when over ``fold_chars`` characters), with a button that opens the document
    around the clause."""
    c = hit.chunk
    validity = hit.to_dict().get("validity") or {}
    meta = [
        f'<span class="docno">{esc(c.doc_number)}</span>' if c.doc_number else "无文号",
        esc(c.issuer) if c.issuer else "",
        esc(c.date) if c.date else "",
        f"{esc(c.amended_date)} 修正" if c.amended_date else "",
        f'<span class="validity">{esc(validity["status"])}</span>'
        f'<span class="validity-reason">{esc(validity.get("reason", ""))}</span>'
        if validity.get("status")
        else "",
    ]
    part = f'<div class="part">{esc(c.part)}</div>' if c.part else ""
    passage = f'<div class="passage">{marked(c.text, spans or [])}</div>'
    if fold_chars is not None and len(c.text) > fold_chars:
        passage = f'<details class="fold"><summary>条款原文（{len(c.text)} 字）</summary>{passage}</details>'
    return (
        f'<div class="card" id="{anchor}">'
        f'<div class="card-head"><span class="n">{esc(label)}</span> <b>{esc(c.doc_title)}</b></div>{part}'
        f'<div class="meta">{" · ".join(m for m in meta if m)}</div>'
        f'<div class="path">{esc(c.clause_path)}</div>{details}{passage}'
        f'<button class="open-doc" data-chunk="{esc(c.chunk_id)}">查看原文上下文</button>'
        "</div>"
    )


def notice_html(message: str, kind: str = "error") -> str:
    return f'<div class="notice {kind}">{esc(message)}</div>'


def user_message(exc: Exception) -> str:
    """What to tell the user about ``exc``: its own message when it is written for users, else plain
    words (the traceback goes to the server log)."""
    if isinstance(exc, QuestionError):
        return str(exc)
    if isinstance(exc, _USER_ERRORS):
        return f"出错了：{exc}"
    traceback.print_exc()
    return f"内部错误（{type(exc).__name__}），请稍后再试；详情见服务器日志。"


def parse_filters(doc: str | None, issuer: str | None, year: int | str | None) -> Filters | None:
    """Filters from the UI or API values (empty values mean no filter)."""
    year_text = str(year).strip() if year is not None else ""
    if year_text and not re.fullmatch(r"\d{4}", year_text):
        raise QuestionError(f"年份应为四位数字，例如 2021（收到：{year_text}）。")
    filters = Filters(
        (doc or "").strip() or None, (issuer or "").strip() or None, int(year_text or 0) or None
    )
    return filters if filters.doc or filters.issuer or filters.year else None


def parse_profile(
    text: str | None,
    region: str | None,
    kind: str | None,
    industry: str | None,
    qualifications: list[str] | str | None,
) -> Profile:
    """A profile from the UI or API values (empty values mean not given; ``qualifications`` a list, or
    one string separated by 、 or commas); :class:`QuestionError` when it says nothing or names an
    unknown kind."""
    if isinstance(qualifications, str):
        qualifications = re.split(r"[、,，;；\s]+", qualifications)
    named = [q.strip() for q in qualifications or [] if isinstance(q, str) and q.strip()]
    text, industry, kind = (text or "").strip(), (industry or "").strip(), (kind or "").strip()
    if not (text or industry or named):
        raise QuestionError(EMPTY_PROFILE)
    if kind and kind not in {k.value for k in Kind}:
        raise QuestionError(f"类型应为 enterprise（企业）或 person（个人）（收到：{kind}）。")
    return Profile.parse(text, (region or "").strip() or None, kind or None, industry or None, named)


def parse_history(history: list[str] | str | None) -> list[str]:
    """Earlier questions of a conversation: a list, or a string with one question per line."""
    if isinstance(history, str):
        history = history.splitlines()
    return [h.strip() for h in history or [] if isinstance(h, str) and h.strip()]


@dataclass(frozen=True)
class IndexView:
    """What the page shows of one index: its clauses by id, where each document lies in its file, and the
    choices of the filters."""

    index: Store
    chunks: dict[str, Chunk]
    spans: dict[tuple[str, str, str], tuple[int, int]]
    choices: tuple[list[tuple[str, str]], list[str], list[str]]

    @classmethod
    def of(cls, index: Store) -> IndexView:
        chunks = index.chunks
        return cls(index, {c.chunk_id: c for c in chunks}, _document_spans(chunks), filter_choices(chunks))


class ChatApp:
    """The handlers of the web page and the API over one shared :class:`Pipeline`."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._viewed: IndexView | None = None

    def view(self) -> IndexView:
        """What the page shows of the index now served (made again when a new index is served)."""
        viewed = self._viewed
        if viewed is None or viewed.index is not self.pipeline.index:
            viewed = self._viewed = IndexView.of(self.pipeline.index)
        return viewed

    def filter_updates(self) -> tuple[dict, dict, dict]:
        """The document, issuer and year choices of the index now served (on each page load)."""
        docs, issuers, years = self.view().choices
        return (
            gr.update(choices=[("全部文件", ""), *docs]),
            gr.update(choices=[("全部机关", ""), *[(i, i) for i in issuers]]),
            gr.update(choices=[("全部年份", ""), *[(y, y) for y in years]]),
        )

    def watch(self, every_s: float) -> threading.Thread:
        """Look for a new index on disk every ``every_s`` seconds, in a daemon thread, and serve it: an
        index updated by ``qa index`` or ``qa add`` is answered from without a restart."""

        def loop() -> None:
            while True:
                time.sleep(every_s)
                try:
                    if self.pipeline.refresh():
                        print(f"index reloaded: {len(self.pipeline.index.chunks)} passages", file=sys.stderr)
                except Exception as exc:  # noqa: BLE001 - a bad new index leaves the current one serving
                    print(
                        f"index not reloaded ({user_message(exc)}); still serving the previous one",
                        file=sys.stderr,
                    )

        thread = threading.Thread(target=loop, name="index-watch", daemon=True)
        thread.start()
        return thread

    # ------------------------------------------------------------------ API (gradio_client)

    def ask(
        self,
        question: str,
        history: list[str] | str | None = None,
        doc: str | None = None,
        issuer: str | None = None,
        year: int | str | None = None,
    ) -> dict:
        """Answer a question from the documents. ``history``: the earlier questions of the conversation
        (a list, or one per line). Returns the answer with its passages and citations."""
        try:
            filters = parse_filters(doc, issuer, year)
            return self.pipeline.ask(question, parse_history(history), filters).to_dict()
        except Exception as exc:
            raise gr.Error(user_message(exc)) from exc

    def locate(
        self,
        question: str,
        doc: str | None = None,
        issuer: str | None = None,
        year: int | str | None = None,
        k: int = LOCATE_K,
    ) -> list[dict]:
        """The clauses that best match a question (no model): document, 发文字号, clause path, wording."""
        try:
            return [h.to_dict() for h in self.search(question, doc, issuer, year, k)]
        except Exception as exc:
            raise gr.Error(user_message(exc)) from exc

    def match(
        self,
        profile: str = "",
        region: str | None = None,
        kind: str | None = None,
        industry: str | None = None,
        qualifications: list[str] | str | None = None,
        k: int = MATCH_K,
        in_force: bool = False,
    ) -> dict:
        """The clauses that apply to an enterprise or a person (no model), as ``qa match --json``: the
        profile as understood, and the clauses ranked with what each gives, why it matches and its
        validity. ``profile``: in words; the fields win over the words: ``region`` (city, county or
        浙江省), ``kind`` (enterprise or person), ``industry``, ``qualifications`` (高新技术企业, 老年人 …);
        ``in_force``: leave out documents that are 已失效 or 尚未施行."""
        try:
            return match_report(
                *self.profile_matches(profile, region, kind, industry, qualifications, k, in_force)
            )
        except Exception as exc:
            raise gr.Error(user_message(exc)) from exc

    def search(
        self, question: str, doc: str | None, issuer: str | None, year: int | str | None, k: int
    ) -> list[Hit]:
        return self.pipeline.search(
            question, k=max(1, min(int(k), 50)), filters=parse_filters(doc, issuer, year)
        )

    def profile_matches(
        self,
        text: str | None,
        region: str | None,
        kind: str | None,
        industry: str | None,
        qualifications: list[str] | str | None,
        k: int,
        in_force: bool,
    ) -> tuple[Profile, list[Match]]:
        """The profile from the UI or API values, and the ``k`` clauses that apply to it."""
        profile = parse_profile(text, region, kind, industry, qualifications)
        return profile, self.pipeline.match(profile, max(1, min(int(k), 50)), bool(in_force))

    # ------------------------------------------------------------------ web page handlers

    def hold(self, question: str, turns: list[dict]) -> tuple[str, str, str]:
        """Show the question at once, waiting for its turn in the queue; clear the box."""
        waiting = (question.strip(), "", "排队等候中…") if question and question.strip() else None
        return transcript_html(turns or [], waiting), "", question

    def chat(
        self, question: str, turns: list[dict], doc: str | None, issuer: str | None, year: str | None
    ) -> Iterator[tuple[str, list[dict], object, str]]:
        """Stream one chat turn: yields (transcript, turns, question box, status); the box is left as it is
        unless the question is refused, when it gets the question back to edit."""
        turns = list(turns or [])
        history = [t["question"] for t in turns]
        try:
            asked = check_question(question, self.pipeline.config.max_question_chars)
            filters = parse_filters(doc, issuer, year)
            if self.pipeline.generator is None:
                note = "正在加载回答模型（仅第一次提问时加载，约需数秒）…"
                yield transcript_html(turns, (asked, "", note)), turns, gr.skip(), notice_html(note, "info")
                self.pipeline.load_generator()
            note = "正在检索并生成回答…"
            yield transcript_html(turns, (asked, "", note)), turns, gr.skip(), notice_html(note, "info")
            text, found = "", []
            for item in self.pipeline.ask_stream(asked, history, filters):
                if isinstance(item, Answer):
                    turns = [*turns, {"question": asked, "html": turn_html(len(turns), item)}]
                    yield transcript_html(turns), turns, gr.skip(), notice_html(timing_text(item), "info")
                    return
                if isinstance(item, Sources):
                    found, note = item.hits, "正在依据以下资料生成回答…"
                    yield transcript_html(turns, (asked, text, note), found), turns, gr.skip(), ""
                    continue
                text += item
                yield transcript_html(turns, (asked, text, ""), found), turns, gr.skip(), ""
        except Exception as exc:
            yield transcript_html(turns), turns, question, notice_html(user_message(exc))

    def locate_html(
        self, question: str, doc: str | None, issuer: str | None, year: str | None, k: float
    ) -> str:
        """The locate results as cards."""
        try:
            hits = self.search(question, doc, issuer, year, int(k))
        except Exception as exc:
            return notice_html(user_message(exc))
        head = f'<div class="locate-head">「{esc(question.strip())}」的匹配条款：</div>'
        if not hits:
            return head + notice_html("资料中未找到相关条款。", "info")
        return head + "".join(card_html(h, f"{h.rank}.", f"loc-{h.rank}") for h in hits)

    def match_html(
        self,
        text: str,
        region: str | None,
        kind: str | None,
        industry: str | None,
        enterprise: list[str] | None,
        person: list[str] | None,
        k: float,
        in_force: bool,
    ) -> str:
        """The profile as understood and the matching clauses as cards; ``enterprise`` and ``person``: the
        qualifications and situations ticked."""
        try:
            qualifications = [*(enterprise or []), *(person or [])]
            found = self.profile_matches(text, region, kind, industry, qualifications, int(k), in_force)
        except Exception as exc:
            return notice_html(user_message(exc))
        return matches_html(*found)

    def context(self, chunk_id: str) -> str:
        """The document around a clause (±:data:`CONTEXT_CHARS` characters, within its document), escaped,
        with the clause marked."""
        view = self.view()
        chunk = view.chunks.get(str(chunk_id))
        if chunk is None:
            return notice_html("找不到这一条款（索引可能已更新），请重新提问。")
        try:
            config = self.pipeline.config
            text = _corpus_text(config.corpus_dir / chunk.source_file, config.cache_dir)
        except (OSError, CorpusError) as exc:
            return notice_html(f"无法读取原文：{exc}")
        doc_start, doc_end = view.spans[_doc_key(chunk)]
        start, end = max(doc_start, chunk.start - CONTEXT_CHARS), min(doc_end, chunk.end + CONTEXT_CHARS)
        before = "…" if start > doc_start else ""
        after = "…" if end < doc_end else ""
        body = marked(text[start:end], [(chunk.start - start, chunk.end - start)])
        source = f"{chunk.source_file} 第 {chunk.start}–{chunk.end} 字"
        return f'<div class="doc-source">{esc(source)}</div><div class="doc-text">{before}{body}{after}</div>'


def _doc_key(chunk: Chunk) -> tuple[str, str, str]:
    return chunk.source_file, chunk.doc_number, chunk.doc_title


def _document_spans(chunks: list[Chunk]) -> dict[tuple[str, str, str], tuple[int, int]]:
    """Where each document lies in its corpus file: from its first clause to its last."""
    spans: dict[tuple[str, str, str], tuple[int, int]] = {}
    for c in chunks:
        start, end = spans.get(_doc_key(c), (c.start, c.end))
        spans[_doc_key(c)] = (min(start, c.start), max(end, c.end))
    return spans


@lru_cache(maxsize=16)
def _corpus_text(path: Path, cache_dir: Path | None = None) -> str:
    """A corpus file's text as the index read it (a scan's from the OCR cache), so offsets match."""
    return read_document(path, cache_dir)


def turn_html(turn: int, answer: Answer) -> str:
    """One finished turn's answer: the text with linked markers, warnings, and the cited sources."""
    anchor = f"t{turn}"
    if answer.abstained:
        return f'<div class="msg bot abstained">{answer_html(answer.text, None)}</div>'
    warning = ""
    if answer.unsupported:
        items = "".join(f"<li>{esc(s)}</li>" for s in answer.unsupported)
        warning = (
            '<div class="notice warn">以下说法中的数字或日期未在所引条款中找到，请核对原文：'
            f"<ul>{items}</ul></div>"
        )
    cards = "".join(
        card_html(answer.passages[n - 1], f"[{n}]", f"{anchor}-{n}", answer.highlights(n))
        for n in answer.cited
    )
    sources = f'<div class="sources"><div class="sources-head">引用来源</div>{cards}</div>' if cards else ""
    return f'<div class="msg bot">{answer_html(answer.text, anchor)}</div>{warning}{sources}'


def transcript_html(
    turns: list[dict], pending: tuple[str, str, str] | None = None, found: list[Hit] | None = None
) -> str:
    """The conversation: each finished turn, then the ``pending`` one (question, text so far, state) with
    the passages ``found`` for it as cards below the answer being written."""
    parts = [f'<div class="msg user">{esc(t["question"])}</div>{t["html"]}' for t in turns]
    if pending:
        question, text, state = pending
        body = esc(text) if text else f'<span class="state">{esc(state)}</span>'
        cards = "".join(card_html(h, f"[{n}]", f"found-{n}") for n, h in enumerate(found or [], 1))
        sources = f'<div class="sources found"><div class="sources-head">检索到的资料</div>{cards}</div>'
        parts.append(
            f'<div class="msg user">{esc(question)}</div><div class="msg bot pending">{body}</div>'
            + (sources if cards else "")
        )
    if not parts:
        return (
            '<div class="chat empty">请输入关于浙江省、嘉兴市政策文件的问题；回答只依据资料，并标出出处。'
            f"资料中没有答案时会回答“{NOT_FOUND}”。</div>"
        )
    return '<div class="chat">' + "".join(f'<div class="turn">{p}</div>' for p in parts) + "</div>"


def matches_html(profile: Profile, matches: list[Match]) -> str:
    """How the profile was understood (region, kind, categories, industries, what thresholds apply to,
    needs), then the matching clauses
    as cards with what each gives and why it matches."""
    described = profile.describe()
    fields = [
        ("地区", described["region"]),
        ("类型", KIND_LABELS[profile.kind]),
        ("身份/资质", "、".join(profile.categories)),
        ("行业", "、".join(profile.industries)),
        ("条件", "、".join(f"{ATTRIBUTE_LABELS[a]} {v:g}" for a, v in profile.attributes.items())),
        ("需求", "；".join(profile.needs)),
    ]
    items = "".join(f'<span class="field"><b>{esc(n)}</b>{esc(v)}</span>' for n, v in fields if v)
    head = f'<div class="profile">画像理解为：{items}</div>'
    if not matches:
        note = "资料中未找到适用于该画像的政策条款。"
        if not profile.in_province:
            note = "资料只收录浙江省和嘉兴市的政策，没有适用于浙江省外的条款。"
        return head + notice_html(note, "info")
    cards = "".join(
        card_html(
            Hit(m.rank, m.score, m.chunk, m.validity),
            f"{m.rank}.",
            f"match-{m.rank}",
            details=f'<div class="gives"><b>给予/要求</b>{esc(m.gives)}</div>'
            f'<div class="why"><b>适用原因</b>{esc(m.why)}</div>',
            fold_chars=MATCH_FOLD_CHARS,
        )
        for m in matches
    )
    return f'{head}<div class="locate-head">适用条款（按适用程度排序）：</div>{cards}'


def timing_text(answer: Answer) -> str:
    t = answer.timings
    parts = [f"翻译 {t['translate_s']:.1f} 秒"] if "translate_s" in t else []
    parts.append(f"检索 {t.get('retrieval_s', 0):.2f} 秒")
    if "sources_s" in t:
        parts.append(f"资料 {t['sources_s']:.1f} 秒")
    if "first_token_s" in t:
        parts.append(f"首字 {t['first_token_s']:.1f} 秒")
    parts.append(f"共 {t.get('total_s', 0):.1f} 秒")
    return "回答完成：" + "，".join(parts) + "。"


def filter_choices(chunks: list[Chunk]) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Choices of the document, issuer and year filters, from the index."""
    docs: dict[str, str] = {}
    for c in chunks:
        value = c.doc_number or c.part or c.doc_title
        docs.setdefault(value, f"{c.doc_number} {c.doc_title}".strip() if c.doc_number else value)
    issuers = sorted({c.issuer for c in chunks if c.issuer})
    years = sorted({c.date[:4] for c in chunks if c.date[:4].isdigit()}, reverse=True)
    return [(label, value) for value, label in docs.items()], issuers, years


def region_choices() -> list[tuple[str, str]]:
    """Choices of a profile's region: the province, its cities, and the counties the matcher knows."""
    cities = [(f"{c}市", f"{c}市") for c in CITIES]
    counties = [(f"{county}（{city}市）", county) for county, city in COUNTIES.items()]
    return [("从描述中识别", ""), (f"{PROVINCE}（全省）", PROVINCE), *cities, *counties]


def qualification_choices(kind: Kind) -> list[str]:
    """The beneficiary categories of ``kind`` that the matcher knows, less the generic 企业 / 居民."""
    return [c.name for c in CATEGORIES if c.kind == kind and c.name != GENERIC[kind]]


VIEWER_JS = """
element.addEventListener('click', async (event) => {
  const button = event.target.closest('button.open-doc');
  if (!button) return;
  const card = button.closest('.card');
  const open = card.querySelector('.doc-context');
  if (open) { open.remove(); button.textContent = '查看原文上下文'; return; }
  button.disabled = true;
  button.textContent = '正在打开…';
  const box = document.createElement('div');
  box.className = 'doc-context';
  try {
    box.innerHTML = await server.context(button.dataset.chunk);
  } catch (error) {
    box.textContent = '无法打开原文，请稍后再试。';
  }
  card.appendChild(box);
  button.disabled = false;
  button.textContent = '收起原文';
  const text = box.querySelector('.doc-text');
  const mark = box.querySelector('mark');
  if (text && mark) text.scrollTop = mark.offsetTop - text.offsetTop - 40;
});
"""

CSS = """
.chat, .locate-results { display: flex; flex-direction: column; gap: 10px; }
.chat.empty { color: var(--body-text-color-subdued); padding: 24px; text-align: center; }
.turn { display: flex; flex-direction: column; gap: 6px; }
.msg { padding: 10px 14px; border-radius: 10px; white-space: pre-wrap; line-height: 1.6; max-width: 92%; }
.msg.user { align-self: flex-end; background: var(--color-accent-soft); }
.msg.bot { align-self: flex-start; background: var(--background-fill-secondary); }
.msg.bot.abstained { border-left: 4px solid #d97706; }
.msg .state { color: var(--body-text-color-subdued); }
a.cite { text-decoration: none; font-weight: 600; }
.sources-head, .locate-head { font-weight: 600; margin: 4px 0; }
.card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin: 6px 0;
  background: var(--background-fill-primary); }
.card:target { outline: 2px solid var(--color-accent); }
.card .n { color: var(--color-accent); font-weight: 700; }
.card .part { color: var(--body-text-color-subdued); }
.card .meta, .card .path, .doc-source { color: var(--body-text-color-subdued); font-size: 0.9em;
  margin: 2px 0; }
.card .docno { font-weight: 600; color: var(--body-text-color); }
.card .validity { border: 1px solid currentColor; border-radius: 4px; padding: 0 4px; }
.card .validity-reason { margin-left: 4px; }
.card .gives { margin-top: 6px; line-height: 1.6; }
.card .why { color: var(--body-text-color-subdued); font-size: 0.9em; margin-top: 2px; }
.card .gives b, .card .why b, .profile .field b { margin-right: 6px; }
.card details.fold summary { cursor: pointer; color: var(--body-text-color-subdued); margin-top: 6px; }
.profile { margin: 4px 0; }
.profile .field { display: inline-block; margin-right: 14px; }
.card .passage { white-space: pre-wrap; margin-top: 6px; line-height: 1.6; }
.card mark, .doc-context mark { background: #fde68a; color: inherit; }
.card button.open-doc { margin-top: 6px; font-size: 0.85em; border: 1px solid var(--border-color-primary);
  border-radius: 4px; padding: 2px 8px; cursor: pointer; background: var(--background-fill-secondary); }
.doc-text { white-space: pre-wrap; max-height: 360px; overflow-y: auto; border-top: 1px dashed
  var(--border-color-primary); margin-top: 6px; padding-top: 6px; line-height: 1.6; }
.notice { padding: 8px 12px; border-radius: 6px; margin: 4px 0; }
.notice.error { background: #fee2e2; color: #991b1b; }
.notice.warn { background: #fef3c7; color: #92400e; }
.notice.info { color: var(--body-text-color-subdued); padding: 2px 4px; }
"""


def _query_row(
    placeholder: str, elem_id: str, k: int, label: str, button_id: str
) -> tuple[gr.Textbox, gr.Slider, gr.Button]:
    """A box (``elem_id``), a 条数 slider starting at ``k`` and a button, in one row."""
    with gr.Row():
        box = gr.Textbox(placeholder=placeholder, show_label=False, elem_id=elem_id, scale=6, max_lines=4)
        count = gr.Slider(1, 20, value=k, step=1, label="条数", scale=2)
        button = gr.Button(label, variant="primary", elem_id=button_id, scale=1)
    return box, count, button


def build_demo(app: ChatApp) -> gr.Blocks:
    """The page: 问答 and 查找条款 tabs over shared filters, the 政策找企业 / 政策找人 tab, and the ``ask``,
    ``locate`` and ``match`` endpoints."""
    doc_choices, issuers, years = app.view().choices

    def context(chunk_id: str) -> str:  # server functions must be plain functions
        return app.context(chunk_id)

    with gr.Blocks(title="政策问答", analytics_enabled=False) as demo:
        gr.HTML(
            "<h2>政策问答</h2><p>浙江省、嘉兴市政策文件的本地问答：回答只依据文件原文，并列出出处"
            "（文件、发文字号、条款）；也可以从企业或个人的画像找出适用的政策条款。"
            "Questions in English are answered in English.</p>",
            js_on_load=None,
        )
        with gr.Accordion("筛选（问答、查找条款）：文件、发文机关、年份", open=False), gr.Row():
            doc = gr.Dropdown(
                [("全部文件", ""), *doc_choices], value="", label="文件", allow_custom_value=True, scale=3
            )
            issuer = gr.Dropdown(
                [("全部机关", ""), *[(i, i) for i in issuers]],
                value="",
                label="发文机关",
                allow_custom_value=True,
                scale=2,
            )
            year = gr.Dropdown([("全部年份", ""), *[(y, y) for y in years]], value="", label="年份", scale=1)
        filters = [doc, issuer, year]
        demo.load(app.filter_updates, None, filters, api_visibility="private", queue=False)
        with gr.Tabs():
            with gr.Tab("问答", id="ask"):
                transcript = gr.HTML(
                    transcript_html([]),
                    elem_id="transcript",
                    js_on_load=VIEWER_JS,
                    server_functions=[context],
                    autoscroll=True,
                )
                status = gr.HTML("", elem_id="status", js_on_load=None, min_height=40)
                turns = gr.State([])
                asked = gr.State("")
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="输入问题，回车发送（可追问，例如“那嘉兴呢？”）",
                        show_label=False,
                        elem_id="question",
                        scale=8,
                        max_lines=4,
                    )
                    send = gr.Button("提问", variant="primary", elem_id="send", scale=1)
                new_chat = gr.Button("新对话", size="sm", elem_id="new-chat")
                gr.Examples(ASK_EXAMPLES, inputs=question, label="示例问题")
            with gr.Tab("查找条款", id="locate"):
                query, k, find = _query_row(
                    "输入要找的内容或关键词，回车查找（不经过模型，即时返回）",
                    "locate-query",
                    LOCATE_K,
                    "查找",
                    "locate-send",
                )
                results = gr.HTML(
                    "", elem_id="locate-results", js_on_load=VIEWER_JS, server_functions=[context]
                )
                gr.Examples(LOCATE_EXAMPLES, inputs=query, label="示例")
            with gr.Tab("政策找企业 / 政策找人", id="match"):
                profile, match_k, match_send = _query_row(
                    "描述企业或个人，回车查找，例如：嘉兴一家做新材料的科技型中小企业，40人",
                    "match-profile",
                    MATCH_K,
                    "找政策",
                    "match-send",
                )
                with gr.Accordion("画像选项（可选；填写的选项优先于描述）", open=False):
                    with gr.Row():
                        region = gr.Dropdown(
                            region_choices(), value="", label="地区", allow_custom_value=True
                        )
                        kind = gr.Dropdown(
                            [
                                ("从描述中判断", ""),
                                *[(label, who.value) for who, label in KIND_LABELS.items()],
                            ],
                            value="",
                            label="企业或个人",
                        )
                        industry = gr.Dropdown(
                            [("从描述中识别", ""), *[(i, i) for i in INDUSTRIES]],
                            value="",
                            label="行业",
                            allow_custom_value=True,
                        )
                    enterprise = gr.CheckboxGroup(
                        qualification_choices(Kind.ENTERPRISE), label="企业：类型、资质、规模"
                    )
                    person = gr.CheckboxGroup(qualification_choices(Kind.PERSON), label="个人：身份或处境")
                in_force = gr.Checkbox(
                    label="只看现行有效", info="不列已失效、尚未施行的文件（未说明有效期的仍列出）"
                )
                matches = gr.HTML(
                    "", elem_id="match-results", js_on_load=VIEWER_JS, server_functions=[context]
                )
                profile_inputs = [profile, region, kind, industry, enterprise, person]
                gr.Examples(
                    MATCH_EXAMPLES,
                    inputs=profile_inputs,
                    label="示例",
                    example_labels=[
                        "嘉兴 · 科技型中小企业（描述）",
                        "海宁 · 高新技术企业 · 新材料（选项）",
                        "温州 · 失能老人家属（描述）",
                    ],
                )

        gr.on(
            [question.submit, send.click],
            app.hold,
            [question, turns],
            [transcript, question, asked],
            api_visibility="private",
            queue=False,
        ).then(
            app.chat,
            [asked, turns, *filters],
            [transcript, turns, question, status],
            api_visibility="private",
            concurrency_limit=1,
            concurrency_id="model",
            show_progress="full",
            show_progress_on=status,
        )
        new_chat.click(
            lambda: (transcript_html([]), [], ""),
            None,
            [transcript, turns, status],
            api_visibility="private",
            queue=False,
        )
        gr.on(
            [query.submit, find.click],
            app.locate_html,
            [query, *filters, k],
            results,
            api_visibility="private",
            concurrency_limit=4,
            concurrency_id="search",
        )
        gr.on(
            [profile.submit, match_send.click],
            app.match_html,
            [*profile_inputs, match_k, in_force],
            matches,
            api_visibility="private",
            concurrency_limit=4,
            concurrency_id="search",
        )
        gr.api(app.ask, api_name="ask", concurrency_limit=1, concurrency_id="model")
        gr.api(app.locate, api_name="locate", concurrency_limit=4, concurrency_id="search")
        gr.api(app.match, api_name="match", concurrency_limit=4, concurrency_id="search")
    return demo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="政策问答 web chat. The corpus, index and models come from qa.config (QA_* variables)."
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST,
        help=f"address to bind (default: $GRADIO_SERVER_NAME, else {DEFAULT_HOST}: this machine only)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GRADIO_SERVER_PORT") or DEFAULT_PORT),
        help=f"port (default: $GRADIO_SERVER_PORT, else {DEFAULT_PORT})",
    )
    parser.add_argument("--queue-size", type=int, default=64, help="most requests waiting in the queue")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Load (or build) the index and the embedding model once, then serve the page to all sessions."""
    args = parse_args(argv)
    start = time.perf_counter()
    print(
        "政策问答: loading the index and the embedding model (building the index if missing)…",
        file=sys.stderr,
    )
    try:
        pipeline = Pipeline(Config.from_env())
    except (ModelError, CorpusError, IndexUnusable, OSError, ValueError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    print(f"index: {len(pipeline.index.chunks)} passages; starting the web server…", file=sys.stderr)
    app = ChatApp(pipeline)
    if pipeline.config.reload_s > 0:
        app.watch(pipeline.config.reload_s)
    demo = build_demo(app)
    demo.queue(default_concurrency_limit=1, max_size=args.queue_size)
    theme = gr.themes.Default(
        font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        theme=theme,
        css=CSS,
        prevent_thread_lock=True,
        quiet=True,
    )
    print(
        f"ready in {time.perf_counter() - start:.1f} s: http://{args.host}:{args.port} "
        "(the answering model loads on the first question; Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
