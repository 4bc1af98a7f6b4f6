"""The spatial tree of a 3D tileset: a quadtree over the layer's extent with level of detail by size.

Tiles refine by adding their children (``ADD``). A tile's geometricError is the size of the largest
building its descendants hold, so a building of size S (the larger of its height and its footprint's
diagonal, in metres) is placed in the tile whose error is below S and whose parent's is not: tall and
large buildings sit in shallow tiles and show from afar, small ones in deep tiles. A tile is split
until the buildings left for its subtree fit in one tile (at most ``max_features``). Each building goes
to the quadrant of its bbox centre, so none is cut.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from citybase.domains.tiles3d.frame import LocalFrame

MAX_FEATURES = 256
MAX_LEVEL = 18
# Geometric error of an inner tile = its cell width in metres / this; it halves with each level. With
# Cesium's default maximum screen-space error (16 px) a tile loads within ~4.5 cell widths of the camera.
ERROR_DIVISOR = 12.0
# Bounding regions are padded by this much so float32 vertex rounding stays inside them.
PAD_RADIANS = 1e-8
PAD_METRES = 0.05
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0


@dataclass(slots=True)
class Node:
    level: int
    x: int
    y: int
    cell: tuple[float, float, float, float]  # quadtree cell, degrees (west, south, east, north)
    region: list[float] = field(default_factory=list)  # 3D Tiles region of the subtree: radians, metres
    geometric_error: float = 0.0
    members: NDArray[np.intp] | None = None  # the buildings this tile draws (None: no content)
    content_region: list[float] = field(default_factory=list)
    max_size: float = 0.0  # of the buildings in the subtree, metres
    children: list[Node] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.level}/{self.x}/{self.y}"

    def with_content(self) -> Iterator[Node]:
        if self.members is not None:
            yield self
        for child in self.children:
            yield from child.with_content()

    def depth(self) -> int:
        return 1 + max((c.depth() for c in self.children), default=0)

    def frame(self) -> LocalFrame:
        """The east-north-up frame of the tile's content: at the centre of its buildings, on the ellipsoid."""
        w, s, e, n = self.content_region[:4]
        return LocalFrame(math.degrees((w + e) / 2), math.degrees((s + n) / 2))


def cell_width_m(cell: tuple[float, float, float, float]) -> float:
    w, s, e, n = cell
    lat = math.radians(max(abs(s), abs(n)))
    return max((e - w) * _M_PER_DEG_LON_EQ * math.cos(lat), (n - s) * _M_PER_DEG_LAT)


def building_sizes(bounds: NDArray[np.float64], heights: NDArray[np.float64]) -> NDArray[np.float64]:
    """The larger of height and footprint bbox diagonal, in metres (what makes a building visible from afar)."""
    lat = np.radians(np.maximum(np.abs(bounds[:, 1]), np.abs(bounds[:, 3])))
    dx = (bounds[:, 2] - bounds[:, 0]) * _M_PER_DEG_LON_EQ * np.cos(lat)
    dy = (bounds[:, 3] - bounds[:, 1]) * _M_PER_DEG_LAT
    return np.maximum(heights, np.hypot(dx, dy))


def _region(bounds: NDArray[np.float64], heights: NDArray[np.float64]) -> list[float]:
    w, s = np.radians(bounds[:, 0].min()) - PAD_RADIANS, np.radians(bounds[:, 1].min()) - PAD_RADIANS
    e, n = np.radians(bounds[:, 2].max()) + PAD_RADIANS, np.radians(bounds[:, 3].max()) + PAD_RADIANS
    return [float(w), float(s), float(e), float(n), -PAD_METRES, float(heights.max()) + PAD_METRES]


def _union(regions: list[list[float]]) -> list[float]:
    r = np.array(regions)
    return [*r[:, :2].min(axis=0).tolist(), *r[:, 2:4].max(axis=0).tolist(), float(r[:, 4].min()), float(r[:, 5].max())]


@dataclass(frozen=True, slots=True)
class _Input:
    centres: NDArray[np.float64]
    bounds: NDArray[np.float64]
    heights: NDArray[np.float64]
    sizes: NDArray[np.float64]
    max_features: int
    max_level: int


def build_tree(
    bounds: NDArray[np.float64],
    heights: NDArray[np.float64],
    max_features: int = MAX_FEATURES,
    max_level: int = MAX_LEVEL,
) -> Node:
    """The tree of buildings with these bboxes (n, 4: minx, miny, maxx, maxy; degrees) and heights; n ≥ 1."""
    w, s = float(bounds[:, 0].min()), float(bounds[:, 1].min())
    e, n = float(bounds[:, 2].max()), float(bounds[:, 3].max())
    size = max(e - w, n - s, 1e-6)  # a square cell (in degrees) around everything
    root = Node(0, 0, 0, (w, s, w + size, s + size))
    centres = np.column_stack([(bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2])
    data = _Input(centres, bounds, heights, building_sizes(bounds, heights), max_features, max_level)
    _split(root, np.arange(len(bounds)), data)
    return root


def _set_content(node: Node, members: NDArray[np.intp], data: _Input) -> None:
    if len(members):
        node.members = members
        node.content_region = _region(data.bounds[members], data.heights[members])


def _split(node: Node, members: NDArray[np.intp], data: _Input) -> None:
    node.max_size = float(data.sizes[members].max())
    if len(members) <= data.max_features or node.level >= data.max_level:
        _set_content(node, members, data)  # a leaf: geometric error 0
        node.region = node.content_region
        return
    error = cell_width_m(node.cell) / ERROR_DIVISOR
    # Buildings larger than this tile's error must be drawn by this tile (the largest first, at most
    # max_features; any surplus goes down, where it shows a little late rather than never).
    big = members[data.sizes[members] > error]
    if len(big) > data.max_features:
        big = big[np.argsort(-data.sizes[big], kind="stable")[: data.max_features]]
    rest = np.setdiff1d(members, big, assume_unique=True)
    _set_content(node, big, data)
    if not len(rest):
        node.region = node.content_region
        return
    node.geometric_error = error
    w, s, e, n = node.cell
    mx, my = (w + e) / 2, (s + n) / 2
    east = data.centres[rest, 0] >= mx
    north = data.centres[rest, 1] >= my
    for ix in (0, 1):
        for iy in (0, 1):
            part = rest[(east == bool(ix)) & (north == bool(iy))]
            if not len(part):
                continue
            cell = (mx if ix else w, my if iy else s, e if ix else mx, n if iy else my)
            child = Node(node.level + 1, node.x * 2 + ix, node.y * 2 + iy, cell)
            _split(child, part, data)
            node.children.append(child)
    regions = [c.region for c in node.children] + ([node.content_region] if node.members is not None else [])
    node.region = _union(regions)
