"""Rebuild tables that the source flattened (tab-separated rows, or one cell per line) into one line
per row that names its column headers. Cell wording is kept exactly; only layout changes."""

from __future__ import annotations

import re

ROW_SEP = "；"
CELL_SEP = "："
TERMINAL_CELLS = {"预期性", "约束性"}
"""Values of the 属性 column, which ends a row of a plan's indicator table."""

_CAPTION = re.compile(r"^(专栏\s*\d+|表\s*\d+)")
_SEQ = re.compile(r"^\d{1,3}$")
_NOTE = re.compile(r"[(（]\d{4}\s*年[)）]")
"""A cell noting the year of the value before it: ``(2019年)``."""
_QUALIFIED = re.compile(r".*\d.*[(（]([^\d()（）]+)[)）]")
"""A value of one of several things: ``>96(食品)``."""
_UNIT = re.compile(r"[^\d\s]{1,6}")
"""A 单位 cell: %, 万人, 人/亿元 (no figure)."""
_SPACED = re.compile(r"(?<!\S)[\u4e00-\u9fff](?:\s+[\u4e00-\u9fff](?!\S))+")


def is_caption(line: str) -> bool:
    """A table or box caption such as ``专栏 2 “十四五”时期…`` or ``表1 …``."""
    return bool(_CAPTION.match(line.strip()))


def unspaced(cell: str) -> str:
    """A cell with its letter-spaced words closed up (``管 理 分 类 影响人数`` -> ``管理分类 影响人数``):
    single characters set apart to fill a wide cell are one word."""
    return _SPACED.sub(lambda m: re.sub(r"\s+", "", m.group()), cell)


def format_row(headers: list[str], cells: list[str]) -> str:
    """``header：cell；header：cell`` for the non-empty cells of one row. A row wider than its header
    (leading group and number columns that the header does not name) is named from the right."""
    if len(cells) > len(headers):
        headers = [""] * (len(cells) - len(headers)) + headers
    parts = []
    for i, cell in enumerate(cells):
        if not cell.strip():
            continue
        head = headers[i].strip() if i < len(headers) else ""
        parts.append(f"{head}{CELL_SEP}{cell.strip()}" if head else cell.strip())
    return ROW_SEP.join(parts)


def tab_rows(lines: list[str]) -> list[str]:
    """Rows of a tab-separated table: one formatted line per data row.

    The first line is the header row, or the first two (see :func:`header_lines`). An empty leading
    cell (a merged cell in the source) takes the value of the row above, so every row can be read on
    its own.
    """
    headers = [unspaced(c.strip()) for c in lines[0].split("\t")]
    if header_lines(lines) == 2:
        headers, lines = _two_level(headers, [c.strip() for c in lines[1].split("\t")]), lines[1:]
    while headers and not headers[-1]:
        headers.pop()
    if "" in headers:  # a header cell merged over several columns: name the cells from the right
        headers = [h for h in headers if h]
    rows: list[str] = []
    above: list[str] = []
    for line in lines[1:]:
        cells = [c.strip() for c in line.split("\t")]
        if cells and not cells[0] and above:
            cells[0] = above[0]
        above = cells
        rows.append(format_row(headers, cells))
    return rows


def header_lines(lines: list[str]) -> int:
    """How many of a tab-separated table's lines are its header: 2 when the second names the columns
    under a cell merged over several of them (``风险级别`` then empty cells, over ``极高 高 中``), its
    first cell empty; else 1."""
    if len(lines) < 3:
        return 1
    headers, sub = ([c.strip() for c in line.split("\t")] for line in lines[:2])
    spanned = [i for i, h in enumerate(headers) if i and not h]
    two = (
        bool(spanned)
        and len(sub) == len(headers)
        and not sub[0]
        and all(sub[i] for i in spanned)
        and not any(re.search(r"\d", c) for c in sub)
    )
    return 2 if two else 1


def _two_level(headers: list[str], sub: list[str]) -> list[str]:
    """One name per column from a two-level header: the merged cell above, then its own (``风险级别高``)."""
    names, above = [], ""
    for head, below in zip(headers, sub, strict=True):
        above = head or above
        names.append(f"{above}{below}" if head or below else "")
    return names


def _merge_two_level(headers: list[str], width: int) -> list[str]:
    """Join pairs of trailing header cells (``2020年`` + ``规划目标``) until ``width`` columns remain."""
    excess = len(headers) - width
    if excess <= 0 or 2 * excess > len(headers):
        return headers
    keep, pairs = headers[: len(headers) - 2 * excess], headers[len(headers) - 2 * excess :]
    if not all(re.fullmatch(r"\d{4}\s*年", pairs[i]) for i in range(0, len(pairs), 2)):
        return headers
    return keep + [pairs[i] + pairs[i + 1] for i in range(0, len(pairs), 2)]


def _align(headers: list[str], cells: list[str], lead: int) -> str:
    """Name cells by header: the first ``lead`` from the left (and a 单位 after them, when the cell is
    one), the rest from the right, which is how these tables lose cells (an empty unit or target cell
    is simply missing)."""
    if len(cells) >= len(headers):
        return format_row(headers, cells)
    left = min(lead, len(cells))
    unit = left < len(headers) - 1 and headers[left] == "单位" and len(cells) > left + 1
    if unit and _UNIT.fullmatch(cells[left]):
        left += 1  # a row missing a value keeps its unit (城镇调查失业率 % 控制在5.5左右)
    names = headers[:left] + headers[len(headers) - (len(cells) - left) :]
    return format_row(names, cells)


def _join_unit_cells(cells: list[str], name: int, width: int) -> list[str]:
    """Cells with the indicator name (cell ``name``) joined to the cells that continue it on their own
    lines: a unit (``(万吨标煤)``) or the rest of a long name (``托位数(个)``): no digit, ending in ")";
    in a row wider than ``width`` columns, also a sub-indicator's name before its unit (``城镇化率``
    over ``常住人口城镇化率`` and ``%``)."""
    cells = list(cells)
    while name + 2 < len(cells) and not re.search(r"\d", cells[name + 1]):
        if cells[name + 1].endswith(")"):
            cells[name : name + 2] = [cells[name] + cells[name + 1]]
        elif len(cells) > width and not re.search(r"\d", cells[name + 2]):
            cells[name : name + 2] = [f"{cells[name]} {cells[name + 1]}"]
        else:
            break
    return cells


def _closed_up(cells: list[str]) -> list[str]:
    """Cells with a note joined to the value it qualifies (``5.99`` and ``(2019年)``), and the two
    halves of a value stated for two things (``>96(食品)`` and ``>98(药品)``) joined."""
    out: list[str] = []
    i = 0
    while i < len(cells):
        cell, after = cells[i], cells[i + 1] if i + 1 < len(cells) else ""
        if out and _NOTE.fullmatch(cell) and re.search(r"\d", out[-1]):
            out[-1] += cell
        elif (a := _QUALIFIED.fullmatch(cell)) and (b := _QUALIFIED.fullmatch(after)) and a[1] != b[1]:
            out.append(f"{cell} {after}")
            i += 1
        else:
            out.append(cell)
        i += 1
    return out


def _indicators(cells: list[str], width: int) -> list[list[str]]:
    """A row's cells, split where a second indicator starts after the first one's values (``其中:…``,
    ``户籍人口城镇化率``) when the row is wider than its ``width`` columns; else the row as it is."""
    if len(cells) <= width:
        return [cells]
    starts = [0] + [
        i
        for i in range(3, len(cells) - 1)
        if not re.search(r"\d", cells[i])
        and cells[i] not in TERMINAL_CELLS
        and (re.search(r"\d", cells[i - 1]) or cells[i - 1] in TERMINAL_CELLS)
    ]
    return [cells[a:b] for a, b in zip(starts, starts[1:] + [len(cells)], strict=True)]


def _row_text(row: list[str], names: list[str]) -> str:
    """One row of a table numbered by 序号, its cells named by ``names`` (序号, the indicator, then its
    columns); a second indicator in the row (其中:…) is named by the same columns, and shares the 属性."""
    first, *more = _indicators(_closed_up(row), len(names))
    texts = [_align_values(names, _join_unit_cells(first, 1, len(names)), lead=2)]
    for cells in more:
        if first[-1] in TERMINAL_CELLS and cells[-1] not in TERMINAL_CELLS:
            cells = [*cells, first[-1]]
        texts.append(_align_values(names[1:], _join_unit_cells(cells, 0, len(names) - 1), lead=1))
    return ROW_SEP.join(texts)


def _align_values(names: list[str], cells: list[str], lead: int) -> str:
    """:func:`_align`, except in an indicator table whose values are ``<year>, <year>, 年均/累计`` before
    its 属性: there a row with two values states the two years (a level and its target: 71 and 75左右 for
    the 城镇化率), where one with a single value states the 年均/累计 (a growth rate, a 〔cumulative〕)."""
    years = [i for i, n in enumerate(names) if re.fullmatch(r"\d{4}\s*年", n)]
    indicator = names[-1] == "属性" and cells[-1] in TERMINAL_CELLS and len(names) == lead + 4
    if indicator and years == [lead, lead + 1] and len(cells) == lead + 3:
        return format_row(names[: lead + 2] + names[-1:], cells)
    return _align(names, cells, lead)


def cell_rows(cells: list[str]) -> list[str] | None:
    """Rebuild a table flattened one cell per line. Returns formatted rows, or None when no row
    structure is recognised (then the caller keeps the cells as a plain paragraph).

    Rows are delimited by a ``序号`` column (1, 2, 3, … in order) or by a terminal ``属性`` value.
    A label cell just before a row (e.g. ``居民生活``) is the row group, carried to later rows.
    """
    cells = [c.strip() for c in cells if c.strip()]
    if "序号" in cells:
        return _rows_by_sequence(cells)
    if cells and "属性" in cells[:12]:
        return _rows_by_terminal(cells)
    return None


def _rows_by_sequence(cells: list[str]) -> list[str] | None:
    seq_col = cells.index("序号")
    start = next((i for i in range(seq_col + 1, len(cells)) if cells[i] == "1"), None)
    if start is None:
        return None
    header = cells[seq_col:start]
    group_name = cells[seq_col - 1] if seq_col > 0 else ""
    group = header.pop() if group_name and len(header) > 1 else ""
    raw_rows: list[list[str]] = []
    expected = 1
    for cell in cells[start:]:
        if cell == str(expected):
            raw_rows.append([cell])
            expected += 1
        else:
            raw_rows[-1].append(cell)
    if len(raw_rows) < 2:
        return None
    typical = sorted(len(r) for r in raw_rows)[len(raw_rows) // 2]
    groups: list[str] = []
    for row in raw_rows:
        groups.append(group)
        if (
            group_name
            and (len(row) > typical or (len(row) > 3 and re.search(r"\d", row[-2])))
            and not re.search(r"\d", row[-1])
            and row[-1] not in TERMINAL_CELLS
        ):
            group = row.pop()  # a label after the row's last value (or its 属性) starts the next group
    names = _merge_two_level(header, typical)
    texts = [_row_text(row, names) for row in raw_rows]
    return [
        f"{group_name}{CELL_SEP}{g}{ROW_SEP}{text}" if g else text
        for g, text in zip(groups, texts, strict=False)
    ]


def _rows_by_terminal(cells: list[str]) -> list[str] | None:
    attr = cells.index("属性")
    header = cells[: attr + 1]
    group_name = header[0]
    body = cells[attr + 1 :]
    # sub-header cells (years, 年均/累计) come before the first group label
    while body and (re.fullmatch(r"\d{4}年|年均/累计", body[0])):
        body = body[1:]
    rows: list[str] = []
    current: list[str] = []
    group = ""
    names = header[1:]
    for cell in body:
        current.append(cell)
        if cell in TERMINAL_CELLS:
            if len(current) >= 3 and not re.search(r"\d", current[0]) and not re.search(r"\d", current[1]):
                group, current = current[0], current[1:]
            text = _align(names, current, lead=1)
            rows.append(f"{group_name}{CELL_SEP}{group}{ROW_SEP}{text}" if group else text)
            current = []
    if current:
        rows.append(ROW_SEP.join(current))
    return rows if len(rows) >= 2 else None
