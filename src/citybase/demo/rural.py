"""Villages (村): a cluster of farm houses round the village seed, each with its door plate."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from citybase.demo.frame import Frame
from citybase.demo.geography import Community
from citybase.demo.names import chinese_number, short_name
from citybase.demo.records import Bundle, Record

_CELL = 30.0  # metres between house plots; a house is at most 14 m wide, so plots never overlap
_PER_GROUP = 25  # houses per villagers' group (村民小组, 组)


def village(
    community: Community, community_id: int, houses: int, rng: np.random.Generator, water: BaseGeometry | None
) -> Bundle:
    bundle = Bundle()
    if houses <= 0:
        return bundle
    frame = Frame(community.seed[0], community.seed[1], math.radians(float(rng.uniform(-30, 30))))
    site = frame.geoms_to_local(community.geometry)
    if water is not None and not water.is_empty:
        site = site.difference(frame.geoms_to_local(water).buffer(20.0))
    # plots on a grid, nearest to the village centre first (a compact 自然村), with jitter inside the plot
    side = math.ceil(math.sqrt(houses * 2.2)) + 2
    grid_i, grid_j = np.meshgrid(np.arange(-side, side + 1), np.arange(-side, side + 1))
    gi, gj = grid_i.ravel(), grid_j.ravel()
    order = np.lexsort((gj, gi, np.hypot(gi, gj) + rng.uniform(0, 2.5, len(gi))))
    gi, gj = gi[order], gj[order]
    w = rng.uniform(10, 14, len(gi))
    d = rng.uniform(9, 12, len(gi))
    u0 = gi * _CELL + rng.uniform(0, _CELL - 14, len(gi))
    v0 = gj * _CELL + rng.uniform(0, _CELL - 12, len(gi))
    boxes = shapely.box(u0, v0, u0 + w, v0 + d)
    inner = site.buffer(-3.0)
    if inner.is_empty:
        return bundle
    shapely.prepare(inner)
    keep = np.flatnonzero(shapely.contains(inner, boxes))[:houses]
    if len(keep) == 0:
        return bundle
    geoms = frame.geoms_to_lonlat(boxes[keep])
    plates = frame.points(u0[keep] + w[keep] / 2, v0[keep] - 1.0)
    name = short_name(community.name)
    floors = rng.choice([1, 2, 2, 2, 3, 3], len(keep))
    structure = rng.choice(["砖混", "砖混", "砖混", "砖木", "钢混"], len(keep))
    years = rng.integers(1975, 2023, len(keep))
    for n in range(len(keep)):
        group = f"{name}{chinese_number(n // _PER_GROUP + 1)}组"
        number = str(n % _PER_GROUP + 1)
        fl = int(floors[n])
        attrs = {
            "floors": fl,
            "height_m": round(fl * 3.2, 1),
            "floor_height_m": 3.2,
            "use": "住宅",
            "structure": str(structure[n]),
            "year_built": int(years[n]),
        }
        bundle.add(0, Record("050101", f"{group}{number}号", geoms[n], attrs, community_id))
        bundle.add(0, Record("050201", f"{group}{number}号", plates[n], {"road": group, "number": number}))
    return bundle
