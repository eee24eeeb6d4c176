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


_MEASURES = (
    "美元|元|工作日|日|天|周岁|岁|周|年|个月|月|小时|分钟|秒|倍"
    "|平方公里|平方米|立方米|公里|千米|米|公顷|亩|吨|度|%|‰"
)
"""Units that make a lone numeral a figure (一年, 两倍): a count word (一个, 一批) does not."""
_COUNTS = "个|项|次|人|名|户|家|所|辆|台|张|件|座|批|类|种|条|款|章|节|层|级|届|轮|位|本|份|部"
_RUN = f"(?<![\\d.])(?<!\\d\\s)[{NUMERAL_CHARS}](?:[{NUMERAL_CHARS}]|点(?=[〇零一二两三四五六七八九]))*"
_FIGURE = re.compile(
    rf"(百分之|千分之)({_RUN})"  # 百分之七十 -> 70%, 千分之三 -> 3‰
    rf"|({_RUN})分之({_RUN})"  # 三分之二 -> 2/3
    rf"|(?<=第)({_RUN})"  # 第二十一条 -> 第21条
    rf"|({_RUN})(?=(?:{_MEASURES}|{_COUNTS}))"  # 十五日, 五千元, 二十万元, 三个月
)
_LONE = set("一两百千万")
"""Numerals too common in words to be read as a figure alone but before a unit (一年, 百年; not 一批,
两个方面, 千家万户)."""


def _value(run: str) -> str | None:
    """The Arabic form of a run of Chinese numerals, a decimal (零点五) or one ending in 万/亿 kept as
    written (二十万 -> 20万), or None when it writes no number."""
    whole, point, fraction = run.partition("点")
    if point:
        head = cn_to_int(whole)
        if head is None or not all(c in _DIGIT for c in fraction):
            return None
        return f"{head}." + "".join(str(_DIGIT[c]) for c in fraction)
    big = run[-1] if run[-1] in _BIG and len(run) > 1 else ""
    number = cn_to_int(run[:-1] if big else run)
    return None if number is None else f"{number}{big}"


def arabic_numerals(text: str) -> str:
    """``text`` with the figures written in Chinese numerals written in Arabic ones, so that figures in
    either script compare: a numeral before a unit or a count word (十五日 -> 15日, 五千元 -> 5000元,
    二十万元 -> 20万元, 三个月 -> 3个月), an ordinal (第二十一条 -> 第21条), a percentage, permille or
    fraction (百分之七十 -> 70%, 千分之三 -> 3‰, 三分之二 -> 2/3). A numeral in a word stays (统一,
    十四五规划, 一批, 千家万户): a lone 一, 两, 百, 千 or 万 is a figure only before a unit, a lone 〇
    or 亿 never is, and one right after an Arabic figure is its unit (20万元)."""

    def arabic(m: re.Match[str]) -> str:
        per, of, below, above, ordinal, run = m.groups()
        if per:
            value = _value(of)
            return m.group() if value is None else value + ("%" if per == "百分之" else "‰")
        if below:
            parts = _value(below), _value(above)
            return m.group() if None in parts else f"{parts[1]}/{parts[0]}"
        run = ordinal or run
        lone = len(run) == 1 and (run in "〇零亿" or (run in _LONE and not ordinal))
        if lone and not (run in _LONE and re.match(_MEASURES, text[m.end() :])):
            return run
        value = _value(run)
        return run if value is None else value

    return _FIGURE.sub(arabic, text)
