"""The format readers on real files made here from corpus text with the libraries that write those formats:
each reader keeps the source's paragraphs in order and none of the format's noise, and parsing its text
finds the same documents as parsing the source."""

from __future__ import annotations

import html
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

from qa.chunking import chunk_document
from qa.parsing import parse_text
from qa.readers import SUFFIXES, UNSUPPORTED, UnreadableFile, read_document

ROOT = Path(__file__).resolve().parent.parent
GAZETTE = ROOT / "corpus" / "jx-gazette-2024-03.txt"
LAW = ROOT.parent / "shared" / "corpus-laws" / "地方性法规" / "浙江" / "宁波市学校安全条例(2020-06-05).md"
DOC_NUMBER = re.compile(r"^\S+〔\d{4}〕\s*\d+\s*号$")
DATE = re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")
HEADER = "嘉兴市人民政府公报    2024年第3期"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def gazette(first: str = "嘉政发〔2024〕8号", last: str = "嘉政办发〔2024〕5") -> list[str]:
    """The paragraphs of the gazette's documents from the one numbered ``first`` to before ``last``."""
    lines = GAZETTE.read_text(encoding="utf-8").split("\n")
    start = lines.index(first) - 2
    end = next(i for i, ln in enumerate(lines) if ln.startswith(last)) - 2
    return [ln.strip() for ln in lines[start:end] if ln.strip()]


def law() -> list[str]:
    """The paragraphs of a regulation's first chapter, heading marks and comments left out."""
    lines = LAW.read_text(encoding="utf-8").split("\n")
    end = next(i for i, ln in enumerate(lines) if ln.startswith("第七条"))
    return [ln.lstrip("# ").strip() for ln in lines[:end] if ln.strip() and not ln.startswith("<!--")]


def assert_in_order(text: str, paragraphs: list[str]) -> None:
    hay, pos = squash(text), 0
    for p in paragraphs:
        found = hay.find(squash(p), pos)
        assert found >= 0, f"missing or out of order: {p[:60]}"
        pos = found + len(squash(p))


def structure(text: str, name: str) -> list[tuple[object, ...]]:
    """What the document model reads from a text: per document its title, kind, issuer, dates and the
    clause paths of its chunks."""
    return [
        (
            d.title,
            d.kind,
            d.issuer,
            d.issue_date,
            d.effective_date,
            [c.clause_path for c in chunk_document(d)],
        )
        for d in parse_text(text, name)
    ]


def assert_same_documents(text: str, paragraphs: list[str], name: str) -> None:
    got = [squash(d.title) for d in parse_text(text, name)]
    want = [squash(d.title) for d in parse_text("\n\n".join(paragraphs), name)]
    assert got == want and len(want) >= 1


def cjk_font() -> Path:
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    fonts = sorted({Path(ln.split(":")[0].strip()) for ln in out.splitlines() if ln.strip()})
    fonts = [f for f in fonts if f.suffix.lower() in (".ttf", ".ttc", ".otf")]
    if not fonts:
        pytest.skip("no CJK font to write PDFs with (`make browser` installs fonts-wqy-microhei)")
    return fonts[0]


# --- writers ------------------------------------------------------------------------------------


def write_pdf(path: Path, paragraphs: list[str], header: str = HEADER, break_before: str = "") -> int:
    """A text PDF printed like an official document: CJK lines wrapped by character at the margin,
    paragraphs indented two characters, titles centred, signatures right-aligned, tables ruled, a running
    header and ``- n -`` page numbers. Returns its page count."""
    from fpdf import FPDF, FontFace

    class Pdf(FPDF):
        def header(self) -> None:
            self.set_font("cjk", size=9)
            self.cell(0, 6, header, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(6)

        def footer(self) -> None:
            self.set_y(-16)
            self.set_font("cjk", size=10)
            self.cell(0, 6, f"- {self.page_no()} -", align="C")

    pdf = Pdf(format="A4")
    pdf.add_font("cjk", fname=str(cjk_font()))
    pdf.set_margins(26, 20, 26)
    pdf.set_auto_page_break(True, 24)
    pdf.add_page()

    def wrapped(text: str, indent: float) -> list[str]:
        lines, line, width, limit = [], "", 0.0, pdf.epw - indent
        for ch in text:
            w = pdf.get_string_width(ch)
            if line and width + w > limit:
                lines.append(line)
                line, width, limit = "", 0.0, pdf.epw
            line, width = line + ch, width + w
        return [*lines, line]

    rows: list[list[str]] = []
    for i, p in enumerate(paragraphs):
        if "\t" in p:
            rows.append(p.split("\t"))
            if i + 1 < len(paragraphs) and "\t" in paragraphs[i + 1]:
                continue
            pdf.set_font("cjk", size=11)
            with pdf.table(col_widths=(15, 85), first_row_as_headings=False, headings_style=FontFace()) as t:
                for r in rows:
                    row = t.row()
                    for c in r:
                        row.cell(c)
            rows = []
            continue
        if p == break_before:
            pdf.add_page()
        title = i + 1 < len(paragraphs) and bool(DOC_NUMBER.match(paragraphs[i + 1]))
        pdf.set_font("cjk", size=18 if title else 12)
        if title or DOC_NUMBER.match(p) or DATE.match(p) or len(p) < 16 and p.endswith(("政府", "办公室")):
            align = "R" if DATE.match(p) or p.endswith(("政府", "办公室")) and not title else "C"
            if title:
                pdf.ln(4)
            for line in wrapped(p, 0):
                pdf.cell(0, 9 if title else 7, line, align=align, new_x="LMARGIN", new_y="NEXT")
            continue
        indent = 2 * pdf.get_string_width("国")
        for k, line in enumerate(wrapped(p, indent)):
            pdf.set_x(pdf.l_margin + (indent if k == 0 else 0))
            pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return pdf.pages_count


def write_docx(path: Path, paragraphs: list[str]) -> None:
    """A .docx as a clerk types it: title, body, and the table under a caption row merged across it;
    a page header and footer that are not part of the text."""
    import docx

    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "嘉兴市人民政府办公室文件"
    d.sections[0].footer.paragraphs[0].text = "第 1 页 共 2 页"
    rows = [p.split("\t") for p in paragraphs if "\t" in p]
    caption = paragraphs[paragraphs.index("\t".join(rows[0])) - 1] if rows else None
    for p in paragraphs:
        if p == caption:
            table = d.add_table(rows=len(rows) + 1, cols=2)
            table.style = "Table Grid"
            merged = table.cell(0, 0).merge(table.cell(0, 1))
            merged.text = caption
            for r, row in enumerate(rows, start=1):
                for c, text in enumerate(row):
                    table.cell(r, c).text = text
        elif "\t" not in p:
            para = d.add_paragraph()
            para.add_run(p).bold = DOC_NUMBER.match(p) is not None
    d.save(str(path))


def write_html(path: Path, paragraphs: list[str]) -> None:
    """A government web page, GB2312 as declared, with navigation, breadcrumb, share buttons, scripts,
    styles, related links and a footer around the article."""
    title, body, rows = paragraphs[0], [], []
    for i, p in enumerate(paragraphs[1:], start=1):
        if "\t" in p:
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in p.split("\t")) + "</tr>")
            if i + 1 == len(paragraphs) or "\t" not in paragraphs[i + 1]:
                body.append(f'<table border="1"><tbody>{"".join(rows)}</tbody></table>')
            continue
        body.append(f'<p style="text-indent:2em">{html.escape(p)}</p>')
    page = f"""<!DOCTYPE html><html><head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{html.escape(title)}_嘉兴市人民政府</title>
<style>.nav li {{ float: left }} body {{ font-size: 14px }}</style>
<script>var _hmt = _hmt || []; document.write("统计代码");</script></head><body>
<div class="header"><div class="logo">嘉兴市人民政府门户网站</div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk">政务公开</a></li>
<li><a href="/bsfw">办事服务</a></li><li><a href="/hdjl">互动交流</a></li></ul>
<form class="search"><input type="text" placeholder="请输入关键词"><button>搜索</button></form></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a> &gt; 政府文件</div>
<div class="main"><div class="article"><h1 class="title">{html.escape(title)}</h1>
<div class="info">发布日期：2024-02-20 来源：市政府办公室 浏览次数：1234 字号：[ 大 中 小 ]</div>
<div class="content" id="zoom">{"".join(body)}
<div class="bdsharebuttonbox">分享到：<a class="bds_weixin">微信</a><a class="bds_tsina">微博</a></div></div>
<div class="tools"><a href="javascript:window.print()">打印本页</a>
<a href="javascript:close()">关闭窗口</a></div></div>
<div class="related"><h3>相关文章</h3><ul>
<li><a href="/a1">嘉兴市人民政府关于印发2023年工作要点的通知</a></li>
<li><a href="/a2">关于开展2024年度安全生产检查的通知</a></li></ul></div></div>
<div class="footer"><p>主办单位：嘉兴市人民政府办公室 承办单位：嘉兴市大数据发展管理局</p>
<p>网站标识码：3304000001 浙ICP备05008427号 浙公网安备 33040202000123号</p></div>
<script src="/js/share.js"></script><script>window._bd_share_config = {{"common": {{}}}};</script>
</body></html>"""
    path.write_bytes(page.encode("gb18030"))


HTML_NOISE = (
    "首页 政务公开 办事服务 请输入关键词 当前位置 分享到 微信 微博 打印本页 关闭窗口 相关文章 工作要点 "
    "网站标识码 浙ICP备 统计代码 _hmt font-size 门户网站 浏览次数"
).split()


# --- formats ------------------------------------------------------------------------------------


def test_suffixes_and_unsupported_are_disjoint() -> None:
    assert {".txt", ".md", ".html", ".htm", ".docx", ".pdf", ".png", ".jpg", ".jpeg"} == SUFFIXES
    assert not SUFFIXES & UNSUPPORTED.keys() and {".doc", ".wps", ".xls"} <= UNSUPPORTED.keys()


def test_txt_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "公报.TXT"
    path.write_bytes(GAZETTE.read_bytes())
    assert read_document(path) == GAZETTE.read_text(encoding="utf-8")


def test_markdown_regulation_reads_as_its_text() -> None:
    text = read_document(LAW)
    assert text.splitlines() == LAW.read_text(encoding="utf-8").splitlines()  # no tables, no emphasis
    assert_same_documents(text, LAW.read_text(encoding="utf-8").split("\n"), LAW.name)


def test_markdown_pipe_table_and_emphasis(tmp_path: Path) -> None:
    paragraphs = gazette("嘉政办发〔2024〕4号")
    md = []
    for i, p in enumerate(paragraphs):
        if "\t" not in p:
            md.append(f"# {p}" if i == 0 else f"**{p}**" if DOC_NUMBER.match(p) else p)
            md.append("")
            continue
        md.append("| " + " | ".join(p.split("\t")) + " |")
        if "\t" not in paragraphs[i - 1]:
            md.append("| :--- | --- |")
    path = tmp_path / "转发.md"
    path.write_text("\n".join(md), encoding="utf-8")
    text = read_document(path)
    lines = text.splitlines()
    assert_in_order(text, paragraphs)
    assert [p for p in paragraphs if "\t" in p] == [ln for ln in lines if "\t" in ln]
    assert "**" not in text and "---" not in text and "|" not in text
    assert lines[0] == f"# {paragraphs[0]}"
    assert_same_documents(text, paragraphs, path.name)


def test_docx_body_order_tables_and_merged_cells(tmp_path: Path) -> None:
    paragraphs = gazette("嘉政办发〔2024〕4号")
    path = tmp_path / "转发.docx"
    write_docx(path, paragraphs)
    text = read_document(path)
    lines = text.splitlines()
    assert lines == paragraphs  # the caption row merged across the table is read once, as a line
    assert "嘉兴市人民政府办公室文件" not in text and "第 1 页" not in text
    assert_same_documents(text, paragraphs, path.name)


def test_html_article_without_page_noise(tmp_path: Path) -> None:
    paragraphs = gazette("嘉政办发〔2024〕4号")
    path = tmp_path / "转发.html"
    write_html(path, paragraphs)
    text = read_document(path)
    lines = text.splitlines()
    assert squash(lines[0]) == squash(paragraphs[0])
    assert_in_order(text, paragraphs)
    assert [p for p in paragraphs if "\t" in p] == [ln for ln in lines if "\t" in ln]
    assert not [n for n in HTML_NOISE if n in text]
    assert_same_documents(text, paragraphs, path.name)


def test_html_old_table_layout_page(tmp_path: Path) -> None:
    """A page laid out with tables, the article's paragraphs separated by ``<br>``, declared GBK."""
    paragraphs = gazette("嘉政发〔2024〕9号", "嘉政办发〔2024〕4")
    body = "<br>\n".join("&nbsp;&nbsp;&nbsp;&nbsp;" + html.escape(p) for p in paragraphs[1:])
    page = f"""<html><head><meta charset="gbk"><title>{paragraphs[0]}</title></head><body>
<table width="1000"><tr><td><img src="logo.gif"></td>
<td><a href="/">首页</a> | <a>政务公开</a></td></tr></table>
<table width="1000"><tr><td width="200" valign="top"><table><tr><td><a>通知公告</a></td></tr>
<tr><td><a>政策法规</a></td></tr></table></td><td valign="top"><table width="100%">
<tr><td align="center"><font size="5"><b>{paragraphs[0]}</b></font></td></tr>
<tr><td align="center">发布时间：2024-02-29 浏览次数：88</td></tr>
<tr><td><div style="font-size:16px;line-height:2">{body}</div></td></tr>
<tr><td align="right">【<a href="javascript:print()">打印</a>】
【<a href="javascript:close()">关闭</a>】</td></tr>
</table></td></tr></table><table><tr><td>版权所有：嘉兴市人民政府 网站标识码：3304000001</td></tr></table>
</body></html>"""
    path = tmp_path / "最低工资.htm"
    path.write_bytes(page.encode("gbk"))
    text = read_document(path)
    assert text.splitlines() == paragraphs
    assert_same_documents(text, paragraphs, path.name)


def test_pdf_text_layer_without_page_furniture(tmp_path: Path) -> None:
    paragraphs = gazette()
    path = tmp_path / "公报.pdf"
    assert write_pdf(path, paragraphs) >= 3
    text = read_document(path)
    lines = [squash(ln) for ln in text.splitlines()]
    assert_in_order(text, paragraphs)
    # every paragraph wrapped over printed lines (titles over two) comes back as one line
    assert [p for p in paragraphs if squash(p) not in lines] == []
    assert squash(HEADER) not in squash(text) and not re.search(r"^-\s*\d+\s*-$", text, re.M)
    # numbers broken at the margin come back whole; no page number or header digits in the text
    assert re.findall(r"\d+", text) == re.findall(r"\d+", "\n".join(paragraphs))
    assert [p for p in paragraphs if "\t" in p] == [ln for ln in text.splitlines() if "\t" in ln]
    assert_same_documents(text, paragraphs, path.name)


WRITERS = {".docx": write_docx, ".html": write_html, ".pdf": write_pdf}


@pytest.mark.parametrize("suffix", list(WRITERS))
@pytest.mark.parametrize("source", ["gazette", "regulation"])
def test_each_format_gives_the_documents_of_its_text(tmp_path: Path, suffix: str, source: str) -> None:
    """A gazette's documents and a regulation's first chapter, written in each format: the same
    documents, titles, kinds, issuers, dates and clause paths as their text."""
    paragraphs = gazette() if source == "gazette" else law()
    path = tmp_path / f"{source}{suffix}"
    if suffix == ".pdf" and source == "regulation":  # one page: a running header would read as its title
        write_pdf(path, paragraphs, header="")
    else:
        WRITERS[suffix](path, paragraphs)
    got = structure(read_document(path), path.name)
    assert got == structure("\n".join(paragraphs), path.name)
    assert got[0][5], "clause paths read"


# --- scans --------------------------------------------------------------------------------------


def scan(pdf: Path, out: Path, dpi: int = 150) -> None:
    """Print ``pdf`` to page images and save them as an image-only PDF, as a scanner does."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    pages = [doc[i].render(scale=dpi / 72).to_pil().convert("L") for i in range(len(doc))]
    doc.close()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=dpi)


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", squash(text))


@pytest.mark.slow
def test_scanned_pdf_is_read_by_ocr_and_cached(tmp_path: Path) -> None:
    paragraphs = law()
    printed = tmp_path / "printed.pdf"
    pages = write_pdf(printed, paragraphs, header="宁波市人大常委会公告", break_before=paragraphs[-4])
    assert pages == 2
    path = tmp_path / "扫描件.pdf"
    scan(printed, path)
    said: list[str] = []
    text = read_document(path, tmp_path / "cache", said.append)
    assert said == ["OCR 扫描件.pdf: page 1/2", "OCR 扫描件.pdf: page 2/2"]
    assert squash(text.splitlines()[0]) == "宁波市学校安全条例"
    source, got = nfkc("".join(paragraphs)), nfkc(text)
    windows = [got[i : i + 10] for i in range(len(got) - 9)]
    assert sum(w in source for w in windows) >= 0.9 * len(windows)
    assert len(text.splitlines()) == len(paragraphs)  # lines wrapped at the edge joined, headers gone
    assert len(got) >= 0.9 * len(source)

    # the same document, title, dates and clause paths as the regulation's text
    assert structure(text, path.name) == structure("\n".join(paragraphs), LAW.name)

    assert read_document(path, tmp_path / "cache", said.append) == text
    assert len(said) == 2, "the second read comes from the cache: no page read again"
    assert len(list((tmp_path / "cache" / "ocr").glob("*.txt"))) == 1


# --- files that cannot be read ------------------------------------------------------------------


def encrypted_pdf(path: Path) -> None:
    from pypdf import PdfWriter

    write_pdf(path.with_name("plain.pdf"), law()[:3])
    writer = PdfWriter(clone_from=str(path.with_name("plain.pdf")))
    writer.encrypt(user_password="secret", owner_password="owner")
    writer.write(str(path))


BAD = {
    "加密.pdf": ("encrypted", encrypted_pdf),
    "损坏.docx": ("not a valid .docx", lambda p: p.write_bytes(b"PK\x03\x04 this is not a zip archive")),
    "二进制.txt": ("not UTF-8", lambda p: p.write_bytes(bytes(range(256)) * 4)),
    "空白.txt": ("is empty", lambda p: p.write_bytes(b"")),
    "空白.pdf": ("is empty", lambda p: p.write_bytes(b"")),
    "旧格式.doc": (".docx", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))),
    "表格.xls": ("PDF", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))),
    "损坏.pdf": ("PDF", lambda p: p.write_bytes(b"%PDF-1.7\n garbage without objects")),
    "损坏.png": ("image", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n not really")),
}


@pytest.mark.parametrize("name", list(BAD))
def test_unreadable_files_say_which_and_what_to_do(tmp_path: Path, name: str) -> None:
    says, write = BAD[name]
    path = tmp_path / name
    write(path)
    with pytest.raises(UnreadableFile) as err:
        read_document(path, tmp_path / "cache")
    assert name in str(err.value) and says in str(err.value)
