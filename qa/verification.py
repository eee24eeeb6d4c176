"""Verification of figures: the model, shown the sentences of the cited passages that state an answer's
figures, is asked whether they answer the question (a figure in its passage may be said of something
else)."""

from __future__ import annotations

from qa.answering import Answer, statements
from qa.figures import WHOLE_SENTENCE, claims, stating_spans, window
from qa.language import Language
from qa.prompting import SYSTEM_PROMPT, label

VERIFY = "资料：\n{quotes}\n\n问题：{question}\n\n仅凭这段资料，能回答上面的问题吗？只回答“能”或“不能”。"
"""Asked of the model once an answer with figures has passed the checks (see :func:`verification`)."""


def verification(answer: Answer, language: Language = Language.CHINESE) -> list[dict[str, str]]:
    """The messages asking the model whether the sentences of the cited passages that state the answer's
    figures state them of what the question asks (:data:`VERIFY`): the checks before test that a figure
    is in its passage, not what the passage says it of. Empty when the answer states no figure.

    Args:
        answer: a checked answer that does not abstain.
        language: the question's.
    """
    figures = claims(statements(answer.text, language), answer.query)
    quotes = []
    for n in answer.cited:
        hit = answer.passages[n - 1]
        text = hit.chunk.text
        rows = [m.span() for m in WHOLE_SENTENCE.finditer(text)]  # a table row whole, with its name
        spans = [window(text, *span, figures) for span in stating_spans(text, figures, rows)]
        stating = [text[slice(*span)].strip() for span in spans]
        if stating:
            quotes.append(f"{label(hit)} {hit.chunk.clause_path}：{''.join(stating)}")
    if not quotes:
        return []
    user = VERIFY.format(question=answer.query, quotes="\n".join(quotes))
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def confirms(reply: str) -> bool:
    """Whether the model's reply to :func:`verification` does not deny (不能, 否)."""
    return not reply.strip().startswith(("不", "否"))
