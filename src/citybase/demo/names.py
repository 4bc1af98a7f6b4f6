"""Chinese names for generated roads, compounds, buildings and companies, deterministic for a seed.

Road words mix real Xiangyang place and culture words (长虹, 檀溪, 隆中, 岘山, 仲宣 …) with
generated two-character words; every road name is used once in the whole city.
"""

from __future__ import annotations

import numpy as np

_PLACE_WORDS = (
    "长虹",
    "人民",
    "檀溪",
    "襄城",
    "樊城",
    "汉江",
    "隆中",
    "岘山",
    "鼓楼",
    "中原",
    "春园",
    "解放",
    "建设",
    "胜利",
    "友谊",
    "和平",
    "民主",
    "团结",
    "前进",
    "光明",
    "新华",
    "东风",
    "朝阳",
    "丹江",
    "长征",
    "航空",
    "卧龙",
    "凤雏",
    "诸葛",
    "昭明",
    "米公",
    "邓城",
    "环城",
    "七里",
    "大庆",
    "清河",
    "汉水",
    "鹿门",
    "荆州",
    "南湖",
    "襄阳",
    "文化",
    "体育",
    "教育",
    "科技",
    "创业",
    "高新",
    "追日",
    "团山",
    "紫贞",
    "庞公",
    "真武",
    "仲宣",
    "王府",
    "习家",
    "岘首",
    "羊祜",
    "浩然",
    "铁佛",
    "擂鼓",
    "张公",
    "唐城",
    "古城",
    "夫人",
    "万山",
    "柿铺",
    "屏襄",
    "定中",
    "新街",
    "西街",
    "北街",
    "汉津",
    "鱼梁",
    "东津",
    "伙牌",
    "龙王",
    "石桥",
    "双沟",
    "檀林",
    "凤凰",
    "滨江",
    "沿江",
    "江华",
    "襄江",
    "麒麟",
    "襄水",
    "临汉",
    "长门",
    "小北",
    "大北",
    "樊西",
    "樊东",
    "盛丰",
    "锦绣",
)
_FIRST = "兴盛华康泰安宁福祥瑞嘉和顺荣昌德仁信春秋金银玉翠青松柏桂梅兰竹荷枫桃杏永长新富丰锦绣"
_SECOND = "平安华光明兴隆丰源泉山湖林苑园坪岗堤桥坊阳城河川洲岭溪湾台亭庄"
_DIRECTIONS = ("东", "西", "南", "北", "中", "一", "二", "三", "四", "五")
_NEW_COMPOUND = ("花园", "华庭", "公馆", "雅苑", "名都", "佳园", "世家", "御府", "新城", "嘉园", "丽景", "名苑")
_OLD_COMPOUND = ("小区", "新村", "家属院", "宿舍区", "里", "小区")
_COMPANY = (
    "汉水",
    "隆中",
    "岘山",
    "鼎盛",
    "润和",
    "安居",
    "嘉禾",
    "恒信",
    "万家",
    "宏远",
    "楚天",
    "荆楚",
    "金桥",
    "天元",
    "华中",
    "汉江",
    "襄江",
    "卧龙",
    "凤雏",
    "檀溪",
    "恒泰",
    "锦华",
    "盛世",
    "长虹",
)
_TOWER = ("大厦", "广场", "中心", "商厦", "国际", "大楼")
SPECIES = ("香樟", "悬铃木", "女贞", "银杏", "栾树", "广玉兰", "桂花", "国槐", "水杉", "垂柳", "紫薇")
NUMERALS = "零一二三四五六七八九十"


def chinese_number(n: int) -> str:
    """1..99 in Chinese numerals (一, 十二, 二十三)."""
    if n < 11:
        return "十" if n == 10 else NUMERALS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else NUMERALS[tens]) + "十" + (NUMERALS[ones] if ones else "")


def short_name(division_name: str) -> str:
    """檀溪社区居委会 -> 檀溪, 张岗村村民委员会 -> 张岗村, 鄢城街道 -> 鄢城."""
    name = division_name
    for tail in (
        "社区居民委员会",
        "社区居委会",
        "居民委员会",
        "居民委会",
        "村民委员会",
        "村委会",
        "居委会",
        "社区",
        "街道",
        "虚拟生活区",
        "生活区",
    ):
        if name.endswith(tail) and len(name) > len(tail):
            name = name[: -len(tail)]
            break
    return name or division_name


class NameBook:
    """Hands out unique road names and reusable words; the order of calls fixes the result."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        words = list(dict.fromkeys(_PLACE_WORDS))
        generated = [a + b for a in _FIRST for b in _SECOND if a != b]
        rng.shuffle(words)
        rng.shuffle(generated)
        self._words = words + generated
        self._next = 0
        self._used: set[str] = set()

    def _word(self) -> str:
        word = self._words[self._next % len(self._words)]
        round_ = self._next // len(self._words)
        self._next += 1
        return word if round_ == 0 else word + _DIRECTIONS[(round_ - 1) % len(_DIRECTIONS)]

    def road(self, road_class: str) -> str:
        """A new road name for a road of ``road_class`` (大道 for some arterials, 街/巷 for small roads)."""
        while True:
            word = self._word()
            roll = float(self._rng.random())
            if road_class == "主干路":
                suffix = "大道" if roll < 0.3 else "路"
            elif road_class == "支路":
                suffix = "街" if roll < 0.3 else "路"
            elif road_class == "街巷":
                suffix = "巷"
            else:
                suffix = "路"
            name = word + suffix
            if name not in self._used:
                self._used.add(name)
                return name


def compound_name(rng: np.random.Generator, place: str, year: int, taken: set[str]) -> str:
    """A residential compound (小区) name; older compounds get plainer names."""
    for attempt in range(50):
        pool = _OLD_COMPOUND if year < 2000 else _NEW_COMPOUND
        stem = (
            place
            if attempt == 0 and rng.random() < 0.5
            else _FIRST[int(rng.integers(len(_FIRST)))] + _SECOND[int(rng.integers(len(_SECOND)))]
        )
        name = stem + pool[int(rng.integers(len(pool)))]
        if name not in taken:
            taken.add(name)
            return name
    name = f"{place}{len(taken) + 1}号院"
    taken.add(name)
    return name


def property_manager(rng: np.random.Generator) -> str:
    return f"襄阳{_COMPANY[int(rng.integers(len(_COMPANY)))]}物业服务有限公司"


def tower_name(rng: np.random.Generator, place: str) -> str:
    return place + _TOWER[int(rng.integers(len(_TOWER)))]


def bus_routes(rng: np.random.Generator) -> str:
    n = int(rng.integers(1, 5))
    routes = sorted({int(r) for r in rng.integers(1, 96, n)})
    return ",".join(f"{r}路" for r in routes)
