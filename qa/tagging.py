"""Clause tags for matching policies to profiles ("政策找人、政策找企业"): who a clause names as its
beneficiaries (科技型中小企业, 老年人 …), what kind of measure it is (资金支持, 奖励, 税收, 服务, 要求 …),
the industries it names, and the region it applies in (the issuing government's, narrowed to the
cities a provincial clause names). Rule-based from fixed lexicons, so every tag can be shown as the
words that set it. Computed when the index is built and kept in its own file (``tags.jsonl``), which
is redone from the chunks alone, without re-embedding, when the tagger changes."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import orjson

from qa.chunking import Chunk
from qa.roles import Attribute, Bound, Reading, read_clause

TAGGER_VERSION = "13"
"""Bump when a lexicon or rule below changes: the tags file is then redone from the chunks."""

TAGS = "tags.jsonl"
PROVINCE = "浙江省"
PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 "
    "湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
"""China's provinces, autonomous regions, municipalities and special administrative regions, by short name."""


class Section(str, Enum):
    """What part of a policy document a clause is in: its measures, its background and targets (which
    give nobody anything), or its implementation arrangements (duties of government departments)."""

    MEASURES = "措施"
    BACKGROUND = "背景与目标"
    IMPLEMENTATION = "组织保障"


_BACKGROUND = re.compile(
    r"指导思想|总体要求|总体思路|发展目标|主要目标|总体目标|基本原则|规划背景|发展基础|发展环境|现实基础|面临形势|的基础"
)
_IMPLEMENTATION = re.compile(r"组织实施|保障措施|工作保障|组织领导|监测评估|实施保障|规划实施")
_TABLE_ROW = re.compile(r"^(?:序号|指标|类别|[^：\n]{1,12}；\d+；)")
"""A rebuilt table row (``序号：7；…``): a list of targets or figures, not a measure."""


class Kind(str, Enum):
    """Who a profile is, and whom a beneficiary category names."""

    ENTERPRISE = "enterprise"
    PERSON = "person"


@dataclass(frozen=True)
class Category:
    """A beneficiary category: its name, whom it names, how specific it is (weight in [0, 1]) and
    the words that name it in a clause."""

    name: str
    kind: Kind
    weight: float
    pattern: re.Pattern[str]


def _c(name: str, kind: Kind, weight: float, words: str) -> Category:
    return Category(name, kind, weight, re.compile(words))


E, P = Kind.ENTERPRISE, Kind.PERSON
CATEGORIES: tuple[Category, ...] = (
    _c("科技型中小企业", E, 1.0, r"科技型中小企业|科技中小企业"),
    _c("高新技术企业", E, 1.0, r"高新技术企业|高新企业"),
    _c("新型研发机构", E, 1.0, r"新型研发机构"),
    _c("国有企业", E, 1.0, r"国有企业|国企|省属企业|国有资本|国有资产|国资"),
    _c("民营企业", E, 1.0, r"民营企业|民营经济|非公有制"),
    _c("专精特新企业", E, 1.0, r"专精特新|小巨人|隐形冠军|单项冠军"),
    _c("外贸企业", E, 1.0, r"外贸|进出口|出口企业|跨境电商|外向型"),
    _c("科技企业", E, 0.6, r"科技企业|科创企业|科技型企业|创新型企业"),
    _c("中小企业", E, 0.6, r"中小企业|小微企业|中小微企业"),
    _c("规上企业", E, 0.5, r"规上|规模以上"),
    _c("龙头企业", E, 0.6, r"龙头企业|领军企业|链主|领航型"),
    _c("制造业企业", E, 0.5, r"制造业企业|工业企业"),
    _c("企业研发机构", E, 0.6, r"企业研究院|企业技术中心|研发中心|企业研发机构"),
    _c("企业", E, 0.25, r"企业"),
    _c(
        "科研人员",
        P,
        1.0,
        r"科研人员|科技人员|研究人员|研究员|教授|科技成果完成人|高校院所|科研院所|高校和科研",
    ),
    _c("技术经纪人", P, 1.0, r"技术经纪|技术经理人"),
    _c("老年人", P, 1.0, r"老年|老人|养老|高龄|失能|失智|银发|一老"),
    _c("婴幼儿", P, 1.0, r"婴幼儿|托育|婴育|幼儿|0—[36]岁|3岁以下|学前|新生儿|出生缺陷"),
    _c("儿童", P, 0.8, r"儿童|未成年人|婴幼儿|托育|幼儿|中小学生|孩子|少年"),
    _c("家庭", P, 0.5, r"家长|家庭|家属|监护人"),
    _c("妇女", P, 1.0, r"妇女|女性|孕产妇|母婴|女职工|孕妇"),
    _c("创业者", P, 1.0, r"创业"),
    _c("低收入群体", P, 1.0, r"低收入|困难群众|困难家庭|低保|特困|社会救助|生活困难"),
    _c("残疾人", P, 1.0, r"残疾"),
    _c("劳动者", P, 0.6, r"劳动者|职工|农民工|务工|最低工资"),
    _c("高校毕业生", P, 1.0, r"高校毕业生|大学生|应届"),
    _c("退役军人", P, 1.0, r"退役军人"),
    _c("外籍人才", P, 1.0, r"外籍|外国人|海外人才"),
    _c("农民", P, 0.8, r"农民|农户|农村居民|村民"),
    _c("居民", P, 0.25, r"居民|群众|市民|公众|城乡"),
)
CATEGORY = {c.name: c for c in CATEGORIES}


@dataclass(frozen=True)
class Measure:
    """A kind of measure: what the clause gives (or requires), how concrete that is (strength in
    [0, 1]) and the words that say it."""

    name: str
    strength: float
    pattern: re.Pattern[str]


MEASURES: tuple[Measure, ...] = (
    Measure("奖励", 1.0, re.compile(r"奖励|奖补|一次性奖")),
    Measure("资金支持", 1.0, re.compile(r"补助|补贴|资助|专项资金|资金支持|财政支持|贴息|津贴|\d+\s*万元")),
    Measure("税收", 1.0, re.compile(r"税收优惠|税收减免|减免|加计扣除|免征|减征|退税")),
    Measure("金融", 0.7, re.compile(r"贷款|融资|担保|保险|信贷|基金")),
    Measure("优先", 0.8, re.compile(r"优先|倾斜|绿色通道")),
    Measure("人才", 0.6, re.compile(r"人才|职称|落户|工作许可|薪酬|年薪|收益分配")),
    Measure("用地", 0.7, re.compile(r"用地|厂房|用房|空间保障")),
    Measure("待遇标准", 0.8, re.compile(r"最低工资|工资标准|待遇|补贴标准|保障标准")),
    Measure("救助保障", 0.7, re.compile(r"救助|托底|兜底|医疗保障|医保|保障房|住房保障|津贴")),
    Measure("服务", 0.5, re.compile(r"服务|咨询|培训|指导|对接|开放共享|免费|照护|康复|关爱|帮扶")),
    Measure("要求", 0.5, re.compile(r"应当|必须|不得|动态清零|纳入[^。]{0,6}考核|义务")),
    Measure("支持", 0.2, re.compile(r"支持|鼓励|扶持")),
)
MEASURE = {m.name: m for m in MEASURES}

INDUSTRIES: dict[str, re.Pattern[str]] = {
    name: re.compile(words)
    for name, words in {
        "新材料": r"新材料|化工材料|纺织材料|材料",
        "生物医药": r"生物医药|医药|医疗器械|生命健康",
        "集成电路": r"集成电路|芯片|半导体",
        "数字经济": r"数字经济|数字产业|软件|信息技术|人工智能|大数据|互联网|电子信息",
        "新能源": r"新能源|光伏|储能|氢能|新能源汽车",
        "高端装备": r"高端装备|装备制造|智能装备|机器人",
        "海洋经济": r"海洋|渔业|船舶|航运|港口|海工",
        "纺织服装": r"纺织|服装|化纤",
        "商贸": r"商贸|零售|电商|电子商务|消费",
        "农业": r"农业|种业|粮食",
        "文化旅游": r"文化|旅游|文旅",
        "医疗卫生": r"医疗机构|医院|卫生|健康",
        "养老服务": r"养老服务|养老机构",
    }.items()
}

CITIES = ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水")
COUNTIES: dict[str, str] = {
    **dict.fromkeys(("南湖", "秀洲", "嘉善", "平湖", "海盐", "海宁", "桐乡", "乍浦"), "嘉兴"),
    **dict.fromkeys(("萧山", "余杭", "临平", "富阳", "临安", "桐庐", "淳安", "建德"), "杭州"),
    **dict.fromkeys(("余姚", "慈溪", "象山", "宁海", "北仑", "鄞州", "镇海"), "宁波"),
    **dict.fromkeys(("乐清", "瑞安", "永嘉", "苍南", "平阳", "文成", "泰顺", "龙港"), "温州"),
    **dict.fromkeys(("德清", "长兴", "安吉"), "湖州"),
    **dict.fromkeys(("诸暨", "嵊州", "新昌", "柯桥", "上虞"), "绍兴"),
    **dict.fromkeys(("义乌", "东阳", "永康", "兰溪", "浦江", "武义", "磐安", "婺城"), "金华"),
    **dict.fromkeys(("江山", "龙游", "常山", "开化"), "衢州"),
    **dict.fromkeys(("岱山", "嵊泗", "普陀", "定海"), "舟山"),
    **dict.fromkeys(("温岭", "临海", "玉环", "天台", "仙居", "三门", "黄岩", "路桥", "椒江"), "台州"),
    **dict.fromkeys(("龙泉", "青田", "缙云", "遂昌", "松阳", "云和", "庆元", "景宁"), "丽水"),
}
_PLACE_NOISE = re.compile(r"杭州湾|宁波舟山港|嘉兴港")
"""Names that contain a city's name but point at a wider area or a shared port."""


def _places(text: str) -> list[tuple[int, str]]:
    """(position, city) of every Zhejiang city or county a text names."""
    text = _PLACE_NOISE.sub("", text)
    found = [(m.start(), f"{name}市") for name in CITIES for m in re.finditer(name, text)]
    return found + [(m.start(), f"{COUNTIES[name]}市") for name in COUNTIES for m in re.finditer(name, text)]


def city_of(text: str) -> str:
    """The first Zhejiang city (``嘉兴市``) that a text names, by a city or county name; else ''."""
    found = _places(text)
    return min(found)[1] if found else ""


_PLACE_NAMES = re.compile(
    "(?:" + "|".join(sorted([*CITIES, *COUNTIES], key=len, reverse=True)) + ")(?:市|区|县)?"
)


def without_places(text: str) -> str:
    """``text`` without the names of Zhejiang's cities and counties (``嘉兴秀洲的一家…`` -> ``的一家…``)."""
    return _PLACE_NAMES.sub("", text)


def main_city(text: str) -> str:
    """The Zhejiang city a text names most often, by its own name or its counties' (the first named
    among equals); else ''."""
    counts = Counter(city for _, city in sorted(_places(text)))  # in the order first named
    return max(counts, key=counts.__getitem__, default="")


def cities_named(text: str) -> list[str]:
    """Every Zhejiang city that a text names by a city or county name (``杭州湾`` and shared ports
    left out), in the order of the list of cities."""
    named = {city for _, city in _places(text)}
    return [f"{name}市" for name in CITIES if f"{name}市" in named]


@dataclass
class Tags:
    """The tags of one clause.

    Args:
        region: where it applies: the issuing city (``嘉兴市``) or ``浙江省`` (province-wide).
        section: measures, background and targets, or implementation arrangements.
        places: cities a province-wide document names in its title, or its clause names, which it
            then applies to only (``同意桐庐县和金华市婺城区…的复函``).
        beneficiaries: categories the clause names.
        measures: kinds of measure it states.
        industries: industries it names.
        granted: whom it gives something to, as it names them (:mod:`qa.roles`).
        bound: whom it binds (duties, prohibitions), as it names them.
        bounds: thresholds it sets on them, as ``[attribute, value, at_least]``.
        penalty: whether it punishes (罚款, 责令…) others than the government's own staff.
        prohibits: whether it prohibits something naming no party (binding everyone).
    """

    region: str
    section: Section = Section.MEASURES
    places: list[str] = field(default_factory=list)
    beneficiaries: list[str] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    granted: list[str] = field(default_factory=list)
    bound: list[str] = field(default_factory=list)
    bounds: list[list[object]] = field(default_factory=list)
    penalty: bool = False
    prohibits: bool = False

    @property
    def reading(self) -> Reading:
        """What the clause does and to whom."""
        return Reading(
            tuple(self.granted),
            tuple(self.bound),
            tuple(Bound(Attribute(a), float(v), bool(m)) for a, v, m in self.bounds),  # type: ignore[arg-type]
            self.penalty,
            self.prohibits,
        )

    def __post_init__(self) -> None:
        self.section = Section(self.section)

    def to_dict(self) -> dict[str, object]:
        return {**vars(self), "section": self.section.value}


def section_of(chunk: Chunk) -> Section:
    """The part of its document a clause is in, from its clause path (and table rows)."""
    if _BACKGROUND.search(chunk.clause_path) or _TABLE_ROW.match(chunk.text.lstrip()):
        return Section.BACKGROUND
    if _IMPLEMENTATION.search(chunk.clause_path):
        return Section.IMPLEMENTATION
    return Section.MEASURES


def categories_in(text: str) -> list[str]:
    """Names of the beneficiary categories a text names."""
    return [c.name for c in CATEGORIES if c.pattern.search(text)]


def measures_in(text: str) -> list[str]:
    """Names of the measures a text states, most concrete first."""
    found = [m for m in MEASURES if m.pattern.search(text)]
    return [m.name for m in sorted(found, key=lambda m: -m.strength)]


def industries_in(text: str) -> list[str]:
    return [name for name, pattern in INDUSTRIES.items() if pattern.search(text)]


def _document_regions(chunks: list[Chunk]) -> dict[tuple[str, str], str]:
    """(source file, title) -> region: the city of the issuer (or of a title naming a 市政府), else
    the province; a document that names neither (``市政府人事任免``) takes the commonest region of
    its file."""
    named: dict[tuple[str, str], str] = {}
    for c in chunks:
        key = (c.source_file, c.doc_title)
        if key not in named:
            issuer = c.issuer or c.doc_title.split("关于")[0]
            named[key] = city_of(issuer) or (PROVINCE if "浙江" in issuer or "省" in issuer else "")
    by_file: dict[str, Counter[str]] = {}
    for (source, _), region in named.items():
        if region:
            by_file.setdefault(source, Counter())[region] += 1
    return {
        key: region or (by_file[key[0]].most_common(1)[0][0] if key[0] in by_file else PROVINCE)
        for key, region in named.items()
    }


def tag_chunks(chunks: list[Chunk]) -> list[Tags]:
    """Tags of every chunk, in order."""
    regions = _document_regions(chunks)
    out = []
    for c in chunks:
        region = regions[(c.source_file, c.doc_title)]
        text = f"{c.clause_path}\n{c.text}"
        section = section_of(c)
        reading = read_clause(c.text) if section != Section.BACKGROUND else Reading()
        out.append(
            Tags(
                region=region,
                section=section,
                places=(cities_named(c.doc_title) or cities_named(c.text)) if region == PROVINCE else [],
                beneficiaries=categories_in(text),
                measures=measures_in(c.text) if section != Section.BACKGROUND else [],
                industries=industries_in(text),
                granted=list(reading.beneficiaries),
                bound=list(reading.obligated),
                bounds=[b.to_list() for b in reading.bounds],
                penalty=reading.penalty,
                prohibits=reading.prohibits,
            )
        )
    return out


def _chunks_digest(chunks: list[Chunk]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(f"{c.chunk_id}\t{c.doc_title}\t{c.issuer}\t{c.part}\t{c.clause_path}\t{c.text}\n".encode())
    return h.hexdigest()


def save_tags(folder: Path, chunks: list[Chunk], tags: list[Tags]) -> None:
    """Write the tags file: a header (tagger version, digest of the chunks) then one line per chunk."""
    with open(folder / TAGS, "wb") as fh:
        fh.write(orjson.dumps({"tagger": TAGGER_VERSION, "chunks": _chunks_digest(chunks)}) + b"\n")
        fh.writelines(orjson.dumps(t.to_dict()) + b"\n" for t in tags)


def load_tags(folder: Path, chunks: list[Chunk]) -> list[Tags]:
    """The tags of ``chunks`` from ``folder``; redone and saved again when the file is missing,
    damaged, or was written by another tagger version or for other chunks."""
    try:
        with open(folder / TAGS, "rb") as fh:
            header = orjson.loads(fh.readline())
            if header == {"tagger": TAGGER_VERSION, "chunks": _chunks_digest(chunks)}:
                tags = [Tags(**orjson.loads(line)) for line in fh]
                if len(tags) == len(chunks):
                    return tags
    except (OSError, ValueError, TypeError):
        pass
    tags = tag_chunks(chunks)
    with contextlib.suppress(OSError):  # a read-only index folder: the tags are right, only not kept
        save_tags(folder, chunks, tags)
    return tags
