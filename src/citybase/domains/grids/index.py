"""The active grids' polygons in an in-memory shapely STRtree: the deepest grid holding a point.

The index is rebuilt when the grids changed: ``stamp`` (the number of grid versions and the highest
grid id) is read on each use, so a change made by another process is seen too. The table is small (tens of
thousands of rows for a city), so a rebuild takes well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, func, select

from citybase.domains.grids.model import LEVELS
from citybase.store.grid_tables import grid, grid_version

Stamp = tuple[int, int]


def stamp(conn: Connection) -> Stamp:
    """Changes so far: every change adds a ``grid_version`` row (append-only), every new grid a higher id.

    Both parts are answered from indexes (the version table's primary key, the grid id), not by
    reading the polygons.
    """
    changes = conn.execute(select(func.count()).select_from(grid_version)).scalar_one()
    last = conn.execute(select(func.max(grid.c.id))).scalar()
    return int(changes), int(last or 0)


@dataclass(frozen=True, slots=True)
class GridIndex:
    ids: np.ndarray  # grid ids, in tree order
    depth: np.ndarray  # level rank (0 district … 4 micro)
    tree: shapely.STRtree

    @classmethod
    def load(cls, conn: Connection) -> GridIndex:
        rows = conn.execute(
            select(grid.c.id, grid.c.level, grid.c.geom).where(grid.c.state == "active").order_by(grid.c.id)
        ).all()
        ids = np.array([r.id for r in rows], dtype=np.int64)
        depth = np.array([LEVELS.index(r.level) for r in rows], dtype=np.int64)
        return cls(ids, depth, shapely.STRtree([r.geom for r in rows]))

    def locate_many(self, points: Sequence[BaseGeometry]) -> list[int | None]:
        """The id of the deepest active grid covering each point (None when none does).

        Ties (overlapping grids of one level) go to the lowest id, so the answer is stable.
        """
        out: list[int | None] = [None] * len(points)
        if not len(points) or not len(self.ids):
            return out
        pairs = self.tree.query(np.array(points, dtype=object), predicate="intersects")
        if pairs.shape[1] == 0:
            return out
        point_idx, tree_idx = pairs
        # best first: by point, deepest level, lowest id; then keep each point's first row
        order = np.lexsort((self.ids[tree_idx], -self.depth[tree_idx], point_idx))
        point_idx, tree_idx = point_idx[order], tree_idx[order]
        first = np.ones(len(point_idx), dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        for p, t in zip(point_idx[first].tolist(), tree_idx[first].tolist(), strict=True):
            out[p] = int(self.ids[t])
        return out
