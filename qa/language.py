"""Questions in other languages: tell a Chinese question from one in another language, and have the
answering model translate the latter into Chinese before retrieval (the corpus is Chinese; the embedding
model and the jieba BM25 both fail across languages, see the README's cross-language table)."""

from __future__ import annotations

import re
from enum import Enum

from qa.generation import Generator, complete

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"[^\W\d_\u3400-\u4dbf\u4e00-\u9fff]+")  # a run of letters of any other script
_PREFIX = re.compile(r"^\s*(?:译文|翻译|中文|Chinese|Translation)\s*[:：]\s*", re.IGNORECASE)

TRANSLATE_PROMPT = (
    "把下面的问题翻译成简体中文。只翻译，不要回答。地名、机构、文件名用中文通用名称，数字和发文字号照抄。"
    "常用译名：14th Five-Year Plan→“十四五”规划，high-tech zone→高新区，development zone→开发区，"
    "park→园区，document number→发文字号。\n\n{text}"
)
EXAMPLE = (
    "On what date was the 14th Five-Year Plan for science and technology adopted, and by which meeting? "
    "How many new jobs does Jiaxing plan for 2024?",
    "科技“十四五”规划是哪天通过的？由哪次会议通过？嘉兴2024年计划新增多少就业？",
)
"""A question and its translation shown to the model first, so that it translates a question into a
question instead of answering it."""


class Language(str, Enum):
    CHINESE = "zh"
    OTHER = "other"


def detect(text: str) -> Language:
    """Chinese when the text has at least two Chinese characters for each word in other scripts (a
    Chinese question may name ``GDP`` or ``PCT``; an English one may quote a 发文字号)."""
    chinese = len(_CJK.findall(text)) >= 2 * len(_WORD.findall(text))
    return Language.CHINESE if chinese else Language.OTHER


def translate(generator: Generator, text: str, max_tokens: int = 120) -> str:
    """``text`` in Chinese, as the answering model translates it; ``text`` itself when no reply of the
    model is Chinese. (Callers check :func:`detect` first, so as not to load the model for nothing.)

    The model translates twice, once after an example exchange and once without; the distinct
    translations are joined. A 1.5B model drops or garbles a term now and then, rarely the same one
    in both, so the search gets each term at least once.

    Args:
        generator: the answering model.
        text: a question in any language the model reads.
        max_tokens: the longest translation, in tokens.
    """
    asked = {"role": "user", "content": TRANSLATE_PROMPT.format(text=text)}
    shown = [
        {"role": "user", "content": TRANSLATE_PROMPT.format(text=EXAMPLE[0])},
        {"role": "assistant", "content": EXAMPLE[1]},
    ]
    found = []
    for messages in ([*shown, asked], [asked]):
        reply = complete(generator, messages, max_tokens).strip()
        first = _PREFIX.sub("", reply.splitlines()[0] if reply else "").strip().strip('"“”「」')
        if first and detect(first) == Language.CHINESE:
            found.append(first)
    return " ".join(dict.fromkeys(found)) or text
