"""The scale benchmark: the seed corpus (1x) alone and with the laws and regulations of
``../shared/corpus-laws`` around it (10x: every tenth law file; 100x: all of them), each built from
scratch, then searched and added to. Prints one row per size and writes ``eval/results/scale.json``.

Per size: documents, passages, the build's time per step (read and chunk, embed, BM25 and tags, write)
and embedding throughput, index size on disk, peak memory of the build and of a chat process (index,
embedding model and the answering model loaded), search latency p50/p95 over the dev, held-out and laws
questions, hit@5 of the seed question files (dev, held-out) with the other documents around them, and
the time ``qa add`` takes to put one more document into the built index.

    .venv/bin/python eval/scale.py --sizes 1 10 100 [--passage-int8] [--store milvus]

With ``--store milvus`` the index is a Milvus Lite file (``.cache/scale/milvus-<size>x.db``), built with
nothing reused from an embedded index.

The corpora are folders of links under ``.cache/scale/`` (nothing is copied); each size's build runs in
its own process, whose peak resident memory is read from the kernel (``wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAWS = ROOT.parent / "shared" / "corpus-laws"
WORK = ROOT / ".cache" / "scale"
QUESTIONS = ["dev", "heldout", "laws", "laws-tune"]
SEED_FILES = ["dev", "heldout"]
ADDED = LAWS / "地方性法规" / "浙江" / "宁波市学校安全条例(2020-06-05).md"
"""The document that ``qa add`` puts into each built index (held out of every corpus: all its passages
are new)."""


def assemble(size: int) -> Path:
    """A corpus folder of links: the seed files, and every ``size``-th file of the laws (none at 1x)."""
    out = WORK / f"corpus-{size}x"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for path in sorted((ROOT / "corpus").iterdir()):
        if path.is_file() and not path.name.startswith("."):
            (out / path.name).symlink_to(path.resolve())
    if size > 1:
        step = max(1, round(100 / size))
        laws = sorted(p for p in LAWS.rglob("*") if p.is_file() and not p.name.startswith("."))
        for path in [p for p in laws if p != ADDED][::step]:
            target = out / "laws" / path.relative_to(LAWS)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path.resolve())
    return out


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; returns its wall time (s), its peak resident memory (GB) and its output."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{output[-3000:]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024**2, output


def folder_mb(path: Path) -> float:
    """The size of a folder's files, or of a file."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1024**2


def chat_probe(corpus: str, index: str) -> None:
    """(In its own process.) Load what the chat loads, search every question, print the figures as JSON."""
    from qa.config import Config
    from qa.evaluation import load_questions, percentile, run_retriever, score_run
    from qa.pipeline import Pipeline
    from qa.retrieval import Mode

    pipeline = Pipeline(Config.from_env(corpus_dir=Path(corpus), index_dir=Path(index)), progress=False)
    latencies: list[float] = []
    hit5 = {}
    for name in QUESTIONS:
        rows = load_questions(ROOT / "eval" / f"{name}.jsonl")
        run, took = run_retriever(rows, pipeline.retriever, Mode.HYBRID)
        latencies += took
        if name in SEED_FILES:
            hit5[name] = round(score_run(rows, run)["all"]["hit@5"], 3)
    pipeline.load_generator()  # the chat holds the answering model too
    print(
        json.dumps(
            {
                "questions": len(latencies),
                "search_p50_ms": round(1000 * percentile(latencies, 50), 1),
                "search_p95_ms": round(1000 * percentile(latencies, 95), 1),
                "seed_hit@5": hit5,
            }
        )
    )


def read_manifest(index: Path, env: dict[str, str]) -> dict:
    """The manifest of the index just built: its folder's, or the Milvus collection's (read in a process
    of its own: a Milvus Lite file stays locked by the process that opened it)."""
    if env.get("QA_STORE") != "milvus":
        return json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    _, _, output = run_measured([sys.executable, __file__, "--manifest", str(index)], env)
    return json.loads(output.strip().splitlines()[-1])


def print_milvus_manifest(index: str) -> None:
    """(In its own process.) Print the manifest of the Milvus collection as JSON."""
    from qa.config import Config
    from qa.milvus import read_milvus_manifest

    print(json.dumps(read_milvus_manifest(Config.from_env(index_dir=Path(index))), ensure_ascii=False))


def measure(size: int, env: dict[str, str]) -> dict[str, object]:
    """Build, search and add to the corpus of ``size``; returns the row of figures."""
    corpus = assemble(size)
    if env.get("QA_STORE") == "milvus":
        index = WORK / f"index-{size}x-milvus"  # never built: no vectors to reuse
        stored = WORK / f"milvus-{size}x.db"
        env = {**env, "QA_MILVUS_URI": str(stored)}
    else:
        index = stored = WORK / f"index-{size}x"
    for path in (index, stored):
        shutil.rmtree(path, ignore_errors=True)
        if path.is_file():
            path.unlink()
    qa = [sys.executable, "-m", "qa.cli"]
    where = ["--corpus", str(corpus), "--index-dir", str(index)]
    build_s, build_gb, _ = run_measured([*qa, "index", *where], env)
    manifest = read_manifest(index, env)
    timings = manifest["timings"]
    _, chat_gb, output = run_measured([sys.executable, __file__, "--probe", str(corpus), str(index)], env)
    chat = json.loads(output.strip().splitlines()[-1])
    add_s, _, _ = run_measured([*qa, "add", str(ADDED), "--into", "added", *where], env)
    added = read_manifest(index, env)
    run_measured([*qa, "remove", ADDED.name, *where], env)
    return {
        "size": f"{size}x",
        "documents": manifest["documents"],
        "passages": manifest["chunks"],
        "build_s": round(build_s, 1),
        "read_s": timings["read_s"],
        "embed_s": timings["embed_s"],
        "index_s": timings["index_s"],
        "write_s": timings["write_s"],
        "passages_per_s": round(manifest["update"]["embedded"] / max(timings["embed_s"], 1e-9), 1),
        "index_mb": round(folder_mb(stored), 1),
        "build_peak_gb": round(build_gb, 2),
        "chat_peak_gb": round(chat_gb, 2),
        **{k: chat[k] for k in ("questions", "search_p50_ms", "search_p95_ms", "seed_hit@5")},
        "add_one_s": round(add_s, 1),
        "add_one_update_s": added["timings"]["total_s"],
        "add_one_embedded": added["update"]["embedded"],
    }


COLUMNS = [
    ("size", "corpus"),
    ("documents", "documents"),
    ("passages", "passages"),
    ("build_s", "build s"),
    ("read_s", "read+chunk s"),
    ("embed_s", "embed s"),
    ("index_s", "BM25+tags s"),
    ("passages_per_s", "passages/s"),
    ("index_mb", "index MB"),
    ("build_peak_gb", "build peak GB"),
    ("chat_peak_gb", "chat peak GB"),
    ("search_p50_ms", "search p50 ms"),
    ("search_p95_ms", "p95 ms"),
    ("seed_hit@5", "seed hit@5 (dev, held-out)"),
    ("add_one_s", "qa add one doc s"),
]


def table(rows: list[dict[str, object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, dict):
            return " / ".join(f"{v:.3f}" for v in value.values())
        return f"{value:,}" if isinstance(value, int) else str(value)

    lines = ["| " + " | ".join(label for _, label in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(row[key]) for key, _ in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="corpus sizes")
    parser.add_argument("--passage-int8", action="store_true", help="embed passages with the int8 model copy")
    parser.add_argument(
        "--store", choices=["embedded", "milvus"], default="embedded", help="where the index is kept"
    )
    parser.add_argument("--probe", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--manifest", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        chat_probe(*args.probe)
        return
    if args.manifest:
        print_milvus_manifest(args.manifest)
        return
    if not LAWS.is_dir():
        raise SystemExit(f"{LAWS} not found: the scale benchmark reads the laws corpus beside the project")
    env = {
        "QA_PASSAGE_INT8": "1" if args.passage_int8 else "0",
        "PYTHONPATH": str(ROOT),
        "QA_STORE": args.store,
    }
    rows = []
    for size in args.sizes:
        rows.append(measure(size, env))
        print(table(rows[-1:]), flush=True)
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}"
    report = {"machine": machine, "passage_int8": args.passage_int8, "store": args.store, "rows": rows}
    out = (
        ROOT / "eval" / "results" / ("scale.json" if args.store == "embedded" else f"scale-{args.store}.json")
    )
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    precision = "int8" if args.passage_int8 else "float32"
    print(f"\n{machine}; {args.store} store; passages in {precision}\n{table(rows)}")


if __name__ == "__main__":
    main()
