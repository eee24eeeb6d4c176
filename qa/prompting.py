"""The prompt of the answering model: the question and the retrieved passages, numbered and grouped under
their documents within a character budget, in the words of the question's language."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.figures import bigrams, sentences
from qa.language import Language
from qa.retrieval import Hit

NOT_FOUND = "资料中未提及"


SYSTEM_PROMPT = "你是政策文件问答助手，根据用户提供的资料回答问题。"


INSTRUCTION = (
    "请用中文简短回答，先直接给出答案；问题有几问就逐一回答。"
    "数字、日期、名称照抄资料原文，句末用[编号]注明依据的资料。"
)
"""Said after the passages. Telling this 1.5B model when to reply "资料中未提及" made it decline nearly
every question (answerable ones too), so abstention is decided by :func:`finish` instead."""


SYSTEM_PROMPT_OTHER = (
    "You answer questions about Chinese policy documents from the passages the user gives, in the "
    "language of the question."
)


INSTRUCTION_OTHER = (
    "Answer in the language of the question above, not in Chinese: briefly, the direct answer first. Copy "
    "numbers and dates exactly as the passages write them, and put the passage number such as [1] after "
    "each statement."
)
"""The system prompt and the words after the passages when the question is not in Chinese."""


WORDING = {
    Language.CHINESE: {
        "system": SYSTEM_PROMPT,
        "instruction": INSTRUCTION,
        "earlier": "此前的问题：",
        "joiner": "；",
        "question": "问题：",
        "passages": "资料：",
        "not_found": f"{NOT_FOUND}。",
        "nearby": "资料中相近的内容：",
        "note": "注意：",
        "source": "出处：",
    },
    Language.OTHER: {
        "system": SYSTEM_PROMPT_OTHER,
        "instruction": INSTRUCTION_OTHER,
        "earlier": "Earlier questions: ",
        "joiner": "; ",
        "question": "Question: ",
        "passages": "Passages:",
        "not_found": f"The documents do not mention this ({NOT_FOUND}).",
        "nearby": "Closest passages in the documents (资料中相近的内容):",
        "note": "Note: ",
        "source": "Source: ",
    },
}
"""What the answering step itself says, to the model and to the user, by the language of the question."""


ASKS_TOTAL = re.compile(r"(?:一共|总共|共有|共列|合计|总计|共计).{0,8}(?:多少|几)")
"""A question asking how many items a list holds: a passage from a numbered list says which it numbers."""


def excerpt(text: str, query: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters: the sentences that share most with ``query``, in
    their order, with "…" where sentences were left out."""
    if len(text) <= limit:
        return text
    spans = sentences(text)
    wanted = bigrams(query)
    ranked = sorted(range(len(spans)), key=lambda i: -len(bigrams(text[slice(*spans[i])]) & wanted))
    keep: set[int] = set()
    used = 0
    for i in ranked:
        size = spans[i][1] - spans[i][0]
        if keep and used + size > limit:
            continue
        keep.add(i)
        used += size
    out, last = [], -1
    for i in sorted(keep):
        if i != last + 1:
            out.append("…")
        out.append(text[slice(*spans[i])][: limit if len(keep) == 1 else None].strip())
        last = i
    if last != len(spans) - 1:
        out.append("…")
    return "".join(out)


def label(hit: Hit) -> str:
    """How a passage's document is named to the model and the user: 《title》（发文字号）."""
    c = hit.chunk
    return f"《{c.part or c.doc_title}》" + (f"（{c.doc_number}）" if c.doc_number else "")


@dataclass
class Prompt:
    messages: list[dict[str, str]]
    passages: list[str]  # each passage's label and whole text, numbered from 1 (what the check reads)


def build_prompt(
    question: str,
    query: str,
    hits: list[Hit],
    budget: int,
    history: list[str] | None = None,
    language: Language = Language.CHINESE,
) -> Prompt:
    """The chat messages: the question, then the passages (grouped under their document's title and 发文字号,
    each labelled with its clause path and cut to share ``budget`` characters, more to the better ranked),
    the question again and the instruction. To a question asking how many items there are in all, a
    passage from a numbered list or table also says which items the whole list numbers (``第1-134项``).

    Args:
        question: the user's question as asked.
        query: what retrieval searched for (the question with the turns before it, in Chinese); the
            passages are cut to the sentences that share most with it.
        hits: the retrieved passages, best first.
        budget: characters of passage text in all.
        history: earlier questions of the conversation, oldest first.
        language: the question's; any but Chinese is answered in the question's language.
    """
    blocks: dict[str, list[str]] = {}
    given = []
    left = budget
    total = bool(ASKS_TOTAL.search(query))
    for i, hit in enumerate(hits):
        share = max(left // (len(hits) - i), min(left, 2 * budget // (len(hits) + 1)))
        text = excerpt(hit.chunk.text, query, share)
        left -= len(text)
        c = hit.chunk
        path = c.clause_path
        if c.list_items and total:
            first, last = c.list_items.split("-")
            path += f"（所在列表共{last}项）" if first == "1" else f"（所在列表为第{first}至{last}项）"
        name = label(hit)
        blocks.setdefault(name, []).append(f"[{i + 1}] {path}\n{text}")
        given.append(f"{name} {path}\n{c.text}")
    context = "\n\n".join(f"{name}\n" + "\n\n".join(texts) for name, texts in blocks.items())
    words = WORDING[language]
    before = f"{words['earlier']}{words['joiner'].join(history)}\n" if history else ""
    asked = f"{before}{words['question']}{question}"
    user = f"{asked}\n\n{words['passages']}\n{context}\n\n{asked}\n\n{words['instruction']}"
    messages = [{"role": "system", "content": words["system"]}, {"role": "user", "content": user}]
    return Prompt(messages, given)
