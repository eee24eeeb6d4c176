"""Keeping the corpus current: adding published files to the corpus folder and taking documents out.
The index is then updated by :func:`qa.index.update_index` (only what changed is read and embedded)."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from qa.parsing import corpus_files, source_name
from qa.readers import SUFFIXES, UNSUPPORTED, CorpusError


def add_files(corpus_dir: Path, paths: list[Path], into: str = "") -> list[str]:
    """Copy ``paths`` into ``corpus_dir`` (under its sub-folder ``into``); returns what happened to each.
    Nothing is copied when one of them cannot be read by the project (the message says what to do).

    Raises:
        CorpusError: a file is missing, is a folder or is of a format the readers do not take.
    """
    for path in paths:
        if not path.is_file():
            raise CorpusError(f"not added: {path}: no such file")
        suffix = path.suffix.lower()
        if suffix in UNSUPPORTED:
            raise CorpusError(f"not added: {path.name}: {UNSUPPORTED[suffix]}")
        if suffix not in SUFFIXES:
            raise CorpusError(f"not added: {path.name}: the readers take {', '.join(sorted(SUFFIXES))}")
    folder = corpus_dir / into
    if folder.resolve() != corpus_dir.resolve() and corpus_dir.resolve() not in folder.resolve().parents:
        raise CorpusError(f"not added: {into} is outside the corpus folder")
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for path in paths:
        target = folder / path.name
        name = source_name(target, corpus_dir)
        if target.exists() and filecmp.cmp(path, target, shallow=False):
            done.append(f"{name}: already in the corpus")
            continue
        verb = "replaced" if target.exists() else "added"
        shutil.copyfile(path, target)
        done.append(f"{name}: {verb}")
    return done


def remove_files(corpus_dir: Path, names: list[str]) -> list[str]:
    """Delete the corpus files named by their path under ``corpus_dir`` or, when that is unambiguous, by
    their file name; returns their paths. Nothing is deleted when one name matches no file or several.

    Raises:
        CorpusError: a name matches no corpus file, or several.
    """
    files = {source_name(p, corpus_dir): p for p in corpus_files(corpus_dir)}
    chosen = []
    for name in names:
        if name in files:
            chosen.append(name)
            continue
        matches = [n for n, p in files.items() if p.name == Path(name).name]
        if not matches:
            raise CorpusError(f"not removed: no corpus file is named {name} in {corpus_dir}")
        if len(matches) > 1:
            raise CorpusError(
                f"not removed: {name} names {len(matches)} files; say which: {', '.join(matches)}"
            )
        chosen.append(matches[0])
    for name in chosen:
        files[name].unlink()
    return chosen
