"""Benchmark: address parses/s and matches/s per core on a city-scale registry, match-index memory, cpca beside.

Run:
    .venv/bin/python bench/bench_addresses.py                      # city scale: about 4.7 million nodes
    .venv/bin/python bench/bench_addresses.py --scale 0.05 --queries 2000 --json /tmp/addr-bench.json

The registry is generated here, deterministically, with the node counts of the demo city at ``city``
scale (docs/demo.md: 9 districts, 130 towns/streets, 2,817 communities, 4,467 roads, 577,212 door
plates, 5,210 compounds, 625,301 buildings, 123,418 units, 3,374,868 rooms; ``--scale`` shrinks it).
Building that city through ``citybase demo --scale city`` takes about 45 minutes, so the bench makes
registry records of the same shape directly (the same ``AddressRecord`` fields the matcher reads).

Queries are registry addresses written the way department files write them: full or without
province/city, district left out or wrong, a typo in the road name, Chinese numerals, 号楼/幢 variants,
phone numbers mixed in, and one in ten that does not exist (a door number past the road's last). Every
figure is per CPU second of this process (``time.process_time``), i.e. per core. The same texts are
matched three times (levels only, one by one, in batches of 500); each pass starts with cold per-name
caches (``cold``), so none profits from the one before it; a fourth, one by one with the caches the
batch pass left (a running service's state), is reported as ``warm_matches_per_cpu_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from citybase.domains.addresses import canonical, parse, parse_many  # noqa: E402
from citybase.domains.addresses import parser as address_parser  # noqa: E402
from citybase.domains.addresses import scan as scan_module  # noqa: E402
from citybase.domains.addresses.match_index import MatchIndex, name_key  # noqa: E402
from citybase.domains.addresses.matcher import CONFIDENT, match_levels  # noqa: E402
from citybase.domains.addresses.matching import match_text, match_texts  # noqa: E402
from citybase.domains.addresses.suggest import suggest  # noqa: E402

CITY = {
    "district": 9,
    "town": 130,
    "community": 2_817,
    "road": 4_467,
    "door_number": 577_212,
    "compound": 5_210,
    "building": 625_301,
    "unit": 123_418,
    "room": 3_374_868,
}
DISTRICTS = ("襄城区", "樊城区", "襄州区", "南漳县", "谷城县", "保康县", "老河口市", "枣阳市", "宜城市")
SYLLABLES = (
    "长虹",
    "檀溪",
    "兴隆",
    "人民",
    "解放",
    "建设",
    "春园",
    "前进",
    "胜利",
    "和平",
    "光明",
    "新华",
    "卧龙",
    "隆中",
    "鼓楼",
    "米公",
    "丹江",
    "汉江",
    "清河",
    "航空",
    "大庆",
    "炮铺",
    "邓城",
    "团山",
    "东津",
    "庞公",
    "古城",
    "荆州",
    "昭明",
    "南街",
    "北街",
    "西街",
    "东风",
    "红光",
    "永安",
    "太平",
    "友谊",
    "朝阳",
    "文化",
    "体育",
    "民主",
    "中原",
    "民发",
    "环城",
    "滨江",
    "襄阳",
    "樊西",
    "春晖",
    "柿铺",
    "屏襄",
    "追日",
    "高新",
)
ROAD_SUFFIX = ("路", "街", "大道", "巷", "一路", "二路", "三路", "东路", "西路", "南路", "北路", "中路")
TOWN_SUFFIX = ("街道", "镇", "乡")
COMMUNITY_SUFFIX = ("社区", "村")
COMPOUND_SUFFIX = ("小区", "花园", "苑", "家园", "公寓", "新村")
CN = "〇一二三四五六七八九"


@dataclass(frozen=True, slots=True)
class Rec:
    id: int
    source_id: str | None
    level: str
    parts: dict[str, str]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    full_address: str = ""
    lon: float | None = None
    lat: float | None = None


class City:
    """A deterministic registry with the node counts of ``CITY`` × ``scale``; keeps a sample of nodes."""

    def __init__(self, scale: float, sample: int, seed: int = 20_240_601) -> None:
        self.n = {k: max(1, int(v * scale)) for k, v in CITY.items()}
        self.n["district"] = min(9, self.n["district"]) if scale < 1 else 9
        self.rng = random.Random(seed)
        self.sample_every = max(1, sum(self.n.values()) // sample)
        self.sample: list[Rec] = []
        self.max_door: dict[tuple[str, str], int] = {}
        self.count = 0
        self.roads = self._names(self.n["road"], ROAD_SUFFIX)

    def _names(self, n: int, suffixes: tuple[str, ...]) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        while len(out) < n:
            name = (
                self.rng.choice(SYLLABLES)
                + (self.rng.choice(SYLLABLES)[0] if len(out) > 300 else "")
                + self.rng.choice(suffixes)
            )
            if len(out) > 3000:
                name = self.rng.choice(SYLLABLES) + self.rng.choice(SYLLABLES) + self.rng.choice(suffixes)
            if name not in seen:
                seen.add(name)
                out.append(name)
        return out

    def _emit(self, level: str, parts: dict[str, str], lon: float, lat: float) -> Rec:
        self.count += 1
        rec = Rec(self.count, f"B{self.count}", level, parts, {}, "".join(parts.values()), lon, lat)
        if self.count % self.sample_every == 0 and level not in ("district", "town", "community"):
            self.sample.append(rec)
        return rec

    def records(self) -> Iterator[Rec]:
        n, rng = self.n, self.rng
        towns_per = [n["town"] // n["district"] + (i < n["town"] % n["district"]) for i in range(n["district"])]
        comms_per_town = max(1, n["community"] // n["town"])
        roads_per_comm = max(1, round(n["road"] * 1.3 / n["community"]))  # a road crosses a few communities
        doors_per_road = max(1, n["door_number"] // (n["community"] * roads_per_comm))
        p_compound = n["compound"] / n["door_number"]
        b_per_door = n["building"] / n["door_number"]
        p_unit = min(1.0, n["unit"] / n["building"])
        rooms_per_unit = max(1, round(n["room"] / max(1, n["unit"])))
        road_i = 0
        for d in range(n["district"]):
            base = {"province": "湖北省", "city": "襄阳市", "district": DISTRICTS[d]}
            yield self._emit("district", dict(base), 112.1, 32.0)
            for t in range(towns_per[d]):
                town = {**base, "town": f"{SYLLABLES[(d * 7 + t) % len(SYLLABLES)]}{t + 1}号{TOWN_SUFFIX[t % 3]}"}
                yield self._emit("town", town, 112.1, 32.0)
                for c in range(comms_per_town):
                    comm = {
                        **town,
                        "community": f"{SYLLABLES[(c * 3 + t) % len(SYLLABLES)]}{c + 1}{COMMUNITY_SUFFIX[c % 2]}",
                    }
                    lon0, lat0 = 111.5 + rng.random() * 1.5, 31.5 + rng.random() * 1.0
                    yield self._emit("community", comm, lon0, lat0)
                    for _ in range(roads_per_comm):
                        road_name = self.roads[road_i % len(self.roads)]
                        road_i += 1
                        road = {**comm, "road": road_name}
                        yield self._emit("road", road, lon0, lat0)
                        first = rng.randint(1, 200)
                        for k in range(doors_per_road):
                            number = first + 2 * k
                            key = (comm["community"], road_name)
                            self.max_door[key] = max(self.max_door.get(key, 0), number)
                            door = {**road, "door_number": f"{number}号"}
                            x, y = lon0 + k * 1e-4, lat0
                            yield self._emit("door_number", door, x, y)
                            under = door
                            if rng.random() < p_compound:
                                under = {
                                    **door,
                                    "compound": self.rng.choice(SYLLABLES)
                                    + self.rng.choice(SYLLABLES)
                                    + self.rng.choice(COMPOUND_SUFFIX),
                                }
                                yield self._emit("compound", under, x, y)
                            nb = int(b_per_door) + (rng.random() < b_per_door % 1)
                            for b in range(1, nb + 1):
                                bld = {**under, "building": f"{b}栋"}
                                yield self._emit("building", bld, x, y + b * 1e-5)
                                if rng.random() >= p_unit:
                                    continue
                                unit = {**bld, "unit": "1单元"}
                                yield self._emit("unit", unit, x, y + b * 1e-5)
                                for r in range(rooms_per_unit):
                                    floor, room = r // 2 + 1, f"{r // 2 + 1}0{r % 2 + 1}室"
                                    yield self._emit("room", {**unit, "floor": f"{floor}层", "room": room}, x, y)


def _cn(number: str) -> str:
    return "".join(CN[int(c)] if c.isdigit() else c for c in number)


def write_query(rec: Rec, rng: random.Random, city: City) -> tuple[str, int | None]:
    """A free-text version of ``rec`` and the node id it should match (None: does not exist)."""
    p = dict(rec.parts)
    kind = rng.random()
    expected: int | None = rec.id
    if kind < 0.1 and "door_number" in p:  # an address past the road's last door number
        last = city.max_door[(p["community"], p["road"])]
        p = {k: v for k, v in p.items() if k in ("district", "town", "community", "road")}
        p["door_number"] = f"{last + 1000}号"
        expected = None
    head = ["province", "city"] if rng.random() < 0.3 else []
    if rng.random() < 0.15 and "district" in p:
        p["district"] = rng.choice(DISTRICTS)  # possibly wrong
    levels = [*head, "district", "road", "door_number", "compound", "building", "unit", "room"]
    if rng.random() < 0.5:
        levels.remove("district")
    text = "".join(p[k] for k in levels if k in p)
    if "road" in p and rng.random() < 0.1:  # a typo in the road name
        road = p["road"]
        i = rng.randrange(len(road) - 1)
        text = text.replace(road, road[:i] + rng.choice("东西南北中新") + road[i + 1 :], 1)
    if rng.random() < 0.2:
        text = text.replace("栋", rng.choice(("号楼", "幢", "栋")))
    if rng.random() < 0.2:
        text = _cn(text)
    if rng.random() < 0.1:
        text += f" 张先生 13{rng.randrange(10**9):09d}"
    return text, expected


def cpu_timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def cold(index: MatchIndex) -> None:
    """Forget every per-name cache, so that a timed pass does not profit from the one before it
    (the same texts are matched three times: levels only, one by one, in batches)."""
    index.clear_caches()
    name_key.cache_clear()
    scan_module._canonical.cache_clear()
    scan_module._to_digits.cache_clear()


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--queries", type=int, default=5000)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    result: dict[str, object] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "scale": args.scale,
    }
    city = City(args.scale, sample=args.queries * 2)
    rss0 = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    index = MatchIndex(city.records())
    build_cpu, build_wall = time.process_time() - c0, time.perf_counter() - t0
    rss1 = rss_mb()
    result["registry_nodes"] = len(index)
    result["index"] = {
        "build_cpu_s": round(build_cpu, 1),
        "build_wall_s": round(build_wall, 1),
        "rss_growth_mb": round(rss1 - rss0),
        "estimated_mb": round(index.memory_bytes() / 2**20),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)

    rng = random.Random(7)
    sample = rng.sample(city.sample, min(args.queries, len(city.sample)))
    queries = [write_query(r, rng, city) for r in sample]
    texts = [q for q, _ in queries]
    n = len(texts)
    parse(texts[0])  # load the model and gazetteer before timing
    match_text(index, texts[0])  # and the registry scan's name table and the typo index (built on first use)
    parsed: list[dict[str, str]] = []

    def parse_all() -> None:
        for t in texts:
            p = parse(t)
            parsed.append({k: v for k, v in p.levels.items() if k not in p.inferred})

    parse_cpu = cpu_timed(parse_all)
    many: list[object] = []
    canonical.cache_clear()  # as cold as the one-by-one pass: no element value is known yet
    address_parser._VALUES.clear()
    parse_many_cpu = cpu_timed(lambda: [many.extend(parse_many(texts[i : i + 1000])) for i in range(0, n, 1000)])
    result["parse_many_same_levels"] = [
        {k: v for k, v in p.levels.items() if k not in p.inferred} for p in many  # type: ignore[attr-defined]
    ] == parsed
    levels_only: list[object] = []
    cold(index)
    match_cpu = cpu_timed(lambda: levels_only.extend(match_levels(index, q, limit=1) for q in parsed))
    answers = []
    cold(index)
    service_cpu = cpu_timed(lambda: answers.extend(match_text(index, t, limit=1) for t in texts))
    batched: list[object] = []
    cold(index)
    batch_cpu = cpu_timed(
        lambda: [batched.extend(match_texts(index, texts[i : i + 500], limit=1)) for i in range(0, n, 500)]
    )
    result["batch_same_answers"] = batched == answers
    # the same texts once more with the caches the one-by-one pass left (a running service's state;
    # the headline figure stays the cold one)
    warm: list[object] = []
    warm_cpu = cpu_timed(lambda: warm.extend(match_text(index, t, limit=1) for t in texts))
    result["warm_same_answers"] = warm == answers
    confident = [(a, exp) for a, exp in zip(answers, (e for _, e in queries), strict=True) if a.score >= CONFIDENT]
    right = sum(1 for a, exp in confident if exp is not None and a.best is not None and a.best.node_id == exp)
    absent = [a for a, exp in zip(answers, (e for _, e in queries), strict=True) if exp is None]
    prefixes = [t[: max(2, len(t) // 2)] for t in texts[:1000]]
    suggest_cpu = cpu_timed(lambda: [suggest(index, q, limit=10) for q in prefixes])
    result["queries"] = n
    result["parse_per_cpu_s"] = round(n / parse_cpu)  # parse, one call per address
    result["parse_many_per_cpu_s"] = round(n / parse_many_cpu)  # parse_many, batches of 1,000
    result["match_only_per_cpu_s"] = round(n / match_cpu)
    result["parse_and_match_per_cpu_s"] = round(n / (parse_cpu + match_cpu))
    result["matches_per_cpu_s"] = round(n / service_cpu)  # the service path: registry scan, parser fallback
    result["batch_matches_per_cpu_s"] = round(n / batch_cpu)  # match_texts in chunks of 500 (the job's path)
    result["warm_matches_per_cpu_s"] = round(n / warm_cpu)  # one by one again, per-name caches warm
    result["suggest_per_cpu_s"] = round(len(prefixes) / suggest_cpu)
    result["confident_share"] = round(len(confident) / n, 3)
    result["confident_correct"] = round(right / max(1, len(confident)), 4)
    result["absent_confident"] = sum(1 for a in absent if a.score >= CONFIDENT)
    result["absent"] = len(absent)
    try:
        import cpca  # type: ignore[import-not-found, import-untyped]

        def theirs() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for i in range(0, n, 1000):
                    cpca.transform(texts[i : i + 1000])

        theirs()  # warm-up (loads its dictionary)
        result["cpca_per_cpu_s"] = round(n / cpu_timed(theirs))
        result["cpca_version"] = getattr(cpca, "__version__", "0.5.x")
    except ImportError:
        result["cpca_per_cpu_s"] = None
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
