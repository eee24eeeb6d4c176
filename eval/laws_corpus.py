"""Assemble the corpus of the generality benchmark: the seed documents of ``corpus/`` and the laws and
regulations that ``eval/laws-corpus.txt`` lists from ``../shared/corpus-laws``, linked (not copied) into
``.cache/corpus-laws-eval/`` under their paths there, so that ``source_file`` reads as in the question
files. Prints the folder, for ``qa eval --corpus``.

    .venv/bin/python eval/laws_corpus.py
    .venv/bin/qa eval --questions eval/laws.jsonl --corpus .cache/corpus-laws-eval \\
        --index-dir .cache/index-laws-eval
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def assemble(listing: Path, laws: Path, seed: Path, out: Path) -> Path:
    """Link the seed files and the listed law files into ``out`` (made anew), each link relative to
    where it is, so that a copy of the project (a git worktree with ``.cache`` linked) reads the same
    files; returns ``out``."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for path in seed.iterdir():
        if path.is_file() and not path.name.startswith("."):
            (out / path.name).symlink_to(os.path.relpath(path.absolute(), out.absolute()))
    for line in listing.read_text(encoding="utf-8").splitlines():
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        source = laws / name
        if not source.is_file():
            raise SystemExit(f"{listing}: {source} not found")
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).symlink_to(os.path.relpath(source.absolute(), (out / name).parent.absolute()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", type=Path, default=ROOT / "eval" / "laws-corpus.txt")
    parser.add_argument("--laws", type=Path, default=ROOT.parent / "shared" / "corpus-laws")
    parser.add_argument("--seed", type=Path, default=ROOT / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "corpus-laws-eval")
    args = parser.parse_args()
    print(assemble(args.list, args.laws, args.seed, args.out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
