"""Normalisation of free-text Chinese addresses.

Two kinds of normalisation, kept apart on purpose:

- :func:`fold` maps one character to one character (full-width → half-width, traditional → simplified,
  control characters and odd spaces → a plain space). It keeps the length, so every offset into the
  folded text is an offset into the input: the parser tags the folded text and reports spans of the input.
- :func:`canonical` gives the normalised *value* of one element: Chinese numerals become digits in the
  number elements (三号楼 → 3栋, 十二层 → 12层, 二〇二 → 202室), unit words are unified (栋/幢/座/号楼 →
  栋, 单元/门 → 单元, 室/户/房 → 室), and ``-``-separated fragments get their unit word.

Traditional → simplified uses a small table of characters that occur in addresses (place-name
characters, road/building words); it is not a general converter.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from citybase.kernel.errors import InvalidInputError, Issue

MAX_LENGTH = 500
"""Longest accepted input, in characters (after trimming)."""

# ---------------------------------------------------------------- traditional → simplified (1:1)

_TRAD = (
    "區区縣县鎮镇鄉乡街街道道號号樓楼棟栋單单門门層层廣广東东華华灣湾陽阳漢汉興兴豐丰臺台"
    "灣湾風风鳳凤龍龙長长馬马鳥鸟魚鱼雲云陳陈劉刘張张趙赵孫孙楊杨黃黄吳吴鄭郑謝谢羅罗許许鄧邓蕭萧"
    "葉叶蘇苏盧卢蔣蒋蔡蔡賈贾韓韩鍾钟歐欧陸陆頭头橋桥園园圍围國国開开發发觀观點点廈厦場场"
    "莊庄廠厂實实貿贸農农業业醫医院院學学館馆書书寶宝豐丰衛卫軍军電电車车線线鐵铁運运輸输"
    "站站碼码務务經经濟济術术產产區区義义烏乌寧宁錫锡閔闵灘滩滬沪蘭兰遼辽瀋沈綏绥齊齐濟济"
    "魯鲁貴贵隴陇陝陕晉晋疆疆黔黔粵粤閩闽贛赣鄂鄂湘湘滇滇藏藏紅红綠绿藍蓝銀银銅铜鋼钢"
    "灣湾濱滨澤泽潤润淺浅滄沧溝沟濤涛瀾澜漁渔灃沣灤滦滙汇匯汇湧涌濰潍瀏浏瀘泸瀟潇"
    "嶺岭巖岩峽峡崗岗島岛嶼屿巒峦關关隴陇壩坝堯尧塢坞壇坛墾垦壽寿"
)
_TRAD_MORE = (
    "館馆舘馆鋪铺樹树林林莊庄廟庙塔塔閣阁樂乐舉举興兴來来勝胜勞劳務务聯联總总會会員员"
    "區区幢幢層层舖铺號号單单樓楼門门戶户廳厅樣样條条與与嚴严盤盘獅狮豬猪鴨鸭雞鸡鵬鹏鶴鹤"
    "環环璽玺瑯琅璣玑礦矿碼码確确禮礼祿禄積积穩稳窯窑築筑簡简紀纪紹绍結结絲丝經经綿绵"
    "維维網网緣缘縣县織织繡绣續续聖圣聯联職职臨临華华萬万葦苇蔭荫薈荟藝艺蘆芦處处號号"
    "衛卫裝装補补製制襄襄見见規规親亲觀观訊讯設设試试詩诗誠诚課课調调談谈論论豐丰豎竖"
    "財财貨货販贩購购資资賓宾質质購购贊赞趙赵躍跃軒轩輝辉輪轮轉转農农遠远選选遷迁郵邮"
    "鄰邻鐘钟鋼钢錦锦鎖锁鏡镜長长閘闸閣阁閱阅闊阔隊队陽阳階阶際际隱隐雙双雜杂雞鸡離离"
    "電电靈灵靜静頂顶順顺須须頓顿領领頻频題题顏颜類类顧顾風风飛飞飯饭館馆馬马駐驻騰腾驛驿"
    "體体髮发鬥斗魚鱼鮮鲜鳴鸣鴻鸿鵝鹅鷹鹰鹽盐麗丽麥麦黨党點点齋斋齒齿龜龟舊旧"
    "內内兩两傳传價价備备償偿優优兒儿內内養养圖图團团壓压夢梦奮奋媽妈孫孙寬宽寧宁對对"
    "導导屬属嶽岳廣广歲岁後后從从復复徵征愛爱態态戲戏擴扩損损擁拥據据換换揚扬擊击"
    "數数斷断時时晝昼會会東东條条楓枫榮荣樂乐歷历氣气決决沒没溫温滿满漲涨漿浆潔洁灣湾"
    "煙烟熱热燈灯爐炉牆墙獨独環环現现畫画當当療疗發发盡尽碩硕禪禅種种窮穷筆笔範范"
)


def _table() -> dict[int, str]:
    text = _TRAD + _TRAD_MORE
    table = {ord(text[i]): text[i + 1] for i in range(0, len(text) - 1, 2) if text[i] != text[i + 1]}
    table.update({0x3000: " ", 0x00A0: " ", 0x3001: "、", 0xFF64: "、"})
    for cp in range(0xFF01, 0xFF5F):  # full-width ASCII block
        table[cp] = chr(cp - 0xFEE0)
    return table


# control and invisible characters (tabs and line breaks are folded to a space too, but are not "control")
_CONTROLS = (
    *range(0x00, 0x09),
    0x0B,
    0x0C,
    *range(0x0E, 0x20),
    *range(0x7F, 0xA0),
    *range(0x200B, 0x2010),
    0x2028,
    0x2029,
    0xFEFF,
)
_CONTROL = re.compile("[" + "".join(re.escape(chr(c)) for c in _CONTROLS) + "]")
_DASHES = "‐‑‒–—―−－～~"


def _fold_table() -> dict[int, str]:
    """One translation table for the whole fold: controls and tabs → space, then the character table,
    then every dash → ``-`` (one ``str.translate`` call instead of two regex passes and two calls)."""
    table = _table()
    for cp in (*_CONTROLS, 0x09, 0x0A, 0x0D):
        table[cp] = " "
    for c in _DASHES:
        table[ord(c)] = "-"
    return {k: ("-" if v in _DASHES else v) for k, v in table.items()}


_FOLD = _fold_table()


def fold(text: str) -> str:
    """Same-length fold: full-width → half-width, traditional → simplified, controls/tabs → space.

    Dashes of every width become ``-``; the fold never changes the number of characters.
    """
    return text.translate(_FOLD)


def check(text: object) -> str:
    """Validate raw input; the trimmed text or :class:`InvalidInputError` (field ``text``)."""
    if not isinstance(text, str):
        raise InvalidInputError("address must be text", issues=[Issue("text", "not a string")])
    trimmed = text.strip()
    if not trimmed or not _CONTROL.sub("", trimmed).strip():
        raise InvalidInputError("address is empty", issues=[Issue("text", "empty")])
    if len(trimmed) > MAX_LENGTH:
        raise InvalidInputError(
            "address is too long", issues=[Issue("text", f"{len(trimmed)} characters, at most {MAX_LENGTH}")]
        )
    if not any(_is_han(c) or c.isdigit() for c in trimmed):
        raise InvalidInputError("not a Chinese address", issues=[Issue("text", "no Chinese characters or digits")])
    return text


def _is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or "\U00020000" <= c <= "\U0002ffff"


# ---------------------------------------------------------------- Chinese numerals

_DIGIT = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "O": 0,
    "一": 1,
    "幺": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "壹": 1,
    "贰": 2,
    "叁": 3,
    "肆": 4,
    "伍": 5,
    "陆": 6,
    "柒": 7,
    "捌": 8,
    "玖": 9,
}
_UNIT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_NUMERAL_RUN = re.compile("[零〇○一幺二两三四五六七八九壹贰叁肆伍陆柒捌玖十拾百佰千仟]+")


def cn_to_int(s: str) -> int | None:
    """``十二`` → 12, ``二〇二`` → 202, ``一百零五`` → 105, ``两千`` → 2000; None when not a numeral."""
    if not s or any(c not in _DIGIT and c not in _UNIT for c in s):
        return None
    if not any(c in _UNIT for c in s):  # digit by digit: 二〇二
        return int("".join(str(_DIGIT[c]) for c in s))
    total, digit = 0, None
    for c in s:
        if c in _DIGIT:
            digit = _DIGIT[c]
        else:
            total += (1 if digit is None else digit) * _UNIT[c]
            digit = None
    return total + (digit or 0)


def numerals_to_digits(s: str) -> str:
    """Every run of Chinese numerals in ``s`` as Arabic digits (``三号楼`` → ``3号楼``)."""
    if _NUMERAL_RUN.search(s) is None:  # the common case: nothing to replace
        return s
    return _NUMERAL_RUN.sub(_numeral_digits, s)


def _numeral_digits(m: re.Match[str]) -> str:
    n = cn_to_int(m.group())
    return m.group() if n is None else str(n)


# ---------------------------------------------------------------- element values

NUMBER_KINDS = frozenset({"roadno", "subroadno", "houseno", "cellno", "floorno", "roomno"})
_SUFFIXES: dict[str, tuple[tuple[str, ...], str]] = {
    "houseno": (("号楼", "号栋", "号幢", "栋楼", "幢楼", "栋", "幢", "座", "楼", "号", "#"), "栋"),
    "cellno": (("单元", "门", "号"), "单元"),
    "floorno": (("楼层", "层", "楼", "F", "f"), "层"),
    "roomno": (("室", "户", "房", "号"), "室"),
    "roadno": (("号",), "号"),
    "subroadno": (("号",), "号"),
}
_CORE = re.compile(r"^(?:第)?([0-9A-Za-z]+(?:[-之附][0-9A-Za-z]+)*)$")


EDGE = "-_,，.。;；:：/、()（）"  # punctuation stripped from the ends of an element value


def clean(text: str) -> str:
    """Folded text without spaces and edge punctuation."""
    return fold(text).replace(" ", "").strip(EDGE)


@lru_cache(maxsize=65536)  # element texts repeat a lot (浙江省, 杭州市, 1单元): the parser's hot path
def canonical(kind: str, text: str) -> str:
    """Normalised value of one element of ``kind`` (see the module doc)."""
    return canonical_folded(kind, fold(text))


def canonical_folded(kind: str, folded: str) -> str:
    """:func:`canonical` of text already folded (the parser's elements: saves folding them again)."""
    value = folded.replace(" ", "").strip(EDGE)
    if kind not in NUMBER_KINDS:
        return value
    basement = kind == "floorno" and folded.lstrip().startswith("-")  # -1层 = B1层; the strip drops the dash
    value = numerals_to_digits(value)
    suffixes, unit = _SUFFIXES[kind]
    stem = value
    for suf in suffixes:
        if stem.endswith(suf) and len(stem) > len(suf):
            stem = stem[: -len(suf)]
            break
    m = _CORE.match(stem)
    if m is None:
        return value
    core = m.group(1).upper() if kind != "roadno" else m.group(1)
    if basement:
        core = "B" + core
    return core + unit


def ident(kind: str, value: str) -> str:
    """The identifier part of a canonical number value (``3栋`` → ``3``); other values unchanged."""
    suffix = _SUFFIXES.get(kind, ((), ""))[1]
    return value[: -len(suffix)] if suffix and value.endswith(suffix) and len(value) > len(suffix) else value


# ---------------------------------------------------------------- phone numbers, contact words

PHONE = re.compile(
    r"(?<![0-9])(?:\+?86[- ]?)?(?:1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}|0[1-9][0-9]{1,2}-?[0-9]{7,8})"
    r"(?:-[0-9]{1,5})?(?![0-9])"
)
CONTACT_WORDS = re.compile(
    r"(?:收件人|收货人|联系人)[:：]?"
    r"|(?:联系电话|联系方式|电话|手机号?|tel|TEL|Tel)(?:[:：]|(?= ?[+0-9]))"
)


def width(text: str) -> str:
    """NFKC-style width fold only (kept for callers that want it without traditional mapping)."""
    return unicodedata.normalize("NFKC", text)
