"""Generating grids from the division objects (区/街道/社区 polygons) of a city, e.g. the demo city.

District → street → community grids copy the division objects' polygons (each clipped to its
parent, so the hierarchy nests exactly). Each community is then split into 2–6 grids by area and
each grid into 2–4 micro-grids: equal-area strips along the longer side, then across, clipped to
the polygon (villages: 2 grids of 2 micro-grids). Everything is written in one transaction, level by level, in bulk.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, func, select

from citybase.domains.access import Actor, Permission
from citybase.domains.grids import addressing
from citybase.domains.grids.index import GridIndex
from citybase.kernel.errors import ConflictError
from citybase.store import bulk_load, reserve_ids
from citybase.store.grid_tables import grid, grid_version
from citybase.store.schema import city_object

DIVISION_CLASSES = {"070101": "district", "070102": "street", "070103": "community"}
LAYOUTS = {2: (2, 1), 3: (3, 1), 4: (2, 2), 5: (5, 1), 6: (3, 2)}  # pieces -> (strips, cuts per strip)
GRID_KM2, MICRO_KM2 = 0.3, 0.08  # about one grid per 0.3 km², one micro-grid per 0.08 km²
SAMPLES = 16  # positions sampled along an axis to place the equal-area cuts
Tell = Callable[[str, int, int | None], None]


def area_km2(geom: BaseGeometry) -> float:
    lat = geom.centroid.y
    return float(geom.area * 111.32 * math.cos(math.radians(lat)) * 110.57)


def clean(geom: BaseGeometry) -> Polygon | MultiPolygon | None:
    """The polygonal part of a clip result (dropping lines and points), or None when nothing is left."""
    if geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and p.area > 0]
    if not parts:
        return None
    merged = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    return merged if isinstance(merged, Polygon | MultiPolygon) and merged.is_valid else None


def _strips(geom: BaseGeometry, k: int, axis: int) -> list[BaseGeometry]:
    """``k`` pieces of about equal area, cut across ``axis`` (0: x, 1: y)."""
    if k <= 1:
        return [geom]
    minx, miny, maxx, maxy = geom.bounds
    lo, hi = (minx, maxx) if axis == 0 else (miny, maxy)
    xs = np.linspace(lo, hi, SAMPLES + 1)
    boxes = [shapely.box(minx, miny, x, maxy) if axis == 0 else shapely.box(minx, miny, maxx, x) for x in xs[1:]]
    cum = np.concatenate([[0.0], shapely.area(shapely.intersection(geom, np.array(boxes, dtype=object)))])
    cuts = np.interp(geom.area * np.arange(1, k) / k, cum, xs)
    edges = [lo - 1e-9, *cuts.tolist(), hi + 1e-9]
    out = []
    for a, b in itertools.pairwise(edges):
        box = shapely.box(a, miny - 1e-9, b, maxy + 1e-9) if axis == 0 else shapely.box(minx - 1e-9, a, maxx + 1e-9, b)
        out.append(geom.intersection(box))
    return out


def split(geom: BaseGeometry, pieces: int) -> list[Polygon | MultiPolygon]:
    """Split a polygon into about ``pieces`` parts of similar area (fewer when parts come out empty)."""
    strips, cuts = LAYOUTS[pieces]
    minx, miny, maxx, maxy = geom.bounds
    wide = (maxx - minx) * math.cos(math.radians((miny + maxy) / 2)) >= (maxy - miny)
    axis = 0 if wide else 1
    out = []
    for strip in _strips(geom, strips, axis):
        for piece in _strips(strip, cuts, 1 - axis):
            cleaned = clean(piece)
            if cleaned is not None and cleaned.area > geom.area * 1e-4:
                out.append(cleaned)
    return out


def _urban(name: str) -> bool:
    """社区/居委会 get up to 6 grids of up to 4 micro-grids; villages (村) and others 2 of 2."""
    return "社区" in name or "居委会" in name or "居民委员会" in name


def _pieces(area: float, per: float, lo: int, hi: int) -> int:
    return int(min(hi, max(lo, round(area / per))))


def _divisions(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    o = city_object.c
    rows = conn.execute(
        select(o.class_code, o.name, o.geom, o.attributes)
        .where(o.class_code.in_(list(DIVISION_CLASSES)), o.state == "active")
        .order_by(o.id)
    ).mappings()
    out: dict[str, list[dict[str, Any]]] = {lv: [] for lv in DIVISION_CLASSES.values()}
    for r in rows:
        code = str((r["attributes"] or {}).get("division_code") or "")
        if code.isdigit() and r["geom"] is not None:
            out[DIVISION_CLASSES[r["class_code"]]].append({"name": r["name"], "code": code, "geom": r["geom"]})
    return out


def generate_from_communities(conn: Connection, actor: Actor, tell: Tell | None = None) -> dict[str, int]:
    """Grids for every district, street and community object, communities split into grids and micro-grids.

    Refuses when grids exist already. Returns counts by level; then maps the addresses to the grids.
    """
    actor.require(Permission.MANAGE_GRIDS)
    if conn.execute(select(func.count()).select_from(grid)).scalar_one() > 0:
        raise ConflictError("grids exist already; generation fills an empty grid table")
    say = tell or (lambda step, done, total: None)
    divisions = _divisions(conn)
    at = datetime.now(UTC)
    made: dict[str, list[dict[str, Any]]] = {}
    # district, street, community: keyed by padded division code; a parent's code is a prefix
    digits = {"district": 6, "street": 9, "community": 12}
    parents: dict[str, dict[str, Any]] = {}
    for level in ("district", "street", "community"):
        rows = []
        for d in divisions[level]:
            code = d["code"][: digits[level]].ljust(12, "0")
            parent = None
            if level != "district":
                up = "street" if level == "community" else "district"
                parent = parents.get(d["code"][: digits[up]].ljust(12, "0"))
                if parent is None or parent["level"] != up:
                    continue  # a division without its parent object (not drawn at this scale)
            geom = clean(d["geom"] if parent is None else d["geom"].intersection(parent["geom"]))
            if geom is None or code in parents:
                continue
            row = _row(level, code, d["name"], code, geom, parent, at, actor.name)
            parents[code] = row
            rows.append(row)
        made[level] = rows
    communities = made["community"]
    say("grids", 0, len(communities))
    made["grid"], made["micro"] = [], []
    for n, c in enumerate(communities):
        size, most = area_km2(c["geom"]), (6, 4) if _urban(c["name"]) else (2, 2)
        for i, piece in enumerate(split(c["geom"], _pieces(size, GRID_KM2, 2, most[0])), 1):
            g = _row("grid", f"{c['code']}{i:03d}", f"{c['name']}第{i}网格", c["code"], piece, c, at, actor.name)
            made["grid"].append(g)
            for j, micro in enumerate(split(piece, _pieces(area_km2(piece), MICRO_KM2, 2, most[1])), 1):
                made["micro"].append(
                    _row("micro", f"{g['code']}{j:02d}", f"{g['name']}{j}号微网格", c["code"], micro, g, at, actor.name)
                )
        if n % 100 == 99:
            say("grids", n + 1, len(communities))
    say("grids", len(communities), len(communities))
    for level in ("district", "street", "community", "grid", "micro"):
        _write(conn, made[level])
    say("address grids", 0, None)
    mapped = addressing.refresh(conn, lambda: GridIndex.load(conn))
    say("address grids", mapped, mapped)
    return {lv: len(rows) for lv, rows in made.items()} | {"address_grid": mapped}


def _row(
    level: str,
    code: str,
    name: str,
    division: str,
    geom: BaseGeometry,
    parent: dict[str, Any] | None,
    at: datetime,
    by: str,
) -> dict[str, Any]:
    return {
        "parent": parent,
        "level": level,
        "code": code,
        "name": name[:200],
        "division_code": division,
        "geom": geom,
        "state": "active",
        "version": 1,
        "created_at": at,
        "created_by": by,
        "updated_at": at,
        "updated_by": by,
    }


def _write(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    for row, gid in zip(rows, reserve_ids(conn, grid, len(rows)), strict=True):
        row["id"] = gid
    cols = [c.name for c in grid.c]
    bulk_load(
        conn,
        grid,
        [{k: (r["parent"]["id"] if r["parent"] else None) if k == "parent_id" else r[k] for k in cols} for r in rows],
    )
    keys = ("parent_id", "level", "code", "name", "division_code", "geom", "state", "version")
    bulk_load(
        conn,
        grid_version,
        [
            {
                "grid_id": r["id"],
                **{k: (r["parent"]["id"] if r["parent"] else None) if k == "parent_id" else r[k] for k in keys},
                "change": "create",
                "recorded_at": r["created_at"],
                "recorded_by": r["created_by"],
            }
            for r in rows
        ],
    )
