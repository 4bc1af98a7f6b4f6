"""A small standard-address tree as registry records, for the database-free matcher tests."""

from __future__ import annotations

from dataclasses import dataclass, field

LEVELS = (
    "province",
    "city",
    "district",
    "town",
    "community",
    "road",
    "door_number",
    "compound",
    "building",
    "unit",
    "floor",
    "room",
)


@dataclass(frozen=True, slots=True)
class Rec:
    """The fields of the registry's ``AddressRecord`` that the matcher reads (same names)."""

    id: int
    source_id: str | None
    level: str
    parts: dict[str, str]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    full_address: str = ""
    display_code: str | None = None
    lon: float | None = None
    lat: float | None = None
    community: str | None = None
    grid: str | None = None


TOP = {"province": "湖北省", "city": "襄阳市"}
# (district, town, community, road, door numbers, buildings per door, units, floors, rooms per floor)
STREETS = [
    ("樊城区", "汉江街道", "人民路社区", "人民路", ["12号", "14号"]),
    ("樊城区", "汉江街道", "解放路社区", "解放路", ["3号", "5号"]),
    ("襄城区", "古城街道", "檀溪社区", "檀溪路", ["88号"]),
    ("襄州区", "张湾街道", "航空路社区", "航空路", ["1号"]),
    # a near-duplicate: 长征路 exists in two districts with the same door number
    ("樊城区", "汉江街道", "长征路社区", "长征路", ["7号"]),
    ("襄城区", "古城街道", "檀溪社区", "长征路", ["7号"]),
]
ALIASES = {"人民路": ("红旗路",)}  # 人民路 was renamed from 红旗路


def tree() -> list[Rec]:
    """Every node of a small city: districts … roads, door plates, 2 buildings × 2 units × 2 floors × 2 rooms."""
    out: list[Rec] = []
    seen: dict[tuple[str, ...], int] = {}

    def add(parts: dict[str, str], level: str, lon: float, lat: float) -> None:
        key = tuple(parts.items())
        if key in seen:
            return
        node_id = 1000 + len(out)
        seen[key] = node_id
        aliases = {"road": ALIASES[parts["road"]]} if parts.get("road") in ALIASES else {}
        out.append(
            Rec(
                node_id,
                f"SRC-{node_id}",
                level,
                dict(parts),
                aliases,
                "".join(parts.values()),
                lon=lon,
                lat=lat,
                community=parts.get("community"),
            )
        )

    for s, (district, town, community, road, doors) in enumerate(STREETS):
        parts = dict(TOP)
        for lvl, name in (("district", district), ("town", town), ("community", community), ("road", road)):
            parts[lvl] = name
            add(parts, lvl, 112.1 + s * 0.01, 32.0)
        for d, door in enumerate(doors):
            dp = {**parts, "door_number": door}
            add(dp, "door_number", 112.1 + s * 0.01 + d * 0.001, 32.0)
            for b in (1, 2):
                bp = {**dp, "building": f"{b}栋"}
                add(bp, "building", 112.1 + s * 0.01 + d * 0.001, 32.0 + b * 0.0002)
                for u in (1, 2):
                    up = {**bp, "unit": f"{u}单元"}
                    add(up, "unit", 112.1 + s * 0.01 + d * 0.001, 32.0 + b * 0.0002)
                    for f in (1, 5):
                        for r in (1, 2):
                            rp = {**up, "floor": f"{f}层", "room": f"{f}0{r}室"}
                            add(rp, "room", 112.1 + s * 0.01 + d * 0.001, 32.0 + b * 0.0002)
    # a compound with buildings directly under the community (no road)
    cp = {**TOP, "district": "樊城区", "town": "汉江街道", "community": "人民路社区", "compound": "阳光花园"}
    add(cp, "compound", 112.2, 32.05)
    for b in (1, 2, 3):
        add({**cp, "building": f"{b}栋"}, "building", 112.2, 32.05 + b * 0.0001)
    return out


CSV_COLUMNS = ("id", *LEVELS, "lon", "lat")


def registry_csv(*, old_names: bool = True) -> str:
    """The tree as the interchange CSV, one row per node below the community (so each has its point);
    with ``old_names`` 人民路 is written 红旗路 (its name before a rename, which the test then performs)."""
    lines = [",".join(CSV_COLUMNS)]
    for r in tree():
        if LEVELS.index(r.level) <= LEVELS.index("community"):
            continue
        parts = dict(r.parts)
        if old_names and parts.get("road") in ALIASES:
            parts["road"] = ALIASES[parts["road"]][0]
        cells = [r.source_id or "", *(parts.get(lvl, "") for lvl in LEVELS), str(r.lon), str(r.lat)]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"
