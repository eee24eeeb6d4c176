"""Clause chunking on the real corpus: clause paths that match the printed headings, chunk invariants
(length, offsets, ids, metadata), over-long clauses split under their path, short siblings merged.
Fast: no embedding model. Expected paths were read off the corpus files by hand."""

from __future__ import annotations

import re

import pytest

from qa.chunking import CLOSING_PATH, PATH_SEP, Chunk, chunk_documents
from qa.config import ROOT
from qa.parsing import BlockKind, Document, read_corpus

CORPUS = ROOT / "corpus"
MAX_CHARS = 360
MIN_CHARS = 60
OVERLAP_CHARS = 80
OUTLINE_TITLE = "浙江省国民经济和社会发展第十四个五年规划和二〇三五年远景目标纲要"
SOCIAL_TITLE = "省发展改革委关于印发《浙江省社会发展“十四五”规划》的通知"
APPOINTMENTS_TITLE = "市政府人事任免(2024年2月份)"
GAZETTES = ("jx-gazette-2024-03.txt", "zj-gazette-2021-17-18.txt", "zj-gazette-2021-19-20.txt")

# a heading or list-item marker at the start of a line, as printed in the corpus
_HEADING = re.compile(
    r"^([一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|\d{1,3}\s*[.．、](?!\d)|[(（]\d{1,3}[)）]"
    r"|专栏\s*\d|表\s*\d|——)"
)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return read_corpus(CORPUS).documents


@pytest.fixture(scope="module")
def chunks(docs: list[Document]) -> list[Chunk]:
    return chunk_documents(docs, max_chars=MAX_CHARS, min_chars=MIN_CHARS, overlap_chars=OVERLAP_CHARS)


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")}


def _one(chunks: list[Chunk], wording: str, key: str | None = None) -> Chunk:
    """The one chunk holding ``wording`` (white space ignored), of the document ``key`` if given."""
    found = [
        c
        for c in chunks
        if _squash(wording) in _squash(c.text) and (key is None or key in (c.doc_number, c.doc_title))
    ]
    assert len(found) == 1, f"{wording}: {len(found)} chunks"
    return found[0]


def _document_of(docs: list[Document], chunk: Chunk) -> Document:
    found = [d for d in docs if d.source_file == chunk.source_file and d.start <= chunk.start < d.end]
    assert len(found) == 1, chunk.chunk_id
    return found[0]


# --- clause paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "wording", "path"),
    [
        (
            "浙政发〔2021〕16号",
            "可给予最长期限5年的外国人来华工作许可",
            "二、着力提升自主创新能力 > (二)引导高端人才集聚发展",
        ),
        (
            "浙政发〔2021〕16号",
            "全员劳动生产率达到 50 万元/人左右",
            "一、总体要求 > (二)发展目标 > ——高质量发展先行区",
        ),
        (
            "嘉政办发〔2024〕5号",
            "加强国家、省、市、县重点学科(专科)建设",
            "二、重点任务 > (一)实施“医学高峰”攀登行动 > 1. 高标准建设重点学科(专科)",
        ),
        (
            "嘉政办发〔2024〕7号",
            "推动全市3亿元以上制造业企业无研发机构动态清零",
            "二、主要任务 > (二)实施科技企业提质增效行动 > 4. 实施“两清零一提升”专项行动",
        ),
        (  # a 专栏 inside a plan attached to a notice
            "浙政发〔2021〕12号",
            "杭州钱塘新区。推进半导体、生命健康",
            "九、完善海洋经济“四个重大”支撑体系 > (二)打造海洋经济重大平台 > 专栏2 海洋经济重大平台"
            " > 7. 杭州钱塘新区",
        ),
        (  # a 专栏 of the web-page outline (its label printed with no-break spaces)
            OUTLINE_TITLE,
            "以小城镇为实施对象,打造千个环境美、生活美、产业美、人文美、治理美的“五美”城镇。",
            "七、深入实施新型城镇化战略,推进大中小城市和小城镇协调发展 > (二)推进以县城为重要载体的城镇化建设"
            " > 专栏 16新型城镇化“十百千”行动 > 1-3",  # its three one-sentence items share a chunk
        ),
        ("嘉政办发〔2024〕7号", "本计划自2024年4月1日起施行,有效期至2026年12月31日。", CLOSING_PATH),
        ("浙科发成〔2021〕20号", "负责解释,自2021年7月7日起实施。", CLOSING_PATH),
    ],
)
def test_clause_path_matches_the_printed_headings(chunks: list[Chunk], key: str, wording: str, path: str):
    chunk = _one(chunks, wording, key)
    # the corpus prints some labels with no-break or stray spaces: compare without white space
    assert [_squash(p) for p in chunk.clause_path.split(PATH_SEP)] == [
        _squash(p) for p in path.split(PATH_SEP)
    ]


def test_clause_path_of_a_notice_without_headings(chunks: list[Chunk]):
    chunk = _one(chunks, "非全日制工作的最低小时工资标准调整为 22 元", "嘉政发〔2024〕9号")
    assert chunk.clause_path == "正文"


@pytest.mark.parametrize(
    ("key", "wording", "parents", "table", "row"),
    [
        (
            "浙政发〔2021〕18号",
            "市级党委领导班子中配有女干部的比例(%)",
            ["一、总体要求", "(二)总体目标"],
            "浙江省妇女发展“十四五”规划重点指标目标表",
            7,
        ),
        (
            "浙政办发〔2021〕30号",
            "国家级知识产权保护中心和快速维权中心(个)",
            ["一、总体要求", "(三)发展目标"],
            "浙江省市场监管“十四五”规划主要指标",
            8,
        ),
        (
            OUTLINE_TITLE,
            "全员劳动生产率增长(%)",
            ["一、忠实践行“八八战略”,奋力打造“重要窗口”,开启高水平全面建设社会主义现代化"],
            "专栏2“十四五”时期经济社会发展主要指标",
            2,
        ),
    ],
)
def test_table_row_path_names_the_table_and_its_rows(
    chunks: list[Chunk], key: str, wording: str, parents: list[str], table: str, row: int
):
    chunk = _one(chunks, wording, key)
    path = chunk.clause_path.split(PATH_SEP)
    assert path[: len(parents)] == parents
    assert _squash(path[-2]) == _squash(table)
    m = re.fullmatch(r"序号(\d+)(?:-(\d+))?", path[-1])  # one row, or a run of rows merged: 序号1-7
    assert m, path[-1]
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    assert first <= row <= last
    # the run named in the path is exactly the rows in the chunk
    numbers = [int(n) for n in re.findall(r"序号：(\d+)", chunk.text)]
    assert numbers == list(range(first, last + 1))


def test_table_after_bullets_is_not_inside_the_last_bullet(chunks: list[Chunk]):
    chunk = _one(chunks, "指标：新增城镇就业人数", SOCIAL_TITLE)
    path = [_squash(p) for p in chunk.clause_path.split(PATH_SEP)]
    assert path[:3] == ["二、总体要求", "(三)发展目标", "表2“十四五”时期浙江社会发展主要指标"]


def test_clause_after_a_box_is_not_inside_the_box(chunks: list[Chunk]):
    chunk = _one(chunks, "3. 促进公共服务智慧均等。实施数字生活新服务行动", "浙政发〔2021〕13号")
    assert [_squash(p) for p in chunk.clause_path.split(PATH_SEP)] == [
        "二、主要任务",
        "(二)构建优质便捷的普惠服务体系",
        "3.促进公共服务智慧均等",
    ]


def test_a_box_numbering_its_own_items_ends_at_the_next_outer_item(chunks: list[Chunk]):
    # 专栏6 follows item 1. of (六) and numbers its own items 1.-5.: its 2. stays inside, the 2. after it not
    key, box = "浙政办发〔2021〕31号", "专栏6高质量外资集聚区提升工程"
    inside, after = (
        [_squash(p) for p in _one(chunks, wording, key).clause_path.split(PATH_SEP)]
        for wording in ("2. 中东欧国际产业合作园", "2. 践行“地瓜理论”开展国际投资")
    )
    assert inside[2:] == [box, "2.中东欧国际产业合作园"]
    assert box not in after and after[2:] == ["2.践行“地瓜理论”开展国际投资"]


def test_no_clause_path_repeats_a_label(chunks: list[Chunk]):
    repeated = {
        c.clause_path
        for c in chunks
        if len({_squash(p) for p in c.clause_path.split(PATH_SEP)}) < len(c.clause_path.split(PATH_SEP))
    }
    assert not repeated


# --- invariants of every chunk ----------------------------------------------------------------


def _table_rows(docs: list[Document]) -> set[str]:
    return {b.text for d in docs for b in d.blocks if b.kind == BlockKind.TABLE_ROW}


def _is_rows(text: str, rows: set[str]) -> bool:
    """Whether a chunk is made of rebuilt table rows only (its caption may lead)."""
    lines = text.split("\n")
    return any(line in rows for line in lines) and all(line in rows for line in lines[1:])


@pytest.mark.parametrize("max_chars", [MAX_CHARS, 200])
def test_chunks_are_non_empty_and_prose_is_bounded(docs: list[Document], max_chars: int):
    chunks = chunk_documents(docs, max_chars=max_chars, min_chars=MIN_CHARS)
    rows = _table_rows(docs)
    assert len(chunks) > 1000
    for c in chunks:
        assert c.text.strip() and c.text == c.text.strip(), c.chunk_id
        if len(c.text) > max_chars:  # rows of one table, or a piece that took in a lead too short alone
            assert _is_rows(c.text, rows) or len(c.text) < max_chars + MIN_CHARS, (
                f"{c.chunk_id}: {len(c.text)}"
            )


def test_a_split_clause_keeps_its_short_lead_sentence(chunks: list[Chunk]):
    # the clause is 369 characters, its first line 41: one chunk, not the lead alone and then the rest
    lead = "2. 强化集约化组件化应用支撑。加快一体化应用支撑平台建设,加强六大能力中心建设。"
    found = [c for c in chunks if lead in c.text]
    assert len(found) == 1 and "创新建设智能中心" in found[0].text


@pytest.mark.parametrize("max_chars", [MAX_CHARS, 200])
def test_merged_table_rows_stay_within_max_chars(docs: list[Document], max_chars: int):
    # rows are merged up to max_chars with the line breaks that join them (the outline's 专栏1 rows
    # 类别：创新驱动…民生福祉 once made 361 characters); only a single row may be longer
    rows = _table_rows(docs)
    chunks = chunk_documents(docs, max_chars=max_chars, min_chars=MIN_CHARS)
    merged = [c for c in chunks if sum(line in rows for line in c.text.split("\n")) > 1]
    assert len(merged) > 20
    over = [(c.chunk_id, len(c.text)) for c in merged if len(c.text) > max_chars]
    assert not over


def test_a_smaller_max_chars_gives_more_chunks(docs: list[Document], chunks: list[Chunk]):
    assert len(chunk_documents(docs, max_chars=200, min_chars=MIN_CHARS)) > len(chunks)


def test_chunk_ids_are_unique(chunks: list[Chunk]):
    ids = [c.chunk_id for c in chunks]
    assert len(set(ids)) == len(ids)
    assert all(c.chunk_id.startswith(c.source_file.removesuffix(".txt") + "@") for c in chunks)


def test_offsets_point_at_the_chunks_wording_in_the_source(chunks: list[Chunk], sources: dict[str, str]):
    """``start < end``, and the source between them (give or take a few characters, where a split fell
    inside a block whose broken lines were joined) holds the chunk's wording: for each of its lines the
    first characters, or for a rebuilt table row its longest cell."""
    for c in chunks:
        assert 0 <= c.start < c.end <= len(sources[c.source_file]), c.chunk_id
        window = _squash(sources[c.source_file][max(0, c.start - 5) : c.end + 5])
        for line in c.text.split("\n"):
            if "；" in line and "：" in line:
                probe = max((part.split("：", 1)[-1] for part in line.split("；")), key=len)
            else:
                probe = line
            assert _squash(probe)[:10] in window, (c.chunk_id, line[:30])


def test_offsets_are_exact_for_unsplit_prose(chunks: list[Chunk], sources: dict[str, str]):
    prose = [c for c in chunks if "；" not in c.text or "：" not in c.text]
    exact = [c for c in prose if _squash(c.text) == _squash(sources[c.source_file][c.start : c.end])]
    assert len(exact) >= 0.95 * len(prose)


def test_chunks_carry_their_documents_metadata(docs: list[Document], chunks: list[Chunk]):
    for c in chunks:
        d = _document_of(docs, c)
        assert (c.doc_title, c.doc_number, c.issuer, c.date) == (
            d.title,
            d.doc_number,
            d.issuer,
            d.issue_date,
        )
        assert (c.effective_date, c.valid_until) == (d.effective_date, d.valid_until)
        assert c.doc_title
        if c.source_file in GAZETTES and c.doc_title != APPOINTMENTS_TITLE:
            assert re.fullmatch(r"\S{2,8}〔\d{4}〕\d{1,3}号", c.doc_number), c.chunk_id
    # every document has chunks, in reading order
    assert {(c.source_file, c.doc_title) for c in chunks} == {(d.source_file, d.title) for d in docs}
    for name in {c.source_file for c in chunks}:
        starts = [c.start for c in chunks if c.source_file == name]
        assert starts == sorted(starts)


def test_chunks_of_attached_plans_name_the_plan(chunks: list[Chunk]):
    girls = _one(chunks, "严重致残的出生缺陷发生率", "浙政发〔2021〕18号")
    assert girls.part == "浙江省儿童发展“十四五”规划"
    women = _one(chunks, "市级党委领导班子中配有女干部的比例(%)", "浙政发〔2021〕18号")
    assert women.part == "浙江省妇女发展“十四五”规划"
    notice = _one(chunks, "现将《浙江省海洋经济发展“十四五”规划》印发给你们", "浙政发〔2021〕12号")
    assert notice.part == ""


def test_an_attachment_is_a_clause_named_by_its_mark_and_title(chunks: list[Chunk]):
    # 附件 on its own line, then the attached table's title: the table's rows are in that clause
    table = _one(chunks, "影响人数：30—100 人", "浙自然资规〔2021〕5号")
    assert table.part == "地质灾害风险防范区管理分类表"
    assert table.clause_path.split(PATH_SEP)[0] == "附件 地质灾害风险防范区管理分类表"
    assert table.text.startswith("附件 地质灾害风险防范区管理分类表\n")
    notice = _one(chunks, "本通知自 2021 年 7 月 20 日起施行", "浙自然资规〔2021〕5号")
    assert notice.clause_path == CLOSING_PATH


def test_keyword_text_starts_with_title_and_holds_the_clause_path(chunks: list[Chunk]):
    """What BM25 indexes. (The dense model embeds ``text`` alone, by design: see qa/chunking.py.)"""
    for c in chunks:
        head, path, text = c.keyword_text.split("\n", 2)
        assert head == c.doc_title + (f" {c.part}" if c.part else "")
        assert path == c.clause_path and text == c.text


# --- splitting and merging --------------------------------------------------------------------


def _joined(pieces: list[Chunk]) -> str:
    """The wording of consecutive pieces of one clause, each piece's repeat of the one before dropped."""
    text = ""
    for c in pieces:
        overlap = _overlap(text, c.text)
        text += c.text[overlap:]
    return text


def _overlap(before: str, after: str) -> int:
    """How many characters ``after`` repeats from the end of ``before``."""
    longest = min(len(before), len(after))
    return max((n for n in range(1, longest + 1) if before.endswith(after[:n])), default=0)


def test_over_long_clause_is_split_keeping_its_path(docs: list[Document], chunks: list[Chunk]):
    """嘉政发〔2024〕8号, 二、着力建设现代产业体系: the paragraph 巩固提升先进制造业… (408 characters)
    under its heading, printed on a line of its own."""
    doc = next(d for d in docs if d.doc_number == "嘉政发〔2024〕8号")
    block = next(b for b in doc.blocks if b.text.startswith("巩固提升先进制造业。"))
    assert len(block.text) > MAX_CHARS
    pieces = [
        c for c in chunks if c.source_file == doc.source_file and c.start < block.end and c.end > block.start
    ]
    assert len(pieces) >= 2
    assert {c.clause_path for c in pieces} == {"二、着力建设现代产业体系"}
    # the heading is not left alone
    assert pieces[0].text.startswith("二、着力建设现代产业体系\n巩固提升先进制造业。")
    assert all(len(c.text) <= MAX_CHARS for c in pieces)
    assert _squash(_joined(pieces)) == _squash("二、着力建设现代产业体系" + block.text)
    assert all(c.text.endswith(("。", "；", "，", ",")) for c in pieces)  # split at sentence boundaries


def test_a_piece_repeats_the_sentence_before_it(chunks: list[Chunk]):
    """A piece of a split clause repeats the end of the piece before it: whole sentences of at most
    OVERLAP_CHARS characters."""
    by_clause: dict[tuple[str, str], list[Chunk]] = {}
    for c in chunks:
        by_clause.setdefault((c.source_file, c.clause_path), []).append(c)
    repeats = 0
    for group in by_clause.values():
        for before, after in zip(group, group[1:], strict=False):
            if before.end > after.start:  # pieces of one split clause
                n = _overlap(before.text, after.text)
                whole = n == 0 or after.text[:n].endswith(("。", "；", "，", ",", "、"))
                assert n <= OVERLAP_CHARS and whole, after.chunk_id
                repeats += n > 0
    assert repeats >= 20


def test_every_over_long_paragraph_is_split_under_one_path(docs: list[Document], chunks: list[Chunk]):
    long_blocks = 0
    for d in docs:
        for b in d.blocks:
            if b.kind != BlockKind.PARAGRAPH or len(b.text) <= MAX_CHARS:
                continue
            long_blocks += 1
            pieces = [
                c for c in chunks if c.source_file == d.source_file and c.start < b.end and c.end > b.start
            ]
            # one piece only when its short lead sentence was taken into the rest (see above)
            assert len(pieces) >= 2 or len(b.text) < MAX_CHARS + MIN_CHARS, b.text[:30]
            assert len({c.clause_path for c in pieces}) == 1, b.text[:30]
            assert _squash(b.text) in _squash(_joined(pieces))
            assert all(len(c.text) < MAX_CHARS + MIN_CHARS for c in pieces)
    assert long_blocks >= 40


def test_short_sibling_clauses_are_merged(chunks: list[Chunk]):
    """专栏14 of the outline: its one-sentence items 1. to 13. share a chunk, under the 专栏's path and
    the range of their numbers."""
    chunk = _one(chunks, "深化“亩均论英雄”改革。", OUTLINE_TITLE)
    assert "1.\xa0深化省属企业市场化改革。" in chunk.text and "4.\xa0深化电力体制改革。" in chunk.text
    assert _squash(chunk.clause_path).endswith("专栏14市场经济体制改革重点项目清单>1-13")


def test_short_table_rows_are_merged_up_to_max_chars(chunks: list[Chunk]):
    rows = [c for c in chunks if c.doc_number == "浙政发〔2021〕18号" and "序号：" in c.text]
    assert len(rows) >= 2
    assert all(c.text.count("序号：") >= 2 and len(c.text) <= MAX_CHARS for c in rows)
    # all 13 + 11 rows of the two indicator tables, each exactly once
    assert sum(c.text.count("序号：") for c in rows) == 24


def test_tiny_chunks_are_only_headings_or_list_items(chunks: list[Chunk]):
    """Measured on this corpus: every chunk under 15 characters is one heading or list-item line (e.g.
    ``一、总体要求``, ``11. 杭州钱江经济开发区``); no fragment of running text is that short."""
    for c in chunks:
        if len(c.text) < 15:
            assert "\n" not in c.text and _HEADING.match(c.text), (c.chunk_id, c.text)
    # body text is never cut into a sliver: the shortest split piece is a whole sentence
    for c in chunks:
        if not _HEADING.match(c.text) and len(c.text) < 25:
            assert c.text.endswith(("。", "；", ")", "）")), (c.chunk_id, c.text)


def test_three_digit_list_items_are_not_filed_under_item_99(chunks: list[Chunk]):
    chunk = _one(chunks, "112. 浙江头门港经济开发区", "浙政办发〔2021〕27号")
    assert "衢州智造新城" not in chunk.clause_path


def test_items_of_a_numbered_list_or_table_know_the_whole_list(chunks: list[Chunk]):
    # the 2021 list of development zones numbers 134 of them, over a dozen chunks
    zones = [c for c in chunks if c.doc_number == "浙政办发〔2021〕27号" and c.part]
    assert len(zones) > 10 and {c.list_items for c in zones} == {"1-134"}
    # the 13 research topics of the 咨询委 plan are a table of two chunks (rows 1-12, row 13)
    topics = [c for c in chunks if "序号：13；题目：嘉兴加快打造虹桥国际开放枢纽" in c.text]
    assert [c.list_items for c in topics] == ["1-13"]
    # a numbered clause under a section whose items are numbered on from the section before
    clause = _one(chunks, "35. 推进公共卫生领域数字化改革", "嘉政办发〔2024〕5号")
    first, last = map(int, clause.list_items.split("-"))
    assert 1 < first < 35 <= last
    # a notice's body is in no list
    assert all(c.list_items == "" for c in chunks if c.clause_path == "正文")


@pytest.mark.parametrize(
    ("key", "heading"),
    [
        pytest.param(
            "浙政办发〔2021〕27号",
            "2. 杭州城西科创大走廊",
            id="list-items-not-merged",
        ),
        pytest.param(
            "浙政发〔2021〕12号",
            "一、总体要求",
            id="heading-split-off",
        ),
        pytest.param(
            "嘉政发〔2024〕8号",
            "二、着力建设现代产业体系",
            id="heading-split-off-2",
        ),
        pytest.param(
            "嘉政办发〔2024〕5号",
            "(二)实施县域医疗卫生提升行动。",
            id="heading-ending-in-full-stop",
        ),
    ],
)
def test_no_chunk_is_a_lone_heading(chunks: list[Chunk], key: str, heading: str):
    assert [c for c in chunks if key in (c.doc_number, c.doc_title) and c.text == heading] == []
