"""How fast the answering model reads the dev prompts with flash attention on and off, interleaved so
that both settings see the same machine load: prints the prompt size and the median seconds to the first
token. Run: ``.venv/bin/python eval/bench_prompt_reading.py [QUESTIONS.jsonl] [N]``."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from qa.config import Config
from qa.generation import LlamaCppGenerator, complete, resolve_llm_model
from qa.pipeline import Pipeline
from qa.prompting import build_prompt


def main() -> None:
    questions = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("dev.jsonl")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    config = Config.from_env()
    pipeline = Pipeline(config, progress=False)
    rows = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    prompts = []
    for question in [row["question"] for row in rows[: n + 1]]:
        hits = pipeline.retriever.search(question, k=config.answer_passages)
        prompts.append(build_prompt(question, question, hits, config.context_chars).messages)
    path = resolve_llm_model(config)
    threads, ctx = config.llm_threads, config.llm_ctx
    models = {flash: LlamaCppGenerator(path, threads, ctx, flash) for flash in (True, False)}
    seconds: dict[bool, list[float]] = {flash: [] for flash in models}
    for model in models.values():
        complete(model, prompts[0], max_tokens=1)  # warm up; the system prompt is cached from here on
    for messages in prompts[1:]:
        for flash, model in models.items():
            start = time.perf_counter()
            complete(model, messages, max_tokens=1)
            seconds[flash].append(time.perf_counter() - start)
    llm = models[True].llm
    tokens = [len(llm.tokenize(m[-1]["content"].encode("utf-8"), add_bos=False)) for m in prompts[1:]]
    print(f"{len(tokens)} prompts; the question and passages: median {statistics.median(tokens):.0f} tokens")
    for flash, times in seconds.items():
        state = "on " if flash else "off"
        print(f"flash attention {state}: first token p50 {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
