"""How the document model reads folders of laws and regulations (``../shared/corpus-laws`` by default):
per folder, documents, titles with markup left in, documents with an issue (adoption) date, documents
whose validity is known (not 未说明), passages with an article path (``…第X条``), and kinds.

    .venv/bin/python eval/document_model.py [FOLDER …]
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from qa.chunking import HISTORY_PATH, chunk_document
from qa.parsing import read_corpus
from qa.validity import Validity, validity_of

ROOT = Path(__file__).resolve().parent.parent
LAWS = ROOT.parent / "shared" / "corpus-laws"
FOLDERS = [
    "地方性法规/浙江",
    "地方性法规/上海",
    "地方性法规/广东",
    "行政法规",
    "部门规章",
    "社会法",
    "经济法",
    "行政法",
]
_MARKUP = re.compile(r"^#|\*\*|<!--|</?[a-z]+>")
_ARTICLE = re.compile(r"第[一二三四五六七八九十百千零〇]+条")


def report(folder: Path, as_of: str = "2026-12-06") -> str:
    """One table row of figures for the documents of ``folder``."""
    corpus = read_corpus(folder)
    docs = corpus.documents
    chunks = [[c for c in chunk_document(d) if c.clause_path != HISTORY_PATH] for d in docs]
    known = [bool(cs) and validity_of(cs[0], as_of).validity != Validity.UNSTATED for cs in chunks]
    passages = [c for cs in chunks for c in cs]
    articles = sum(bool(_ARTICLE.search(c.clause_path)) for c in passages)
    kinds = ", ".join(f"{k or '?'} {n}" for k, n in Counter(d.kind for d in docs).most_common(4))
    name = folder.relative_to(LAWS) if folder.is_relative_to(LAWS) else folder
    cells = [
        name,
        len(docs),
        sum(bool(_MARKUP.search(d.title)) for d in docs),
        f"{sum(bool(d.issue_date) for d in docs) / len(docs):.3f}",
        f"{sum(known) / len(docs):.3f}",
        f"{articles / max(len(passages), 1):.3f}",
        len(corpus.problems),
        kinds,
    ]
    return "| " + " | ".join(map(str, cells)) + " |"


def main() -> None:
    folders = [Path(a) for a in sys.argv[1:]] or [LAWS / f for f in FOLDERS if (LAWS / f).is_dir()]
    head = "folder, documents, markup in title, issue date, validity known, article path, unreadable, kinds"
    print("| " + " | ".join(head.split(", ")) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for folder in folders:
        print(report(folder), flush=True)


if __name__ == "__main__":
    main()
