"""Builds the demo city: accounts, divisions, built communities, villages; marks it done."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, select, update

from citybase.demo.addresses import DemoAddresses
from citybase.demo.city import Site, urban_community
from citybase.demo.frame import Frame
from citybase.demo.geography import Community, Geography, build_geography
from citybase.demo.layout import StreetPlan, built_area, make_plan
from citybase.demo.names import NameBook
from citybase.demo.profiles import SEED, ScaleProfile, profile
from citybase.demo.records import DEPARTMENTS, Bundle, Record
from citybase.demo.registries import build_registries
from citybase.demo.rural import village
from citybase.demo.writer import Writer
from citybase.domains.access import SYSTEM
from citybase.domains.codes import Selection
from citybase.kernel.errors import ConflictError, NotFoundError
from citybase.store.schema import platform_meta

MARKER_KEY = "demo_city"
DEMO_PASSWORD = "citybase-demo"  # demo accounts only; documented in docs/demo.md
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True)
class DemoReport:
    scale: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)  # objects by class code
    seconds: float = 0.0
    registries: dict[str, int] = field(default_factory=dict)  # grids, houses, people, organisations, tasks

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        extra = ", ".join(f"{v:,} {k}" for k, v in self.registries.items())
        return f"{self.scale} scale, {self.total:,} objects{'; ' + extra if extra else ''} in {self.seconds:.1f} s"


def demo_users() -> list[tuple[str, str, str | None, str]]:
    """(username, role, department code, display name) of the demo accounts."""
    users: list[tuple[str, str, str | None, str]] = []
    for d in DEPARTMENTS:
        if d.classes:
            users.append((f"{d.code}_admin", "department_admin", d.code, f"{d.name}管理员"))
            users.append((f"{d.code}_user", "department_user", d.code, f"{d.name}业务员"))
    users += [
        ("grid_worker1", "grid_worker", "zwsjd", "真武山街道网格员"),
        ("reviewer1", "reviewer", "zwsjd", "真武山街道审核员"),
        ("grid_worker2", "grid_worker", None, "古城街道网格员"),  # a second street (demo/grids.py)
        ("reviewer2", "reviewer", None, "古城街道审核员"),
        ("viewer1", "viewer", None, "浏览用户"),
        ("mzj_admin", "department_admin", "mzj", "民政局地名管理员"),
        ("mzj_user", "department_user", "mzj", "民政局地名业务员"),
        ("hjzy_user", "department_user", "hjzy", "汉江置业报建员"),
        ("scjgj_user", "department_user", "scjgj", "市场监管局登记员"),
    ]  # second review of org tasks
    return users


def ensure_accounts(platform: Any) -> dict[str, int]:
    """Create the demo departments and users that are missing; returns department ids by code."""
    ids = {}
    for d in DEPARTMENTS:
        try:
            dept = platform.access.department(d.code)
        except NotFoundError:
            dept = platform.access.create_department(SYSTEM, d.code, d.name, d.name_en, d.division_code)
        ids[d.code] = dept.id
    for username, role, dept_code, display in demo_users():
        try:
            platform.access.user(username)
        except NotFoundError:
            platform.access.create_user(SYSTEM, username, DEMO_PASSWORD, role, dept_code, display)
    return ids


# --- the marker ------------------------------------------------------------------------------------


def read_marker(platform: Any) -> dict[str, Any] | None:
    with platform.store.read() as conn:
        value = conn.execute(select(platform_meta.c.value).where(platform_meta.c.key == MARKER_KEY)).scalar()
    return value if isinstance(value, dict) else None


def demo_status(platform: Any) -> str | None:
    marker = read_marker(platform)
    if marker is None:
        return None
    scale = marker.get("scale", "?")
    if marker.get("state") != "built":
        return f"incomplete {scale} build (interrupted); build into a fresh database"
    total = sum(marker.get("counts", {}).values())
    return f"{scale} scale, {total:,} objects, seed {marker.get('seed')}"


def _claim(platform: Any, scale: str, seed: int) -> None:
    """Mark the build as started, or refuse when a demo city is (being) built already."""
    with platform.store.write() as conn:
        if conn.execute(select(platform_meta.c.key).where(platform_meta.c.key == MARKER_KEY)).first():
            raise ConflictError("the demo city is already built in this database (see `citybase demo`)")
        conn.execute(
            platform_meta.insert().values(
                key=MARKER_KEY,
                value={"state": "building", "scale": scale, "seed": seed, "started_at": datetime.now(UTC).isoformat()},
            )
        )


def _finish(
    conn: Connection, scale: str, seed: int, counts: dict[str, int], registries: dict[str, int], seconds: float
) -> None:
    conn.execute(
        update(platform_meta)
        .where(platform_meta.c.key == MARKER_KEY)
        .values(
            value={
                "state": "built",
                "scale": scale,
                "seed": seed,
                "counts": counts,
                "registries": registries,
                "seconds": round(seconds, 1),
                "built_at": datetime.now(UTC).isoformat(),
                "generator": 1,
            }
        )
    )


# --- the build -------------------------------------------------------------------------------------


def build_demo(platform: Any, scale: str, progress: Progress | None = None, *, seed: int = SEED) -> DemoReport:
    prof = profile(scale)
    started = time.perf_counter()
    _claim(platform, scale, seed)
    departments = ensure_accounts(platform)
    tell = progress or (lambda step, done, total: None)
    tell("divisions", 0, 1)
    geo = build_geography(seed, prof.division_districts)
    writer = Writer(platform, departments, validate_all=prof.validate_all, progress=progress)
    community_ids = _write_divisions(writer, geo)
    tell("divisions", 1, 1)
    addresses = DemoAddresses(platform, geo, community_ids)  # the standard address of every object

    def write_addresses(conn: Connection, bundles: list[Bundle], ids: list[list[int]]) -> None:
        addresses.write(conn, bundles, ids)
        tell("addresses", addresses.count, None)

    writer.after_write = write_addresses
    water = shapely.union_all([w.geometry for w in geo.water]) if geo.water else None
    _build_urban(writer, geo, prof, community_ids, water, seed, tell)
    _build_villages(writer, geo, prof, community_ids, water, seed, tell)

    writer.flush()
    # Every demo object gets its unified and Beidou code, as the city's own objects would on entry.
    # Coding is a resumable bulk run over the uncoded objects; the "built" marker comes only after it.
    platform.codes.run_bulk(Selection(), actor_name="demo", progress=lambda done, total: tell("codes", done, total))
    counts = dict(sorted(writer.counts.items()))
    # 三实 registries, grids and open collection tasks over the finished objects and addresses
    registries = build_registries(platform, seed, tell)
    with platform.store.write() as conn:
        _finish(conn, scale, seed, counts, registries, time.perf_counter() - started)
    return DemoReport(scale, seed, counts, time.perf_counter() - started, registries)


def _write_divisions(writer: Writer, geo: Geography) -> dict[str, int]:
    bundle = Bundle()
    district_index = {}
    for d in geo.districts:
        district_index[d.code] = bundle.add(0, Record("070101", d.name, d.geometry, {"division_code": d.code}))
    for w in geo.water:
        bundle.add(0, Record("090101", w.name, w.geometry, {"water_type": w.water_type}))
    street_index = {}
    for s in geo.streets:
        street_index[s.code] = bundle.add(
            1, Record("070102", s.name, s.geometry, {"division_code": s.code}, district_index[s.district_code])
        )
    for c in geo.communities:
        bundle.add(2, Record("070103", c.name, c.geometry, {"division_code": c.code}, street_index[c.street_code]))
    writer.add(bundle)
    ids = writer.flush()
    return {c.code: i for c, i in zip(geo.communities, ids[2], strict=True)}


def _built(prof: ScaleProfile, geo: Geography) -> list[Community]:
    kinds = {s.code: s.kind for s in geo.streets}
    out = []
    for c in geo.communities:
        if not c.urban or (prof.built_kinds is not None and kinds[c.street_code] not in prof.built_kinds):
            continue
        if prof.built_districts is not None and c.code[:6] not in prof.built_districts:
            continue
        out.append(c)
    return out


def _local_water(water: BaseGeometry | None, community: Community) -> BaseGeometry | None:
    if water is None:
        return None
    minx, miny, maxx, maxy = community.geometry.bounds
    piece = water.intersection(shapely.box(minx - 0.01, miny - 0.01, maxx + 0.01, maxy + 0.01))
    return None if piece.is_empty else piece


def _plans(geo: Geography, built: list[Community]) -> dict[str, tuple[tuple[float, float], list[Community]]]:
    """Group built communities by grid: one per district for its 街道, one per town otherwise."""
    streets = {s.code: s for s in geo.streets}
    seats = {d.code: d.seat for d in geo.districts}
    groups: dict[str, tuple[tuple[float, float], list[Community]]] = {}
    for c in built:
        street = streets[c.street_code]
        key, origin = (
            (street.district_code, seats[street.district_code])
            if street.kind == "urban"
            else (street.code, street.seed)
        )
        groups.setdefault(key, (origin, []))[1].append(c)
    return dict(sorted(groups.items()))


def _plan(
    key: str, origin: tuple[float, float], members: list[Community], reach: float, book: NameBook, seed: int
) -> StreetPlan:
    frame = Frame(*origin)
    u, v = frame.to_local(np.array([c.seed[0] for c in members]), np.array([c.seed[1] for c in members]))
    extent = float(np.max(np.hypot(u, v))) + reach + 1000.0
    rng = np.random.default_rng([seed, int(key), 1])
    return make_plan(origin, rng, book, math.ceil(extent / 100.0) * 100.0)


def _build_urban(
    writer: Writer,
    geo: Geography,
    prof: ScaleProfile,
    community_ids: dict[str, int],
    water: BaseGeometry | None,
    seed: int,
    tell: Progress,
) -> None:
    built = _built(prof, geo)
    kinds = {s.code: s.kind for s in geo.streets}
    book = NameBook(np.random.default_rng([seed, 99]))
    done = 0
    tell("built communities", 0, len(built))
    for key, (origin, members) in _plans(geo, built).items():
        plan = _plan(key, origin, members, max(prof.urban_reach_m, prof.town_reach_m), book, seed)
        for c in members:
            reach = prof.urban_reach_m if kinds[c.street_code] == "urban" else prof.town_reach_m
            area = built_area(plan, c.geometry, c.seed, reach, _local_water(water, c), prof.core_m)
            if area is not None:
                site = Site(plan, c, community_ids[c.code], area, prof.rooms_within_m)
                writer.add(urban_community(site, np.random.default_rng([seed, int(c.code), 2])))
            done += 1
            tell("built communities", done, len(built))


def _build_villages(
    writer: Writer,
    geo: Geography,
    prof: ScaleProfile,
    community_ids: dict[str, int],
    water: BaseGeometry | None,
    seed: int,
    tell: Progress,
) -> None:
    lo, hi = prof.village_houses
    if hi <= 0:
        return
    villages = [c for c in geo.communities if not c.urban]
    tell("villages", 0, len(villages))
    for n, c in enumerate(villages):
        rng = np.random.default_rng([seed, int(c.code), 3])
        houses = int(rng.integers(lo, hi + 1))
        writer.add(village(c, community_ids[c.code], houses, rng, _local_water(water, c)))
        if n % 50 == 49 or n == len(villages) - 1:
            tell("villages", n + 1, len(villages))
