"""Vectorised geometry core of the MVT 2.1 codec: tile frames, clip, quantise, command streams, varints.

Everything here works on whole layers at once with numpy; Python loops only run per layer, per
geometry family or (when decoding) per command. The public face is :mod:`citybase.standards.mvt`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from citybase.kernel.errors import InvalidInputError

MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7
UNKNOWN, POINT, LINESTRING, POLYGON = 0, 1, 2, 3
EARTH_RADIUS = 6378137.0
HALF_WORLD = math.pi * EARTH_RADIUS  # 20037508.342789244 m: half the Web Mercator world
MAX_LAT = 85.05112877980659  # Web Mercator's latitude limit
MAX_PARAM = 2**31 - 1  # largest |delta| a ParameterInteger may carry (spec 4.3.2)
MAX_COORD = 2**53  # absolute tile coordinates: exact in float64, and their differences fit in int64
MAX_ZOOM = 30

# Accepted source CRS names -> the three frames we compute in. CGCS2000 (EPSG:4490) differs from
# WGS 84 by centimetres, far below a tile pixel at any zoom we serve, so both use the lon/lat frame.
CRS_ALIASES = {
    "tile": "tile",
    "EPSG:3857": "EPSG:3857",
    "EPSG:900913": "EPSG:3857",
    "EPSG:4326": "EPSG:4326",
    "EPSG:4490": "EPSG:4326",
    "OGC:CRS84": "EPSG:4326",
    "CRS84": "EPSG:4326",
}

# Tile grids (OGC tile matrix sets): WebMercatorQuad (square Web Mercator tiles, 2^z × 2^z) and the
# geographic quad CGCS2000Quad, laid out like WorldCRS84Quad: 2^(z+1) × 2^z tiles of 180/2^z degrees
# over -180..180 × -90..90, linear in lon/lat (EPSG:4490; WGS 84 differs by centimetres).
WEB_MERCATOR_QUAD = "WebMercatorQuad"
GEOGRAPHIC_QUAD = "CGCS2000Quad"
GRID_ALIASES = {
    WEB_MERCATOR_QUAD: WEB_MERCATOR_QUAD,
    GEOGRAPHIC_QUAD: GEOGRAPHIC_QUAD,
    "WorldCRS84Quad": GEOGRAPHIC_QUAD,
}

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
Rect = tuple[float, float, float, float]


# --------------------------------------------------------------------------------------------------
# varints and zigzag


def zigzag(a: I64) -> U64:
    """ZigZag-encode signed int64 values: ``(n << 1) ^ (n >> 63)``."""
    a = np.asarray(a, dtype=np.int64)
    return ((a << 1) ^ (a >> 63)).view(np.uint64)


def unzigzag(u: U64) -> I64:
    u = np.asarray(u, dtype=np.uint64)
    return (u >> np.uint64(1)).view(np.int64) ^ -(u & np.uint64(1)).view(np.int64)


def varint_sizes(v: U64) -> I64:
    """Bytes each value takes as a protobuf varint (1–10)."""
    v = np.asarray(v, dtype=np.uint64)
    sizes = np.ones(v.shape, dtype=np.int64)
    if v.size == 0:
        return sizes
    top = int(v.max())
    k = 1
    while k < 10 and top >= 1 << (7 * k):
        sizes += v >= np.uint64(1 << (7 * k))
        k += 1
    return sizes


def encode_varints(v: U64) -> bytes:
    """Encode a whole uint64 array as concatenated varints (one numpy pass per byte position)."""
    v = np.asarray(v, dtype=np.uint64)
    if v.size == 0:
        return b""
    if int(v.max()) < 0x80:
        return v.astype(np.uint8).tobytes()
    sizes = varint_sizes(v)
    pos = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    rest = v
    k = 0
    while rest.size:
        more = sizes > k + 1
        out[pos] = (rest & np.uint64(0x7F)).astype(np.uint8) | (more.astype(np.uint8) << 7)
        rest, pos, sizes = rest[more] >> np.uint64(7), pos[more] + 1, sizes[more]
        k += 1
    return out.tobytes()


def decode_varints(buf: bytes | memoryview, what: str = "packed field") -> U64:
    """Decode a packed run of varints; raise :class:`InvalidInputError` if it is truncated or overlong."""
    b = np.frombuffer(buf, dtype=np.uint8)
    if b.size == 0:
        return np.zeros(0, dtype=np.uint64)
    last = b < 0x80
    if not last[-1]:
        raise InvalidInputError(f"malformed MVT: {what} ends inside a varint")
    if last.all():
        return b.astype(np.uint64)
    ends = np.flatnonzero(last)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lens = ends - starts + 1
    if int(lens.max()) > 10:
        raise InvalidInputError(f"malformed MVT: {what} holds a varint longer than 10 bytes")
    vals = np.zeros(ends.size, dtype=np.uint64)
    for k in range(int(lens.max())):
        m = lens > k
        vals[m] |= (b[starts[m] + k] & 0x7F).astype(np.uint64) << np.uint64(7 * k)
    return vals


# --------------------------------------------------------------------------------------------------
# tile frames: source coordinates -> tile pixels


@dataclass(frozen=True, slots=True)
class TileFrame:
    """Maps one source CRS onto the pixel grid of one tile (origin top left, y down)."""

    crs: str  # "tile", "EPSG:3857" or "EPSG:4326" (after aliasing)
    extent: int
    z: int = 0
    x: int = 0
    y: int = 0
    grid: str = WEB_MERCATOR_QUAD  # or GEOGRAPHIC_QUAD (source must then be lon/lat)

    @property
    def world(self) -> float:
        """Pixels across the whole world at this zoom (for the geographic quad: across 180 degrees)."""
        return float(self.extent) * (1 << self.z)

    def to_pixels(self, xy: F64) -> F64:
        """Source coordinates (N, 2) -> float tile pixels (N, 2)."""
        if self.crs == "tile":
            return np.asarray(xy, dtype=np.float64)
        out = np.empty_like(xy, dtype=np.float64)
        w = self.world
        if self.grid == GEOGRAPHIC_QUAD:  # linear in degrees: world pixels span 180 degrees
            out[:, 0] = (xy[:, 0] + 180.0) * (w / 180.0) - self.x * self.extent
            out[:, 1] = (90.0 - xy[:, 1]) * (w / 180.0) - self.y * self.extent
        elif self.crs == "EPSG:3857":
            scale = w / (2 * HALF_WORLD)
            out[:, 0] = (xy[:, 0] + HALF_WORLD) * scale - self.x * self.extent
            out[:, 1] = (HALF_WORLD - xy[:, 1]) * scale - self.y * self.extent
        else:
            lat = np.radians(np.clip(xy[:, 1], -MAX_LAT, MAX_LAT))
            out[:, 0] = (xy[:, 0] + 180.0) * (w / 360.0) - self.x * self.extent
            out[:, 1] = (0.5 - np.log(np.tan(np.pi / 4 + lat / 2)) / (2 * np.pi)) * w - self.y * self.extent
        return out

    def from_pixel(self, px: float, py: float) -> tuple[float, float]:
        """One tile pixel -> source coordinates (the inverse of :meth:`to_pixels`)."""
        if self.crs == "tile":
            return px, py
        wx, wy = (px + self.x * self.extent) / self.world, (py + self.y * self.extent) / self.world
        if self.grid == GEOGRAPHIC_QUAD:
            return wx * 180.0 - 180.0, 90.0 - wy * 180.0
        if self.crs == "EPSG:3857":
            return wx * 2 * HALF_WORLD - HALF_WORLD, HALF_WORLD - wy * 2 * HALF_WORLD
        return wx * 360.0 - 180.0, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * wy))))

    def rect(self, buffer_px: float) -> Rect:
        """The tile plus ``buffer_px`` on every side, in source coordinates (minx, miny, maxx, maxy)."""
        x0, y1 = self.from_pixel(-buffer_px, -buffer_px)
        x1, y0 = self.from_pixel(self.extent + buffer_px, self.extent + buffer_px)
        if self.crs == "tile":
            y0, y1 = y1, y0
        return (x0, y0, x1, y1)

    def tolerance(self, px: float) -> float:
        """A distance of ``px`` pixels in source units (for lon/lat the smaller of the x and y scales)."""
        if self.crs == "tile":
            return px
        if self.grid == GEOGRAPHIC_QUAD:
            return px * 180.0 / self.world
        if self.crs == "EPSG:3857":
            return px * 2 * HALF_WORLD / self.world
        _, lat0, _, lat1 = self.rect(0)
        cos = math.cos(math.radians(min(max(abs(lat0), abs(lat1)), MAX_LAT)))
        return px * 360.0 / self.world * cos


def make_frame(crs: str, extent: int, tile: tuple[int, int, int] | None, grid: str = WEB_MERCATOR_QUAD) -> TileFrame:
    name = CRS_ALIASES.get(crs) or CRS_ALIASES.get(crs.upper())
    grid_name = GRID_ALIASES.get(grid)
    if grid_name is None:
        raise InvalidInputError(f"unsupported tile grid {grid!r}: use one of {', '.join(GRID_ALIASES)}")
    if name is None:
        raise InvalidInputError(f"unsupported source CRS {crs!r}: use one of {', '.join(CRS_ALIASES)}")
    if not isinstance(extent, int) or isinstance(extent, bool) or not 0 < extent <= 1 << 20:
        raise InvalidInputError(f"tile extent must be an integer in 1..{1 << 20}, got {extent!r}")
    if name == "tile":
        return TileFrame("tile", extent)
    if tile is None:
        raise InvalidInputError(f"geometries in {crs} need the tile (z, x, y) to encode into")
    z, x, y = (int(v) for v in tile)
    if grid_name == GEOGRAPHIC_QUAD:
        if name != "EPSG:4326":
            raise InvalidInputError(f"the {grid_name} grid needs lon/lat geometries (EPSG:4490 or 4326), not {crs}")
        if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2 << z and 0 <= y < 1 << z):
            raise InvalidInputError(
                f"tile {z}/{x}/{y} is out of range (0 <= z <= {MAX_ZOOM}, 0 <= x < 2^(z+1), 0 <= y < 2^z)"
            )
        return TileFrame(name, extent, z, x, y, grid_name)
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 1 << z and 0 <= y < 1 << z):
        raise InvalidInputError(f"tile {z}/{x}/{y} is out of range (0 <= z <= {MAX_ZOOM}, 0 <= x, y < 2^z)")
    return TileFrame(name, extent, z, x, y)


def to_tile_grid(
    coords: npt.ArrayLike, frame: TileFrame, buffer_px: float | None = 64
) -> tuple[I64, npt.NDArray[np.bool_]]:
    """Transform (N, 2) source coordinates to integer tile pixels, vectorised.

    Returns the rounded pixels (round half to even) and a mask of those inside the tile plus buffer
    (all True when ``buffer_px`` is None). Non-finite input raises :class:`InvalidInputError`.
    """
    xy = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    px = np.rint(frame.to_pixels(xy))
    if not np.isfinite(px).all():
        raise InvalidInputError("geometry has non-finite coordinates")
    if buffer_px is None:
        if px.size and float(np.abs(px).max()) > MAX_COORD:
            raise InvalidInputError(f"tile coordinates beyond ±2^53 cannot be encoded (got {np.abs(px).max():g})")
        inside = np.ones(len(px), dtype=np.bool_)
    else:
        lo, hi = -buffer_px, frame.extent + buffer_px
        inside = (px[:, 0] >= lo) & (px[:, 0] <= hi) & (px[:, 1] >= lo) & (px[:, 1] <= hi)
    return px.astype(np.int64), inside


# --------------------------------------------------------------------------------------------------
# encoding: geometries -> command streams


@dataclass(slots=True)
class Streams:
    """Command streams of a layer: ``values[offsets[i]:offsets[i+1]]`` is feature i's geometry."""

    types: npt.NDArray[np.uint8]  # GeomType per feature (0 = dropped: nothing left to draw)
    values: U64
    offsets: I64


_FAMILY = np.array([POINT, LINESTRING, LINESTRING, POLYGON, POINT, LINESTRING, POLYGON, -1], dtype=np.int8)


def _run_starts(ids: I64) -> npt.NDArray[np.bool_]:
    m = np.empty(ids.shape, dtype=np.bool_)
    if ids.size:
        m[0] = True
        np.not_equal(ids[1:], ids[:-1], out=m[1:])
    return m


def _dedupe(q: I64, seg: I64) -> npt.NDArray[np.bool_]:
    """Mask keeping each vertex that differs from its predecessor in the same segment."""
    keep = _run_starts(seg)
    if q.shape[0] > 1:
        keep[1:] |= (q[1:] != q[:-1]).any(axis=1)
    return keep


def _explode(geoms: npt.NDArray[Any], owner: I64, wanted: tuple[int, ...]) -> tuple[npt.NDArray[Any], I64]:
    """Split multi-geometries (and the collections a clip can return) into simple parts of ``wanted`` types.

    Simple geometries pass through untouched (no new shapely objects); parts stay in feature order.
    """
    parts, owner = geoms, owner
    for _ in range(3):  # a clip can return a collection holding multi-geometries
        multi = shapely.get_type_id(parts) >= 4
        if not multi.any():
            break
        sub, sidx = shapely.get_parts(parts[multi], return_index=True)
        sub_owner = owner[multi][sidx]
        order = np.argsort(np.concatenate([owner[~multi], sub_owner]), kind="stable")
        parts = np.concatenate([parts[~multi], sub])[order]
        owner = np.concatenate([owner[~multi], sub_owner])[order]
    ok = np.isin(shapely.get_type_id(parts), wanted) & ~shapely.is_empty(parts)
    return parts[ok], owner[ok]


def _clip(
    geoms: npt.NDArray[Any], owner: I64, rect: Rect | None, frame: TileFrame, simplify_px: float | None, poly: bool
) -> tuple[npt.NDArray[Any], I64]:
    """Drop geometries outside ``rect``, clip those crossing it (inside ones are left alone), simplify."""
    if rect is not None and geoms.size:
        b = shapely.bounds(geoms)
        x0, y0, x1, y1 = rect
        outside = (b[:, 0] > x1) | (b[:, 2] < x0) | (b[:, 1] > y1) | (b[:, 3] < y0)
        inside = (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & (b[:, 3] <= y1)
        cross = ~inside & ~outside
        if cross.any():
            geoms = geoms.copy()
            geoms[cross] = shapely.clip_by_rect(geoms[cross], x0, y0, x1, y1)
        geoms, owner = geoms[~outside], owner[~outside]
    if simplify_px:
        geoms = shapely.simplify(geoms, frame.tolerance(simplify_px), preserve_topology=poly)
    return geoms, owner


def _deltas(q: I64, first: npt.NDArray[np.bool_]) -> U64:
    """Zigzag of each vertex minus the previous one; a feature's ``first`` vertex is relative to (0, 0)."""
    d = np.empty_like(q)
    if q.shape[0]:
        d[0] = q[0]
        np.subtract(q[1:], q[:-1], out=d[1:])
        d[first] = q[first]
        if max(int(d.max()), -int(d.min())) > MAX_PARAM:
            raise InvalidInputError(
                "a coordinate step exceeds ±(2^31 - 1), the range of MVT parameters (spec 4.3.2); clip first"
            )
    return zigzag(d)


def _segment_stream(q: I64, seg: I64, seg_feat: I64, nseg: int, kind: int) -> tuple[U64, I64, I64]:
    """Command stream for segments (multipoints, lines or rings) whose vertices ``q`` are grouped by ``seg``.

    Returns the stream, each segment's length in it, and the feature of each non-empty segment.
    """
    n = np.bincount(seg, minlength=nseg).astype(np.int64)
    live = n > 0
    n, sfeat = n[live], seg_feat[live]
    length = 1 + 2 * n if kind == POINT else 2 * n + (3 if kind == POLYGON else 2)
    so = np.cumsum(length) - length  # segment offsets in the stream
    out = np.empty(int(length.sum()), dtype=np.uint64)
    pstart = np.cumsum(n) - n  # first vertex of each segment
    if kind == POINT:
        out[so] = (n.astype(np.uint64) << np.uint64(3)) | np.uint64(MOVE_TO)
    else:
        out[so] = MOVE_TO | (1 << 3)
        out[so + 3] = ((n - 1).astype(np.uint64) << np.uint64(3)) | np.uint64(LINE_TO)
        if kind == POLYGON:
            out[so + length - 1] = CLOSE_PATH | (1 << 3)
    # vertex k of a segment goes to so + 1 + 2k, plus 1 past the LineTo command for k > 0
    pos = np.repeat(so + 1 - 2 * pstart, n) + 2 * np.arange(q.shape[0], dtype=np.int64)
    if kind != POINT:
        after_first = np.ones(q.shape[0], dtype=np.int64)
        after_first[pstart] = 0
        pos += after_first
    first = np.zeros(q.shape[0], dtype=np.bool_)  # first vertex of each feature: relative to (0, 0)
    first[pstart[_run_starts(sfeat)]] = True
    zz = _deltas(q, first)
    out[pos] = zz[:, 0]
    out[pos + 1] = zz[:, 1]
    return out, length, sfeat


def _points_stream(xy: F64, feat: I64, frame: TileFrame, buffer_px: float | None) -> tuple[U64, I64, I64]:
    q, inside = to_tile_grid(xy, frame, buffer_px)
    q, feat = q[inside], feat[inside]
    keep = _dedupe(q, feat)  # repeated points of a multipoint add nothing
    q, feat = q[keep], feat[keep]
    nf = int(feat.max()) + 1 if feat.size else 0
    return _segment_stream(q, feat, np.arange(nf, dtype=np.int64), nf, POINT)


def _lines_stream(
    geoms: npt.NDArray[Any], owner: I64, frame: TileFrame, buffer_px: float | None
) -> tuple[U64, I64, I64]:
    parts, pfeat = _explode(geoms, owner, (1, 2))
    xy, pidx = shapely.get_coordinates(parts, return_index=True)
    q, _ = to_tile_grid(xy, frame, None if buffer_px is None else math.inf)
    keep = _dedupe(q, pidx)
    q, pidx = q[keep], pidx[keep]
    n = np.bincount(pidx, minlength=len(parts))
    ok = (n >= 2)[pidx]  # a line needs two distinct vertices
    return _segment_stream(q[ok], pidx[ok], pfeat, len(parts), LINESTRING)


def ring_areas(q: I64, ring: I64, nrings: int) -> F64:
    """Twice the signed shoelace area of each ring (vertices grouped by ``ring``; no closing repeat).

    Positive means clockwise on screen (y down): an exterior ring in MVT 2.1.
    """
    n = np.bincount(ring, minlength=nrings)
    start = np.cumsum(n) - n
    rel = (q - np.repeat(q[start[n > 0]], n[n > 0], axis=0)).astype(np.float64)  # small numbers: exact
    nxt = np.arange(q.shape[0]) + 1
    last = np.cumsum(n)[n > 0] - 1
    nxt[last] = start[n > 0]
    cross = rel[:, 0] * rel[nxt, 1] - rel[nxt, 0] * rel[:, 1]
    return np.asarray(np.bincount(ring, weights=cross, minlength=nrings), dtype=np.float64)


def _polygons_stream(
    geoms: npt.NDArray[Any], owner: I64, frame: TileFrame, buffer_px: float | None
) -> tuple[U64, I64, I64]:
    parts, pfeat = _explode(geoms, owner, (3,))
    # ring structure from coordinate counts; ring objects are only made for polygons with holes
    holes = shapely.get_num_interior_rings(parts)
    per_part = 1 + holes
    rpart = np.repeat(np.arange(len(parts)), per_part)
    first_ring = np.cumsum(per_part) - per_part
    exterior = np.zeros(rpart.shape, dtype=np.bool_)
    exterior[first_ring] = True
    ring_n = np.zeros(rpart.shape, dtype=np.int64)
    plain = holes == 0
    ring_n[first_ring[plain]] = shapely.get_num_coordinates(parts[plain])
    if not plain.all():
        holed = np.flatnonzero(~plain)
        rings, hidx = shapely.get_rings(parts[holed], return_index=True)
        rank = np.arange(len(rings)) - np.repeat(np.cumsum(per_part[holed]) - per_part[holed], per_part[holed])
        ring_n[first_ring[holed][hidx] + rank] = shapely.get_num_coordinates(rings)
    xy = shapely.get_coordinates(parts)
    ridx = np.repeat(np.arange(len(ring_n)), ring_n)
    # quantise, drop repeated vertices, then each ring's last vertex: it now equals the first (either the
    # closing vertex or one that rounded onto it), and the one before it cannot (no repeats are left)
    q, _ = to_tile_grid(xy, frame, None if buffer_px is None else math.inf)
    kept = np.flatnonzero(_dedupe(q, ridx))
    last = np.ones(kept.shape, dtype=np.bool_)
    np.not_equal(ridx[kept[1:]], ridx[kept[:-1]], out=last[:-1])
    kept = kept[~last]
    q, ridx = q[kept], ridx[kept]
    nr = len(ring_n)
    n = np.bincount(ridx, minlength=nr)
    area = ring_areas(q, ridx, nr)
    alive = (n >= 3) & (area != 0)  # a ring that collapsed to a line or a point is dropped
    # a polygon whose exterior collapsed is dropped with its holes
    part_alive = np.zeros(len(parts), dtype=np.bool_)
    part_alive[rpart[exterior]] = alive[exterior]
    alive &= part_alive[rpart]
    live_pt = alive[ridx]
    q, ridx = q[live_pt], ridx[live_pt]
    # winding: exterior positive (clockwise with y down), interior negative; reverse the others
    flip = np.where(exterior, area < 0, area > 0) & alive
    if flip.any():
        n = np.bincount(ridx, minlength=nr)
        start = np.cumsum(n) - n
        pos = np.arange(q.shape[0])
        fl = flip[ridx]
        s, m = start[ridx[fl]], n[ridx[fl]]
        src = pos.copy()
        src[fl] = 2 * s + m - 1 - pos[fl]
        q = q[src]
    return _segment_stream(q, ridx, pfeat[rpart], nr, POLYGON)


def encode_geometries(
    geoms: npt.NDArray[Any],
    frame: TileFrame,
    buffer_px: float | None = 64,
    simplify_px: float | None = None,
) -> Streams:
    """Clip, simplify, quantise and encode a layer's shapely geometries into MVT command streams."""
    m = len(geoms)
    tid = shapely.get_type_id(geoms)
    if (tid == 7).any():
        bad = int(np.flatnonzero(tid == 7)[0])
        raise InvalidInputError(f"feature {bad}: geometry collections cannot be encoded in MVT; split them first")
    family = np.where(tid >= 0, _FAMILY[tid], 0).astype(np.int8)
    family[shapely.is_empty(geoms) | (tid < 0)] = 0
    rect = None if buffer_px is None else frame.rect(buffer_px)
    chunks: list[tuple[U64, I64, I64]] = []
    pts = np.flatnonzero(family == POINT)
    if pts.size:
        xy, idx = shapely.get_coordinates(geoms[pts], return_index=True)
        chunks.append(_points_stream(xy, pts[idx], frame, buffer_px))
    for kind, stream in ((LINESTRING, _lines_stream), (POLYGON, _polygons_stream)):
        sel = np.flatnonzero(family == kind)
        if sel.size:
            g, owner = _clip(geoms[sel], sel, rect, frame, simplify_px, kind == POLYGON)
            chunks.append(stream(g, owner, frame, buffer_px))
    return _merge(chunks, family, m)


def encode_point_array(coords: npt.ArrayLike, frame: TileFrame, buffer_px: float | None = 64) -> Streams:
    """Fast path: one point per feature given as an (N, 2) array of source coordinates."""
    xy = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    m = xy.shape[0]
    feat = np.arange(m, dtype=np.int64)
    return _merge([_points_stream(xy, feat, frame, buffer_px)], np.full(m, POINT, dtype=np.int8), m)


def _merge(chunks: list[tuple[U64, I64, I64]], family: npt.NDArray[np.int8], m: int) -> Streams:
    """Put the families' streams back into feature order and mark features left without geometry."""
    lens = np.zeros(m, dtype=np.int64)
    begin = np.zeros(m, dtype=np.int64)
    base = 0
    for values, seglen, segfeat in chunks:
        per = np.bincount(segfeat, weights=seglen, minlength=m).astype(np.int64)
        has = np.flatnonzero(per)
        lens[has] = per[has]
        begin[has] = base + np.cumsum(per[has]) - per[has]
        base += values.size
    allv = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, dtype=np.uint64)
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    if len(chunks) > 1:
        allv = allv[np.repeat(begin - offsets[:-1], lens) + np.arange(int(offsets[-1]))]
    types = np.where(lens > 0, family, 0).astype(np.uint8)
    return Streams(types, allv, offsets)


# --------------------------------------------------------------------------------------------------
# decoding: command stream -> tile-space coordinates

Point = tuple[int, int]


def decode_geometry(raw: list[int], dz: list[int], start: int, end: int, gtype: int, where: str) -> list[Any]:
    """Validate and decode one feature's command stream ``raw[start:end]`` (spec 4.3).

    ``dz`` holds the same integers zigzag-decoded (done for the whole layer at once by the caller).
    POINT -> ``[(x, y), ...]``; LINESTRING -> ``[[(x, y), ...], ...]`` (one list per line);
    POLYGON -> rings ``[[(x, y), ..., first], ...]`` (closed, in stream order); UNKNOWN -> the raw integers.
    """
    if gtype == UNKNOWN:
        return raw[start:end]
    if start == end:
        raise InvalidInputError(f"malformed MVT: {where}: empty geometry")
    x = y = 0
    cmds: list[tuple[int, list[Point]]] = []  # (command id, its points)
    i = start
    while i < end:
        c = raw[i]
        cid, cnt = c & 7, c >> 3
        i += 1
        if cid in (MOVE_TO, LINE_TO):
            if cnt == 0:
                raise InvalidInputError(f"malformed MVT: {where}: command {cid} with count 0")
            stop = i + 2 * cnt
            if stop > end:
                raise InvalidInputError(
                    f"malformed MVT: {where}: command {cid} needs {2 * cnt} parameters, {end - i} left"
                )
            dxs, dys = dz[i:stop:2], dz[i + 1 : stop : 2]
            if cid == LINE_TO and not all(a or b for a, b in zip(dxs, dys, strict=True)):
                raise InvalidInputError(f"malformed MVT: {where}: LineTo with a zero-length step (spec 4.3.3.2)")
            xs, ys = list(accumulate(dxs, initial=x)), list(accumulate(dys, initial=y))
            x, y = xs[-1], ys[-1]
            cmds.append((cid, list(zip(xs[1:], ys[1:], strict=True))))
            i = stop
        elif cid == CLOSE_PATH:
            if cnt != 1:
                raise InvalidInputError(f"malformed MVT: {where}: ClosePath with count {cnt} (must be 1)")
            cmds.append((cid, []))
        else:
            raise InvalidInputError(f"malformed MVT: {where}: unknown command id {cid}")
    if gtype == POINT:
        if len(cmds) != 1 or cmds[0][0] != MOVE_TO:
            raise InvalidInputError(f"malformed MVT: {where}: a point must be one MoveTo")
        return cmds[0][1]
    polygon = gtype == POLYGON
    step = 3 if polygon else 2
    out: list[list[Point]] = []
    for j in range(0, len(cmds), step):
        seq = cmds[j : j + step]
        ids = tuple(c for c, _ in seq)
        if (
            ids != ((MOVE_TO, LINE_TO, CLOSE_PATH) if polygon else (MOVE_TO, LINE_TO))
            or len(seq[0][1]) != 1
            or (polygon and len(seq[1][1]) < 2)
        ):
            need = "MoveTo(1) LineTo(n>=2) ClosePath" if polygon else "MoveTo(1) LineTo(n>=1)"
            raise InvalidInputError(
                f"malformed MVT: {where}: each {'polygon ring' if polygon else 'linestring'} must be {need}"
            )
        part = seq[0][1] + seq[1][1]
        if polygon:
            part.append(part[0])
        out.append(part)
    return out
