"""Division gazetteer for the address parser, built from :mod:`citybase.standards.divisions`.

Names of provinces, prefectures, counties, townships (MCA 2025 and NBS 2023, nationwide) and Hubei
villages/communities, each with its short form (浙江省 → 浙江, 余杭区 → 余杭, 闲林街道 → 闲林). The
parser uses the matches as features of its tagger and to complete element values (浙江 → 浙江省).
Built once, lazily, on first use (about half a second).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from importlib import resources

from citybase.standards import divisions

KINDS = ("P", "C", "D", "T", "V")  # province, city, district, town, village/community
KIND_LABEL = {"P": "prov", "C": "city", "D": "district", "T": "town", "V": "community"}
LABEL_KIND = {v: k for k, v in KIND_LABEL.items()}

_PROV_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_CITY_SUFFIXES = ("地区", "盟", "市", "自治州")
_DISTRICT_SUFFIXES = ("新区", "林区", "自治县", "自治旗", "区", "县", "市", "旗")
_TOWN_SUFFIXES = ("街道办事处", "街道", "镇", "乡", "办事处")
_VILLAGE_SUFFIXES = ("居民委员会", "村民委员会", "居委会", "村委会")
_SKIP = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


@dataclass(frozen=True, slots=True)
class Match:
    start: int
    end: int
    kind: str  # one of KINDS
    full: bool  # the full official name (not a short form)


@dataclass(slots=True)
class Gazetteer:
    names: dict[str, tuple[str, ...]]  # name → ordered kinds+flag, e.g. ("Tf", "Ds")
    prefixes: frozenset[str]
    longest: int
    full_name: dict[tuple[str, str], str]  # (kind, short) → full official name when unique
    parents: dict[tuple[str, str], tuple[str, ...]]  # (kind, full name) → (province, city, …) when unique

    def matches(self, text: str) -> list[Match]:
        """Every gazetteer name occurring in ``text`` (overlaps included, length ≥ 2)."""
        return [Match(i, j, t[0], t[1] == "f") for i, j, t in self.raw(text)]

    def raw(self, text: str) -> list[tuple[int, int, str]]:
        """Matches as ``(start, end, tag)`` with tag like ``Tf`` (town, full) or ``Ds`` (district, short)."""
        found: list[tuple[int, int, str]] = []
        n = len(text)
        names, prefixes = self.names, self.prefixes
        for i in range(n - 1):
            if text[i : i + 2] not in prefixes:
                continue
            for j in range(i + 2, n + 1):
                piece = text[i:j]
                if piece not in prefixes:
                    break
                tags = names.get(piece)
                if tags:
                    for t in tags:
                        found.append((i, j, t))
        return found

    def complete(self, label: str, text: str) -> str:
        """The official full name for a short form of a unique division (``浙江`` → ``浙江省``)."""
        kind = LABEL_KIND.get(label)
        if kind is None:
            return text
        return self.full_name.get((kind, text), text)

    def parents_of(self, label: str, name: str) -> tuple[str, ...]:
        """Official names above a division named uniquely nationwide (``樊城区`` → 湖北省, 襄阳市)."""
        kind = LABEL_KIND.get(label)
        return self.parents.get((kind, name), ()) if kind else ()


def _short(name: str, suffixes: tuple[str, ...]) -> str | None:
    for suf in suffixes:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return None


def _walk() -> list[tuple[str, str, str]]:
    """(kind, official name, parent chain ``省/市/区``) of every division the standards module ships."""
    out: list[tuple[str, str, str]] = []
    for p in range(11, 83):
        prov = divisions.get(f"{p}0000", "MCA")
        if prov is None:
            continue
        out.append(("P", prov.name, ""))
        stack = [(d, prov.name) for d in divisions.children(prov.code, "MCA")]
        while stack:
            d, chain = stack.pop()
            kind = {2: "C", 3: "D", 4: "T"}.get(d.level)
            own = chain
            if kind and d.name not in _SKIP:
                if kind == "C" and d.code[4:6] != "00":
                    kind = "D"  # county-level unit directly under a province
                out.append((kind, d.name, chain))
                own = f"{chain}/{d.name}"
            if d.level < 4:
                stack.extend((c, own) for c in divisions.children(d.code, "MCA"))
            if d.level == 3:  # NBS townships (incl. development zones) and Hubei villages
                for t in divisions.children(d.code, "NBS"):
                    out.append(("T", t.name, own))
                    if d.code.startswith("42"):
                        out.extend(("V", v.name, f"{own}/{t.name}") for v in divisions.children(t.code, "NBS"))
    return out


DATA_FILE = "gazetteer.tsv.gz"
_ELSEWHERE: list[str] = []  # a gazetteer file outside the package data, set by use_file


def use_file(path: str) -> None:
    """Read the gazetteer from ``path`` instead of the package data (experiments, e.g.
    ``scripts/eval_address_parser.py --gazetteer``); call it before the first parse of the process."""
    _ELSEWHERE[:] = [path]
    gazetteer.cache_clear()


def entries() -> list[tuple[str, str]]:
    """``(name, tag)`` rows of the gazetteer, built from the division tables (slow: seconds)."""
    kinds: dict[str, list[str]] = {}
    shorts: dict[tuple[str, str], set[str]] = {}
    suffixes = {"P": _PROV_SUFFIXES, "C": _CITY_SUFFIXES, "D": _DISTRICT_SUFFIXES, "T": _TOWN_SUFFIXES}

    def add(name: str, tag: str) -> None:
        lst = kinds.setdefault(name, [])
        if tag not in lst:
            lst.append(tag)

    parents: dict[tuple[str, str], set[str]] = {}
    for kind, name, chain in _walk():
        if kind in "CDT":
            parents.setdefault((kind, name), set()).add(chain)
        if kind == "V":
            short_v = _short(name, _VILLAGE_SUFFIXES)
            name = short_v or name
            add(name, "Vf")
            continue
        add(name, kind + "f")
        short = _short(name, suffixes[kind])
        if short:
            add(short, kind + "s")
            shorts.setdefault((kind, short), set()).add(name)
    for extra in ("内蒙古", "广西", "西藏", "宁夏", "新疆"):
        add(extra, "Ps")
    rows = [(name, tag) for name, tags in kinds.items() if len(name) >= 2 for tag in tags]
    rows += [(short, kind + "=" + next(iter(v))) for (kind, short), v in shorts.items() if len(v) == 1]
    rows += [(name, kind + "^" + next(iter(v))) for (kind, name), v in parents.items() if len(v) == 1]
    return sorted(rows)


def write(path: str) -> int:
    """Write the gazetteer file shipped in ``data/`` (run by ``scripts/train_address_model.py``)."""
    rows = entries()
    text = "".join(f"{n}\t{t}\n" for n, t in rows)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(text.encode("utf-8"), mtime=0))
    return len(rows)


@cache
def gazetteer() -> Gazetteer:
    """The gazetteer: from the shipped file, else built from the division tables."""
    ref = resources.files("citybase.domains.addresses").joinpath("data", DATA_FILE)
    if _ELSEWHERE or ref.is_file():
        with open(_ELSEWHERE[0], "rb") if _ELSEWHERE else ref.open("rb") as fh:
            lines = gzip.decompress(fh.read()).decode("utf-8").splitlines()
        rows = [(a, b) for a, _, b in (line.partition("\t") for line in lines if line)]
    else:
        rows = entries()
    kinds: dict[str, list[str]] = {}
    full: dict[tuple[str, str], str] = {}
    parents: dict[tuple[str, str], tuple[str, ...]] = {}
    for name, tag in rows:
        if "=" in tag:
            full[(tag[0], name)] = tag[2:]
        elif "^" in tag:
            parents[(tag[0], name)] = tuple(tag[2:].split("/"))
        else:
            kinds.setdefault(name, []).append(tag)
    names = {k: tuple(v) for k, v in kinds.items()}
    prefixes = frozenset(k[:i] for k in names for i in range(2, len(k) + 1))
    return Gazetteer(names, prefixes, max(len(k) for k in names), full, parents)
