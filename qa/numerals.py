"""Chinese numerals as numbers: ``二十一`` -> 21, ``二〇二一`` -> 2021, ``一万二千`` -> 12000, and dates
written in them (``二〇〇四年一月一日`` -> ``2004年1月1日``)."""

from __future__ import annotations

import re

_DIGIT = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNIT = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
NUMERAL_CHARS = "〇零一二两三四五六七八九十百千万亿"
_CN_DATE = re.compile(
    r"([〇零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
)


def cn_to_int(text: str) -> int | None:
    """The number a run of Chinese numerals writes, or None when it is not one.

    Args:
        text: e.g. ``二十一``, ``一百零五``, ``二〇二一`` (digit by digit), ``三千五百万``.
    """
    if not text or any(c not in _DIGIT and c not in _UNIT and c not in _BIG for c in text):
        return None
    if all(c in _DIGIT for c in text):  # read digit by digit: 二〇二一
        return int("".join(str(_DIGIT[c]) for c in text))
    total, section, digit = 0, 0, None
    for c in text:
        if c in _DIGIT:
            digit = _DIGIT[c]
        elif c in _UNIT:
            section += (1 if digit is None else digit) * _UNIT[c]
            digit = None
        else:
            section += digit or 0
            total += (section or 1) * _BIG[c]
            section, digit = 0, None
    return total + section + (digit or 0)


def arabic_dates(text: str) -> str:
    """Dates written in Chinese numerals in Arabic ones: ``二〇〇四年一月一日`` -> ``2004年1月1日``."""
    return _CN_DATE.sub(lambda m: "{}年{}月{}日".format(*(cn_to_int(g) for g in m.groups())), text)
