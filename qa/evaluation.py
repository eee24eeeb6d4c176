"""Retrieval benchmark: scoring as ``FORMAT.md`` describes, this system next to dense-only, BM25-only
and a naive baseline (recursive character splitting 750/150, same model, FAISS flat), plus build
time and search latency."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter

from qa.config import Config
from qa.embedding import Embedder
from qa.language import Language, detect
from qa.matching import Profile
from qa.models import sha256_file
from qa.numerals import arabic_numerals
from qa.parsing import corpus_files, source_name
from qa.pipeline import Pipeline, contextual_query
from qa.readers import CorpusError, read_document
from qa.retrieval import Mode, Retriever
from qa.tagging import PROVINCE, city_of

KS = (1, 3, 5, 10)
NEAR_CHARS = 1000


def norm(text: str) -> str:
    """NFKC, all white space removed: how the benchmark compares text."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def covers(text: str, evidence: str) -> bool:
    """Whether a passage holds an evidence quote; a tab-separated table quote is held when each of
    its cells is."""
    t = norm(text)
    if "\t" in evidence:
        cells = [norm(c) for c in evidence.split("\t") if norm(c)]
        return bool(cells) and all(c in t for c in cells)
    return norm(evidence) in t


def _header_quote(evidence: str, all_evidence: list[str]) -> bool:
    """A table's header row alone does not count: the first tab quote when a row quote follows."""
    tabbed = [e for e in all_evidence if "\t" in e]
    return "\t" in evidence and len(tabbed) > 1 and evidence == tabbed[0]


def covering(text: str, row: dict) -> bool:
    evidence = row.get("evidence") or []
    return any(covers(text, e) for e in evidence if not _header_quote(e, evidence))


def load_questions(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise ValueError(f"{path}:{n}: not a JSON object ({exc})") from exc
    return rows


@dataclass
class RunResult:
    """Ranked passages per question for one system."""

    name: str
    hits: dict[str, list[dict]]


def score_run(rows: list[dict], run: RunResult) -> dict[str, object]:
    """hit@k, hit within 1000 characters, MRR@10, doc_number@1 and mean top-5 text length, overall
    and per question type, over answerable questions."""
    per_type: dict[str, list[dict[str, float]]] = defaultdict(list)
    for row in rows:
        if not row.get("evidence"):
            continue
        hits = run.hits.get(row["id"], [])
        cov = [covering(h["text"], row) for h in hits[:10]]
        first = cov.index(True) + 1 if any(cov) else None
        near, remaining = False, NEAR_CHARS
        for h in hits:
            if remaining <= 0 or near:
                break
            near = covering(h["text"][:remaining], row)
            remaining -= len(h["text"])
        gold_doc = row.get("doc_number", "").split("；")[0]
        m = {f"hit@{k}": float(first is not None and first <= k) for k in KS}
        m["hit@1000ch"] = float(near)
        m["mrr@10"] = 1.0 / first if first else 0.0
        m["doc_number@1"] = float(bool(hits) and bool(gold_doc) and hits[0].get("doc_number") == gold_doc)
        m["top5_chars"] = float(sum(len(h["text"]) for h in hits[:5]))
        m["_has_doc"] = float(bool(gold_doc))
        per_type[row.get("type", "")].append(m)
        per_type["all"].append(m)
    return {t: _mean(ms) for t, ms in per_type.items()}


def _mean(metrics: list[dict[str, float]]) -> dict[str, float]:
    keys = [k for k in metrics[0] if not k.startswith("_")]
    out = {k: statistics.fmean(m[k] for m in metrics) for k in keys}
    with_doc = [m["doc_number@1"] for m in metrics if m["_has_doc"]]
    out["doc_number@1"] = statistics.fmean(with_doc) if with_doc else float("nan")
    out["n"] = len(metrics)
    return out


def run_retriever(
    rows: list[dict], retriever: Retriever, mode: Mode, queries: dict[str, str] | None = None, k: int = 10
) -> tuple[RunResult, list[float]]:
    """Search every question; returns the run and per-question latencies in seconds.

    Args:
        rows: the questions.
        retriever: the index's retriever.
        mode: hybrid, dense or BM25.
        queries: id -> what to search for (e.g. a translation); by default the question after its history.
        k: passages per question.
    """
    hits, latencies = {}, []
    for row in rows:
        query = (queries or {}).get(row["id"]) or contextual_query(row["question"], row.get("history"))
        t = time.perf_counter()
        found = retriever.search(query, k=k, mode=mode)
        latencies.append(time.perf_counter() - t)
        hits[row["id"]] = [h.to_dict() for h in found]
    return RunResult(mode.value, hits), latencies


def prepare_queries(rows: list[dict], pipeline: Pipeline) -> tuple[dict[str, str], list[float]]:
    """What the system searches for per question (:meth:`Pipeline.query`: a question in another language
    is translated first), and the seconds each translated question took to translate."""
    queries, seconds = {}, []
    for row in rows:
        t = time.perf_counter()
        queries[row["id"]] = pipeline.query(row["question"], row.get("history"))
        if detect(row["question"]) != Language.CHINESE:
            seconds.append(time.perf_counter() - t)
    return queries, seconds


def cross_language(rows: list[dict], retriever: Retriever, system: RunResult) -> dict[str, dict]:
    """Hybrid retrieval on questions asked in another language: ``system``'s run (translated first), the
    questions as asked, and the same questions in Chinese (each row's ``question_zh``)."""
    chinese = [{**row, "question": row["question_zh"]} for row in rows]
    runs = {
        "translated first (this system)": system,
        "as asked, not translated": run_retriever(rows, retriever, Mode.HYBRID)[0],
        "the same questions in Chinese": run_retriever(chinese, retriever, Mode.HYBRID)[0],
    }
    return {name: score_run(rows, run) for name, run in runs.items()}


class NaiveBaseline:
    """Recursive character splitting (750/150) of the raw files, same embedder, FAISS flat.
    Its vectors are cached under ``models_dir/cache/naive-baseline`` for the corpus and model they
    came from."""

    def __init__(self, config: Config, embedder: Embedder, progress: Callable[[str], None] = print) -> None:
        self.embedder = embedder
        splitter = RecursiveCharacterTextSplitter(chunk_size=750, chunk_overlap=150)
        self.texts: list[str] = []
        self.files: list[str] = []
        files = corpus_files(config.corpus_dir)
        for path in files:
            try:
                text = read_document(path, config.cache_dir)
            except CorpusError:
                continue  # the index leaves it out too, and says why
            for piece in splitter.split_text(text):
                self.texts.append(piece)
                self.files.append(source_name(path, config.corpus_dir))
        key = {
            "model": embedder.model_id,
            "corpus": {source_name(p, config.corpus_dir): sha256_file(p) for p in files},
        }
        cache = config.models_dir / "cache" / "naive-baseline"
        vectors = None
        if (cache / "key.json").exists() and json.loads((cache / "key.json").read_text()) == key:
            try:
                vectors = np.load(cache / "vectors.npy")
            except (OSError, ValueError):
                vectors = None
        if vectors is None or len(vectors) != len(self.texts):
            progress(f"embedding the naive baseline ({len(self.texts)} passages of 750 characters)…")
            vectors = embedder.encode_document(self.texts, progress=True)
            cache.mkdir(parents=True, exist_ok=True)
            np.save(cache / "vectors.npy", vectors)
            (cache / "key.json").write_text(json.dumps(key))
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def run(self, rows: list[dict], k: int = 10) -> RunResult:
        hits = {}
        for row in rows:
            query = contextual_query(row["question"], row.get("history"))
            scores, ids = self.index.search(self.embedder.encode_query([query]), k)
            hits[row["id"]] = [
                {
                    "rank": r + 1,
                    "score": float(s),
                    "text": self.texts[i],
                    "source_file": self.files[i],
                    "doc_number": "",
                }
                for r, (s, i) in enumerate(zip(scores[0], ids[0], strict=False))
                if i >= 0
            ]
        return RunResult("naive", hits)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


COLUMNS = ("hit@1", "hit@3", "hit@5", "hit@10", "hit@1000ch", "mrr@10", "doc_number@1", "top5_chars")


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown table: one row per system, overall."""
    lines = ["| system | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, scores in results.items():
        s = scores["all"]
        cells = [f"{s[c]:.0f}" if c == "top5_chars" else f"{s[c]:.3f}" for c in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def type_table(scores: dict[str, dict[str, float]]) -> str:
    """Markdown table: this system per question type."""
    cols = ("n", "hit@1", "hit@5", "mrr@10", "doc_number@1")
    lines = ["| type | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for t in sorted(k for k in scores if k != "all") + ["all"]:
        s = scores[t]
        lines.append(
            f"| {t} | " + " | ".join(f"{s[c]:.0f}" if c == "n" else f"{s[c]:.3f}" for c in cols) + " |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- answers

_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def _bigram_set(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def answer_correct(row: dict, record: dict) -> bool:
    """Scoring of ``FORMAT.md``: an unanswerable question must be abstained on; an answer is correct
    when it holds the gold answer or an alias, or (numeric, date, multi) every number of the gold
    answer (in either script: 十五日 = 15日, see :func:`arabic_numerals`), or (locate) the gold document
    number, or 60% of the gold answer's character bigrams."""
    if row.get("type") == "unanswerable":
        return bool(record.get("abstained"))
    if record.get("abstained"):
        return False
    answer = arabic_numerals(norm(record.get("answer", "")))
    gold = arabic_numerals(norm(row["answer"]))
    golds = [arabic_numerals(norm(a)) for a in [row["answer"], *row.get("answer_aliases", [])]]
    if any(a and a in answer for a in golds):
        return True
    numbers = _DIGITS.findall(gold)
    if row.get("type") in ("numeric", "date", "multi") and numbers:
        return set(numbers) <= set(_DIGITS.findall(answer))
    if row.get("type") == "locate" and row.get("doc_number"):
        return all(norm(d) in answer for d in row["doc_number"].split("；"))
    wanted = _bigram_set(gold)
    return bool(wanted) and len(wanted & _bigram_set(answer)) >= 0.6 * len(wanted)


ANSWER_COLUMNS = (
    "n",
    "accuracy",
    "citation_hit",
    "false_abstention",
    "abstention_unanswerable",
    "unsupported_rate",
    "sources_p50_s",
    "first_token_p50_s",
    "first_token_p95_s",
    "total_p50_s",
    "total_p95_s",
)


def score_answers(rows: list[dict], records: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Answer metrics per question type and overall (``nan`` where a metric has no question)."""
    groups: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
    for row in rows:
        record = records.get(row["id"], {"answer": "", "abstained": False, "citations": [], "timings": {}})
        groups[row.get("type", "")].append((row, record))
        groups["all"].append((row, record))

    def share(values: list[bool]) -> float:
        return statistics.fmean(values) if values else float("nan")

    out = {}
    for name, pairs in groups.items():
        answerable = [(r, rec) for r, rec in pairs if r.get("evidence")]
        answered = [rec for _, rec in pairs if not rec.get("abstained")]
        first, total, sources = (
            [rec["timings"][key] for _, rec in pairs if key in rec["timings"]]
            for key in ("first_token_s", "total_s", "sources_s")
        )
        out[name] = {
            "n": len(pairs),
            "accuracy": share([answer_correct(r, rec) for r, rec in pairs]),
            "citation_hit": share(
                [any(covering(c["text"], r) for c in rec["citations"]) for r, rec in answerable]
            ),
            "false_abstention": share([bool(rec.get("abstained")) for _, rec in answerable]),
            "abstention_unanswerable": share(
                [bool(rec.get("abstained")) for r, rec in pairs if r.get("type") == "unanswerable"]
            ),
            "unsupported_rate": share([bool(rec.get("unsupported")) for rec in answered]),
            "sources_p50_s": percentile(sources, 50),
            "first_token_p50_s": percentile(first, 50),
            "first_token_p95_s": percentile(first, 95),
            "total_p50_s": percentile(total, 50),
            "total_p95_s": percentile(total, 95),
        }
    return out


def answer_table(scores: dict[str, dict[str, float]]) -> str:
    """Markdown table of :func:`score_answers`: one row per question type, then all."""
    lines = ["| type | " + " | ".join(ANSWER_COLUMNS) + " |", "|---" * (len(ANSWER_COLUMNS) + 1) + "|"]
    for t in sorted(k for k in scores if k != "all") + ["all"]:
        s = scores[t]
        cells = ["" if s[c] != s[c] else f"{s[c]:.0f}" if c == "n" else f"{s[c]:.2f}" for c in ANSWER_COLUMNS]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- profile matching ("政策找人、政策找企业") ------------------------------------------------------

PROFILE_COLUMNS = ("p@5", "r@10", "traps@10")


def applies(hit: dict, gold: dict) -> bool:
    """Whether a result is the gold clause: same document (发文字号, or title when it has none) and
    the evidence quote inside its text."""
    same_doc = hit.get("doc_number") == gold["doc"] or (
        not hit.get("doc_number") and hit.get("doc_title") == gold["doc"]
    )
    return same_doc and covers(hit["text"], gold["evidence"])


def is_trap(hit: dict, row: dict) -> bool:
    """Whether a result is one the profile must not get: a clause its file lists as a trap (another
    group's, a threshold it fails), or a clause of another city's document (the city of the issuer, or of
    the title when there is none)."""
    city = city_of(hit.get("issuer") or hit.get("doc_title", ""))
    other_city = bool(city) and city != row["region"] and row["region"] != PROVINCE
    return other_city or any(applies(hit, trap) for trap in row.get("traps", []))


def score_profiles(rows: list[dict], run: RunResult) -> dict[str, dict[str, float]]:
    """precision@5 (share of the first five results that apply), recall@10 (share of the applicable
    clauses found in the first ten) and traps@10 (share of the profiles with a trap among their first
    ten: see :func:`is_trap`), overall and by kind and region of the profile."""
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for row in rows:
        hits = run.hits.get(row["id"], [])
        gold = row["applicable"]
        relevant = [any(applies(h, g) for g in gold) for h in hits[:5]]
        found = sum(any(applies(h, g) for h in hits[:10]) for g in gold)
        m = {
            "p@5": sum(relevant) / 5,
            "r@10": found / len(gold),
            "traps@10": float(any(is_trap(h, row) for h in hits[:10])),
        }
        region = "嘉兴市" if row["region"] == "嘉兴市" else "浙江省其他市"
        for key in ("all", row["kind"], region):
            groups[key].append(m)
    return {
        k: {**{c: statistics.fmean(m[c] for m in ms) for c in PROFILE_COLUMNS}, "n": len(ms)}
        for k, ms in groups.items()
    }


def profile_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown table: one row per system and profile group."""
    lines = [
        "| system | profiles | n | " + " | ".join(PROFILE_COLUMNS) + " |",
        "|---" * (len(PROFILE_COLUMNS) + 3) + "|",
    ]
    for name, scores in results.items():
        for group in ("all", "enterprise", "person", "嘉兴市", "浙江省其他市"):
            if group in scores:
                s = scores[group]
                cells = [f"{s[c]:.3f}" if c != "traps@10" else f"{s[c]:.2f}" for c in PROFILE_COLUMNS]
                lines.append(f"| {name} | {group} | {s['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_matcher(rows: list[dict], pipeline: Pipeline, k: int = 10) -> tuple[RunResult, list[float]]:
    """Match every profile (its free text only) with :mod:`qa.matching`; returns the run and the seconds
    each profile took (reading it and matching)."""
    hits, seconds = {}, []
    for row in rows:
        t = time.perf_counter()
        hits[row["id"]] = [m.to_dict() for m in pipeline.match(Profile.parse(row["profile"]), k)]
        seconds.append(time.perf_counter() - t)
    return RunResult("match", hits), seconds


def run_profile_search(rows: list[dict], retriever: Retriever, k: int = 10) -> RunResult:
    """The baseline: plain hybrid search with the profile text as the question."""
    return RunResult(
        "search",
        {
            row["id"]: [h.to_dict() for h in retriever.search(row["profile"], k=k, split=False)]
            for row in rows
        },
    )


# --- writing results --------------------------------------------------------------------------------

BENCHMARKS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
"""The benchmark document; ``qa eval`` rewrites the block of each result it writes to the default place."""


NEW_BLOCKS = "<!-- qa eval: new results above -->"
"""Where in the benchmark document the block of a result written for the first time goes."""


def machine() -> str:
    """The machine a benchmark ran on: CPU model, its widest vector instructions and cores, as
    ``/proc/cpuinfo`` names them."""
    info = ""
    with contextlib.suppress(OSError):
        info = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
    listed = re.search(r"^flags\s*:(.*)$", info, re.MULTILINE)
    flags = set(listed.group(1).split()) if listed else set()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    parts = [model.group(1).strip() if model else platform.machine(), vector, f"{os.cpu_count()} cores"]
    return ", ".join(p for p in parts if p)


def _commit() -> str:
    """`` at commit abc1234`` (``+`` when the package has uncommitted changes), or nothing outside git."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=BENCHMARKS.parent.parent, capture_output=True, text=True)

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "qa")
    except OSError:
        return ""
    if head.returncode:
        return ""
    return f" at commit {head.stdout.strip()}" + ("+" if dirty.stdout.strip() else "")


def write_results(
    out_dir: Path, stem: str, report: dict, text: str, runs: dict[str, list[dict]], document: Path | None
) -> None:
    """Write a benchmark's results: ``<stem>.json`` (``report``), ``<stem>.md`` (``text``), one
    ``<stem>.<run>.run.jsonl`` per run (its records), and, with ``document``, the block of ``stem`` in it
    (replaced, or added at its end) with the date and machine.

    Args:
        out_dir: where the result files go.
        stem: their common name (``retrieval-dev``, ``answers-fresh``).
        report: the figures, as JSON.
        text: the tables, as Markdown.
        runs: the records of each run (a question's hits or answer), by the run's file name part.
        document: the benchmark document to update (``docs/benchmarks.md``), or None.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out_dir / f"{stem}.md").write_text(text + "\n", encoding="utf-8")
    for name, records in runs.items():
        with open(out_dir / f"{stem}.{name}.run.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    print(f"\nwrote {out_dir / stem}.md, .json and the runs", file=sys.stderr)
    if document is None:
        return
    opening, closing = f"<!-- qa eval: {stem} -->", f"<!-- /qa eval: {stem} -->"
    block = f"{opening}\nMeasured {time.strftime('%Y-%m-%d')}{_commit()} on {machine()}.\n\n{text}\n{closing}"
    old = document.read_text(encoding="utf-8") if document.exists() else "# Benchmarks\n"
    start, end = old.find(opening), old.find(closing)
    if 0 <= start < end:
        new = old[:start] + block + old[end + len(closing) :]
    else:  # a new block goes before the place marked for them, else at the end
        at = old.find(NEW_BLOCKS) if NEW_BLOCKS in old else len(old.rstrip("\n"))
        new = old[:at].rstrip("\n") + f"\n\n### `{stem}`\n\n{block}\n\n" + old[at:].lstrip("\n")
    document.write_text(new.rstrip("\n") + "\n", encoding="utf-8")
