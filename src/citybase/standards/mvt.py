"""Mapbox Vector Tile 2.1: a fast numpy encoder and a strict decoder, with no protobuf dependency.

Encoding (:func:`encode_tile`, :func:`encode_layer`): each :class:`LayerData` holds shapely geometries
(or an (N, 2) array of points) in tile pixels or in EPSG:3857 / lon-lat with the tile z/x/y given. A
layer is clipped to the tile plus a buffer (``shapely.clip_by_rect`` on the features that cross it),
optionally simplified, transformed and rounded to the integer grid over all its coordinates at once;
repeated vertices and collapsed rings are dropped, polygon winding is set as the spec requires, and
the command streams, tags and feature messages are written as protobuf varints by numpy in one pass
per layer. Only the property dictionaries are walked in Python.

Decoding (:func:`decode_tile`) checks the wire format and the spec's MUST rules and raises
:class:`~citybase.kernel.errors.InvalidInputError` on a malformed tile. Design notes: ``docs/mvt.md``.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from citybase.kernel.errors import InvalidInputError
from citybase.standards.mvt_geometry import (
    GEOGRAPHIC_QUAD,
    LINESTRING,
    POINT,
    POLYGON,
    UNKNOWN,
    WEB_MERCATOR_QUAD,
    Streams,
    decode_geometry,
    decode_varints,
    encode_geometries,
    encode_point_array,
    encode_varints,
    make_frame,
    to_tile_grid,
    unzigzag,
    varint_sizes,
    zigzag,
)

__all__ = [
    "GEOGRAPHIC_QUAD",
    "MIME_TYPE",
    "WEB_MERCATOR_QUAD",
    "LayerData",
    "PropertyValue",
    "decode_tile",
    "encode_layer",
    "encode_tile",
    "feature_geometry",
    "maybe_gunzip",
    "tile_bounds",
    "tile_pixels",
]

MIME_TYPE = "application/vnd.mapbox-vector-tile"
PropertyValue = str | int | float | bool
TYPE_NAMES = {UNKNOWN: "Unknown", POINT: "Point", LINESTRING: "LineString", POLYGON: "Polygon"}
MAX_GUNZIP = 64 << 20
_U64_MAX = (1 << 64) - 1


@dataclass(slots=True)
class LayerData:
    """One layer to encode.

    ``geometries``: shapely geometries (``None`` or empty ones are skipped), or an (N, 2) numeric array
    meaning one point per feature (the fastest input). ``crs``: ``"tile"`` (pixels of the extent, origin
    top left, y down; floats are rounded), ``"EPSG:3857"``, or lon/lat ``"EPSG:4326"`` / ``"EPSG:4490"``
    (the last three need ``tile=(z, x, y)`` at encode time). ``ids``: unsigned 64-bit feature ids
    (``None`` = no id). ``properties``: one mapping per feature; values are str, int, float or bool,
    ``None`` values are left out (MVT has no null). ``columns``: the same properties column by column
    (``{key: one value or None per feature}``), as a database query returns them — faster than
    ``properties``; give one or the other.
    """

    name: str
    geometries: Sequence[BaseGeometry | None] | npt.NDArray[Any]
    ids: Sequence[int | None] | npt.NDArray[np.integer[Any]] | None = None
    properties: Sequence[Mapping[str, PropertyValue | None] | None] | None = None
    crs: str = "tile"
    columns: Mapping[str, Sequence[PropertyValue | None]] | None = None


def tile_bounds(
    z: int,
    x: int,
    y: int,
    *,
    crs: str = "EPSG:3857",
    buffer: float = 0.0,
    extent: int = 4096,
    tms: str = WEB_MERCATOR_QUAD,
) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of tile z/x/y of ``tms`` (``WebMercatorQuad`` or the geographic
    ``CGCS2000Quad``) in ``crs``, widened by ``buffer`` pixels."""
    return make_frame(crs, extent, (z, x, y), tms).rect(buffer)


def tile_pixels(
    coords: npt.ArrayLike,
    z: int,
    x: int,
    y: int,
    *,
    crs: str = "EPSG:3857",
    extent: int = 4096,
    buffer: float | None = 64,
    tms: str = WEB_MERCATOR_QUAD,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Transform (N, 2) EPSG:3857 or lon/lat coordinates to integer pixels of tile z/x/y, vectorised.

    Returns the pixels (rounded half to even) and a mask of those inside the tile plus ``buffer``.
    """
    return to_tile_grid(coords, make_frame(crs, extent, (z, x, y), tms), buffer)


# --------------------------------------------------------------------------------------------------
# encoding


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _coerce(v: Any, where: str) -> PropertyValue:
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        v = int(v)
    elif isinstance(v, np.floating):
        return float(v)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        if not -(1 << 63) <= v <= _U64_MAX:
            raise InvalidInputError(f"{where}: integer {v} does not fit in 64 bits")
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    raise InvalidInputError(f"{where}: MVT values must be str, int, float or bool, not {type(v).__name__}")


# Tags: (keys, the Layer.values entries as bytes, tag pairs flat, number of tags per feature)
Tags = tuple[list[str], bytes, npt.NDArray[np.uint64], npt.NDArray[np.int64]]
_COLUMN_TYPES = (str, int, float, bool)  # values are laid out in this order of blocks


def _tags(properties: Sequence[Mapping[str, Any] | None] | None, kept: npt.NDArray[np.int64], layer: str) -> Tags:
    """Deduplicated keys and values of the kept features, and their tag pairs (flat, with per-feature counts).

    This is the one per-property Python loop of the encoder, so it is kept lean: a dict of seen values
    per Python type (so 1, 1.0 and True stay distinct) handing out indices local to the type, which
    numpy turns into layer indices afterwards; the Value messages are then built per type by numpy.
    """
    keys: list[str] = []
    if properties is None:
        return keys, b"", np.zeros(0, dtype=np.uint64), np.zeros(len(kept), dtype=np.int64)
    rows = [properties[fi] for fi in kept.tolist()] if len(kept) != len(properties) else properties
    fast = _tags_by_column(rows, layer)
    if fast is not None:
        return fast
    key_idx: dict[str, int] = {}
    seen_float: dict[Any, int] = {}
    lists: tuple[list[Any], ...] = ([], [], [], [])
    by_type: dict[type, tuple[dict[Any, int], list[Any], int]] = {
        str: ({}, lists[0], 0),
        int: ({}, lists[1], 1),
        float: (seen_float, lists[2], 2),
        bool: ({}, lists[3], 3),
    }
    tags: list[int] = []
    n_tags: list[int] = []
    append, get_type = tags.append, by_type.get
    for fi, props in enumerate(rows):
        if not props:
            n_tags.append(0)
            continue
        before = len(tags)
        for k, v in props.items():
            entry = get_type(type(v))
            if entry is None:
                if v is None:
                    continue
                v = _coerce(v, f"layer {layer!r} feature {int(kept[fi])} property {k!r}")
                entry = by_type[type(v)]
            ki = key_idx.get(k)
            if ki is None:
                if type(k) is not str:
                    raise InvalidInputError(f"layer {layer!r} feature {int(kept[fi])}: property keys must be str")
                ki = key_idx[k] = len(keys)
                keys.append(k)
            seen, found, code = entry
            # floats: -0.0 vs 0.0 and NaN are told apart by their bytes, as the spec's dedup rule says
            key = struct.pack("<d", v) if seen is seen_float and (v != v or v == 0.0) else v
            vi = seen.get(key)
            if vi is None:
                vi = seen[key] = len(found) * 4 + code
                found.append(v)
            append(ki)
            append(vi)
        n_tags.append(len(tags) - before)
    pairs = np.asarray(tags, dtype=np.int64)
    base = np.cumsum([0, *(len(x) for x in lists[:3])])
    local = pairs[1::2]
    pairs[1::2] = base[local & 3] + (local >> 2)
    section = _by_use(pairs, *_values_section(*lists, layer=layer))
    return keys, section, pairs.astype(np.uint64), np.asarray(n_tags, dtype=np.int64)


def _tags_by_column(rows: Sequence[Mapping[str, Any] | None], layer: str) -> Tags | None:
    """Fast path of :func:`_tags` for rows that all have the same keys and one plain type per column.

    Rows from a database query look like this. Each column is factorised with a dict comprehension
    and the tag pairs are laid out with numpy; returns None (use the general loop) for anything else:
    missing or extra keys, None values, mixed types, non-str keys, -0.0 or NaN.
    """
    if not rows or type(rows[0]) is not dict or not rows[0]:
        return None
    names = rows[0].keys()
    keys = list(names)
    if not all(type(k) is str for k in keys) or not all(type(r) is dict and r.keys() == names for r in rows):
        return None
    seen: dict[type, dict[Any, int]] = {t: {} for t in _COLUMN_TYPES}
    local = np.empty((len(rows), len(keys)), dtype=np.int64)
    col_type: list[int] = []
    for j, k in enumerate(keys):
        col = [r[k] for r in rows]  # type: ignore[index]
        types = set(map(type, col))
        t = types.pop()
        if types or t not in seen or (t is float and any(v != v or v == 0.0 for v in col)):
            return None
        d = seen[t]
        local[:, j] = [d.setdefault(v, len(d)) for v in col]
        col_type.append(_COLUMN_TYPES.index(t))
    base = np.cumsum([0, *(len(seen[t]) for t in _COLUMN_TYPES[:3])])
    pairs = np.empty((len(rows), 2 * len(keys)), dtype=np.int64)
    pairs[:, 0::2] = np.arange(len(keys))
    pairs[:, 1::2] = local + base[col_type]
    flat = pairs.reshape(-1)
    section = _by_use(flat, *_values_section(*(list(seen[t]) for t in _COLUMN_TYPES), layer=layer))
    return keys, section, flat.astype(np.uint64), np.full(len(rows), 2 * len(keys), dtype=np.int64)


def _tags_of_columns(columns: Mapping[str, Sequence[Any]], kept: npt.NDArray[np.int64], layer: str) -> Tags:
    """:func:`_tags` for column-wise properties: one dict pass per column, None values left out.

    Columns of one plain type (plus None) are factorised directly; anything else (mixed types, -0.0,
    NaN, numpy scalars) goes through the general per-row loop of :func:`_tags`.
    """
    keys = list(columns)
    n, k = len(kept), len(keys)
    if not keys:
        return [], b"", np.zeros(0, dtype=np.uint64), np.zeros(n, dtype=np.int64)
    whole = n == (len(next(iter(columns.values()))) if columns else 0)
    cols: list[Sequence[Any]] = []
    for key in keys:
        col = columns[key]
        if not whole:
            col = np.asarray(col, dtype=object)[kept].tolist() if not isinstance(col, np.ndarray) else col[kept]
        cols.append(col.tolist() if isinstance(col, np.ndarray) else col)
    seen: dict[type, dict[Any, int]] = {t: {} for t in _COLUMN_TYPES}
    local = np.full((n, k), -1, dtype=np.int64)
    code = np.zeros(k, dtype=np.int64)
    for j, col in enumerate(cols):
        types = set(map(type, col))
        types.discard(type(None))
        if not types:
            continue
        t = types.pop()
        if types or t not in seen or type(keys[j]) is not str or (t is float and any(v == 0.0 or v != v for v in col)):
            rows = [{kk: c[i] for kk, c in zip(keys, cols, strict=True)} for i in range(n)]
            return _tags(rows, np.arange(n, dtype=np.int64), layer)
        d = seen[t]
        local[:, j] = [-1 if v is None else d.setdefault(v, len(d)) for v in col]
        code[j] = _COLUMN_TYPES.index(t)
    valid = local >= 0
    used = valid.any(axis=0)
    if not used.any():
        return [], b"", np.zeros(0, dtype=np.uint64), np.zeros(n, dtype=np.int64)
    base = np.cumsum([0, *(len(seen[t]) for t in _COLUMN_TYPES[:3])])
    key_index = np.cumsum(used) - 1  # keys that are never set are left out of the layer
    rows_at, cols_at = np.nonzero(valid)  # row-major: each feature's tags in key order
    pairs = np.empty(2 * rows_at.size, dtype=np.int64)
    pairs[0::2] = key_index[cols_at]
    pairs[1::2] = local[rows_at, cols_at] + base[code[cols_at]]
    section = _by_use(pairs, *_values_section(*(list(seen[t]) for t in _COLUMN_TYPES), layer=layer))
    names = [keys[j] for j in np.flatnonzero(used).tolist()]
    return names, section, pairs.astype(np.uint64), 2 * valid.sum(axis=1).astype(np.int64)


def _by_use(pairs: npt.NDArray[np.int64], section: npt.NDArray[np.uint8], sizes: npt.NDArray[np.int64]) -> bytes:
    """Renumber the values most-used first (small indices take one varint byte) and reorder the section."""
    vals = pairs[1::2]
    order = np.argsort(-np.bincount(vals, minlength=sizes.size), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    pairs[1::2] = rank[vals]
    starts = np.cumsum(sizes) - sizes
    moved = sizes[order]
    return section[np.repeat(starts[order] - (np.cumsum(moved) - moved), moved) + np.arange(section.size)].tobytes()


def _values_section(
    strs: list[str], ints: list[int], floats: list[float], bools: list[bool], *, layer: str
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The Layer.values entries (field 4) and each one's size: a block per type, one typed field per Value."""
    out, sizes = [], []
    if strs:
        raws = [v.encode("utf-8") for v in strs]
        n = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
        body = 1 + varint_sizes(n.astype(np.uint64)) + n
        head = np.stack([np.full_like(n, 0x22), body, np.full_like(n, 0x0A), n], axis=1).astype(np.uint64)
        hsize = 2 + varint_sizes(body.astype(np.uint64)) + varint_sizes(n.astype(np.uint64))
        buf = np.empty(int((hsize + n).sum()), dtype=np.uint8)
        start = np.cumsum(hsize + n) - (hsize + n)
        _scatter(buf, start, hsize, np.frombuffer(encode_varints(head.reshape(-1)), dtype=np.uint8))
        _scatter(buf, start + hsize, n, np.frombuffer(b"".join(raws), dtype=np.uint8))
        out.append(buf)
        sizes.append(hsize + n)
    if ints:
        try:
            a = np.array(ints, dtype=np.int64)
            u, neg = np.where(a >= 0, a.view(np.uint64), zigzag(a)), a < 0
        except OverflowError:  # some value is past 2^63 - 1
            if not all(-(1 << 63) <= v <= _U64_MAX for v in ints):
                raise InvalidInputError(f"layer {layer!r}: an integer value does not fit in 64 bits") from None
            u = np.array([v if v >= 0 else ((v << 1) ^ (v >> 63)) & _U64_MAX for v in ints], dtype=np.uint64)
            neg = np.array([v < 0 for v in ints])
        head = np.empty((len(ints), 4), dtype=np.uint64)
        head[:, 0], head[:, 1] = 0x22, 1 + varint_sizes(u)
        head[:, 2], head[:, 3] = np.where(neg, 0x30, 0x28), u  # sint_value for negatives, else uint_value
        out.append(np.frombuffer(encode_varints(head.reshape(-1)), dtype=np.uint8))
        sizes.append(3 + varint_sizes(u))
    if floats:
        f = np.array(floats, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            f32 = f.astype(np.float32)
        single = np.isfinite(f) & (f32.astype(np.float64) == f)  # float_value when float32 holds it exactly
        size = np.where(single, 7, 11)
        buf = np.empty(int(size.sum()), dtype=np.uint8)
        start = np.cumsum(size) - size
        buf[start], buf[start + 1], buf[start + 2] = 0x22, np.where(single, 5, 9), np.where(single, 0x15, 0x19)
        buf[(start[single] + 3)[:, None] + np.arange(4)] = f32[single].astype("<f4").view(np.uint8).reshape(-1, 4)
        buf[(start[~single] + 3)[:, None] + np.arange(8)] = f[~single].astype("<f8").view(np.uint8).reshape(-1, 8)
        out.append(buf)
        sizes.append(size)
    if bools:
        out.append(np.array([[0x22, 0x02, 0x38, int(v)] for v in bools], dtype=np.uint8).reshape(-1))
        sizes.append(np.full(len(bools), 4, dtype=np.int64))
    if not out:
        return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
    return np.concatenate(out), np.concatenate(sizes).astype(np.int64)


def _ids(ids: Any, m: int, layer: str) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
    if ids is None:
        return np.zeros(m, dtype=np.uint64), np.zeros(m, dtype=np.bool_)
    if len(ids) != m:
        raise InvalidInputError(f"layer {layer!r}: {len(ids)} ids for {m} features")
    arr = ids if isinstance(ids, np.ndarray) else np.asarray(ids) if not isinstance(ids, str) else None
    if arr is not None and arr.dtype.kind in "iu" and arr.ndim == 1:
        if arr.dtype.kind == "i" and m and int(arr.min()) < 0:
            raise InvalidInputError(f"layer {layer!r}: feature ids must be non-negative")
        return arr.astype(np.uint64), np.ones(m, dtype=np.bool_)
    has = np.array([i is not None for i in ids], dtype=np.bool_)
    out = np.zeros(m, dtype=np.uint64)
    for j, i in enumerate(ids):
        if i is None:
            continue
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= int(i) <= _U64_MAX:
            raise InvalidInputError(f"layer {layer!r} feature {j}: id {i!r} is not an unsigned 64-bit integer")
        out[j] = int(i)
    return out, has


def _segment_sums(sizes: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    cs = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=cs[1:])
    ends = np.cumsum(counts)
    return cs[ends] - cs[ends - counts]


def _scatter(out: npt.NDArray[Any], dest: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], vals: Any) -> None:
    """Write consecutive runs of ``vals`` (run i has ``counts[i]`` items) starting at ``dest[i]`` in ``out``."""
    if vals.size:
        out[np.repeat(dest - (np.cumsum(counts) - counts), counts) + np.arange(vals.size)] = vals


def _features_bytes(
    streams: Streams,
    kept: npt.NDArray[np.int64],
    ids: npt.NDArray[np.uint64],
    has_id: npt.NDArray[np.bool_],
    tags: npt.NDArray[np.uint64],
    tag_n: npt.NDArray[np.int64],
) -> bytes:
    """All Feature messages of a layer (each prefixed by the Layer.features tag) as one varint stream."""
    gn = np.diff(streams.offsets)[kept]
    gvals = streams.values
    gbytes = _segment_sums(varint_sizes(gvals), gn)
    tbytes = _segment_sums(varint_sizes(tags), tag_n)
    ids, has_id = ids[kept], has_id[kept]
    ht = tag_n > 0
    flen = (
        has_id * (1 + varint_sizes(ids))
        + ht * (1 + varint_sizes(tbytes.astype(np.uint64)) + tbytes)
        + 3
        + varint_sizes(gbytes.astype(np.uint64))
        + gbytes
    )
    items = 2 + 2 * has_id + np.where(ht, 2 + tag_n, 0) + 4 + gn
    fs = np.cumsum(items) - items
    out = np.empty(int(items.sum()), dtype=np.uint64)
    out[fs] = 0x12  # Layer.features, length-delimited
    out[fs + 1] = flen
    p = fs + 2
    out[p[has_id]] = 0x08  # Feature.id
    out[p[has_id] + 1] = ids[has_id]
    p = p + 2 * has_id
    out[p[ht]] = 0x12  # Feature.tags, packed
    out[p[ht] + 1] = tbytes[ht]
    _scatter(out, p + 2, tag_n, tags)
    p = p + np.where(ht, 2 + tag_n, 0)
    out[p] = 0x18  # Feature.type
    out[p + 1] = streams.types[kept]
    out[p + 2] = 0x22  # Feature.geometry, packed
    out[p + 3] = gbytes
    _scatter(out, p + 4, gn, gvals)
    return encode_varints(out)


def encode_layer(
    layer: LayerData,
    extent: int = 4096,
    *,
    tile: tuple[int, int, int] | None = None,
    buffer: float | None = 64,
    simplify_px: float | None = None,
    tms: str = WEB_MERCATOR_QUAD,
) -> bytes:
    """Encode one layer as a complete one-layer tile (tiles of distinct layers concatenate into one tile).

    ``buffer``: pixels kept around the tile (``None`` = no clipping). ``simplify_px``: Douglas–Peucker
    tolerance in pixels for lines and polygons (topology-preserving for polygons), or None. ``tms``:
    the tile grid ``tile`` is in: ``WebMercatorQuad`` or the geographic ``CGCS2000Quad`` (lon/lat
    geometries only).
    Returns ``b""`` when no feature is left to draw (the spec says a layer SHOULD hold a feature).
    """
    name = layer.name
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"a layer needs a non-empty name, got {name!r}")
    frame = make_frame(layer.crs, extent, tile, tms)
    geoms = layer.geometries
    m = len(geoms)
    if layer.properties is not None and len(layer.properties) != m:
        raise InvalidInputError(f"layer {name!r}: {len(layer.properties)} property rows for {m} features")
    if layer.columns is not None:
        if layer.properties is not None:
            raise InvalidInputError(f"layer {name!r}: give properties or columns, not both")
        bad = {k: len(v) for k, v in layer.columns.items() if len(v) != m}
        if bad:
            raise InvalidInputError(f"layer {name!r}: property columns {bad} do not have {m} values")
    ids, has_id = _ids(layer.ids, m, name)
    if isinstance(geoms, np.ndarray) and geoms.dtype.kind in "iuf":
        if geoms.ndim != 2 or geoms.shape[1] != 2:
            raise InvalidInputError(f"layer {name!r}: a coordinate array must have shape (N, 2), got {geoms.shape}")
        streams = encode_point_array(geoms, frame, buffer)
    else:
        if isinstance(geoms, np.ndarray) and geoms.dtype == object and geoms.ndim == 1:
            arr = geoms
        else:
            arr = np.empty(len(geoms), dtype=object)
            arr[:] = list(geoms)
        if not shapely.is_valid_input(arr).all():
            raise InvalidInputError(f"layer {name!r}: geometries must be shapely geometries or None")
        if simplify_px is not None and not simplify_px >= 0:
            raise InvalidInputError(f"simplify_px must be >= 0, got {simplify_px!r}")
        streams = encode_geometries(arr, frame, buffer, simplify_px)
    kept = np.flatnonzero(streams.types).astype(np.int64)
    if not kept.size:
        return b""
    if layer.columns is not None:
        keys, values, tags, tag_n = _tags_of_columns(layer.columns, kept, name)
    else:
        keys, values, tags, tag_n = _tags(layer.properties, kept, name)
    raw_name = name.encode("utf-8")
    parts = [b"\x78\x02", b"\x0a", _varint(len(raw_name)), raw_name]  # version 2 first, then name
    parts.append(_features_bytes(streams, kept, ids, has_id, tags, tag_n))
    for k in keys:
        raw = k.encode("utf-8")
        parts += (b"\x1a", _varint(len(raw)), raw)
    parts.append(values)
    parts += (b"\x28", _varint(extent))
    body = b"".join(parts)
    return b"\x1a" + _varint(len(body)) + body


def encode_tile(
    layers: list[LayerData],
    extent: int = 4096,
    *,
    tile: tuple[int, int, int] | None = None,
    buffer: float | None = 64,
    simplify_px: float | None = None,
    tms: str = WEB_MERCATOR_QUAD,
) -> bytes:
    """Encode layers into one MVT 2.1 tile (see :func:`encode_layer` for the options)."""
    names = [layer.name for layer in layers]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InvalidInputError(f"a tile cannot hold two layers with the same name: {sorted(dup)}")
    return b"".join(
        encode_layer(la, extent, tile=tile, buffer=buffer, simplify_px=simplify_px, tms=tms) for la in layers
    )


# --------------------------------------------------------------------------------------------------
# decoding

_WIRE_NAMES = {0: "varint", 1: "64-bit", 2: "length-delimited", 5: "32-bit"}


def _bad(what: str) -> InvalidInputError:
    return InvalidInputError(f"malformed MVT: {what}")


def _read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise _bad("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift >= 70:
            raise _bad("varint longer than 10 bytes")
    if result > _U64_MAX:
        raise _bad("varint exceeds 64 bits")
    return result, pos


def _fields(buf: bytes, pos: int, end: int, where: str) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message; value is an int, (start, end) or raw bytes."""
    out = []
    while pos < end:
        key, pos = _read_varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        val: Any
        if field == 0:
            raise _bad(f"{where}: field number 0")
        if wire == 0:
            val, pos = _read_varint(buf, pos, end)
        elif wire == 2:
            n, pos = _read_varint(buf, pos, end)
            if pos + n > end:
                raise _bad(f"{where}: field {field} runs past the end of its message")
            val, pos = (pos, pos + n), pos + n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            if pos + n > end:
                raise _bad(f"{where}: field {field} runs past the end of its message")
            val, pos = buf[pos : pos + n], pos + n
        else:
            raise _bad(f"{where}: unsupported wire type {wire} (field {field})")
        out.append((field, wire, val))
    return out


def _expect(where: str, field: str, wire: int, want: int) -> None:
    if wire != want:
        raise _bad(f"{where}: {field} has wire type {_WIRE_NAMES.get(wire, wire)}, expected {_WIRE_NAMES[want]}")


def _text(buf: bytes, span: tuple[int, int], where: str) -> str:
    try:
        return buf[span[0] : span[1]].decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(f"{where} is not valid UTF-8") from None


_VALUE_WIRES = {1: 2, 2: 5, 3: 1, 4: 0, 5: 0, 6: 0, 7: 0}


def _decode_value(buf: bytes, span: tuple[int, int], where: str) -> PropertyValue:
    fields = _fields(buf, span[0], span[1], where)
    if len(fields) != 1:
        raise _bad(f"{where} must hold exactly one typed value, found {len(fields)} fields")
    field, wire, val = fields[0]
    if field not in _VALUE_WIRES:
        raise _bad(f"{where} has an unknown value type (field {field})")
    _expect(where, f"value field {field}", wire, _VALUE_WIRES[field])
    if field == 1:
        return _text(buf, val, where)
    if field == 2:
        return float(struct.unpack("<f", val)[0])
    if field == 3:
        return float(struct.unpack("<d", val)[0])
    if field == 4:
        return val - (1 << 64) if val >= 1 << 63 else val  # int64, two's complement
    if field == 5:
        return int(val)
    if field == 6:
        return (val >> 1) ^ -(val & 1)
    return bool(val)


def _once(seen: set[int], field: int, where: str, name: str) -> None:
    if field in seen:
        raise _bad(f"{where}: {name} appears more than once")
    seen.add(field)


def _feature_fields(
    buf: bytes, span: tuple[int, int], where: str
) -> tuple[int | None, int, tuple[int, int], tuple[int, int]]:
    """id, type, tags span and geometry span of one Feature message, checked."""
    seen: set[int] = set()
    fid: int | None = None
    gtype: int | None = None
    tags: tuple[int, int] = (0, 0)
    geom: tuple[int, int] | None = None
    for field, wire, val in _fields(buf, span[0], span[1], where):
        if field == 1:
            _once(seen, field, where, "id")
            _expect(where, "id", wire, 0)
            fid = val
        elif field == 2:
            _once(seen, field, where, "tags")
            _expect(where, "tags", wire, 2)
            tags = val
        elif field == 3:
            _once(seen, field, where, "type")
            _expect(where, "type", wire, 0)
            gtype = val
        elif field == 4:
            _once(seen, field, where, "geometry")
            _expect(where, "geometry", wire, 2)
            geom = val
    if gtype is None:
        raise _bad(f"{where} has no geometry type (spec 4.2: a feature MUST contain a type)")
    if gtype not in TYPE_NAMES:
        raise _bad(f"{where} has geometry type {gtype}, which is not in the GeomType enum")
    if geom is None:
        raise _bad(f"{where} has no geometry (spec 4.2: a feature MUST contain a geometry)")
    return fid, gtype, tags, geom


def _packed_uint32(
    buf: bytes, spans: list[tuple[int, int]], where: str, what: str
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Decode many packed uint32 fields in one numpy pass: all values, and where each field starts."""
    lengths = np.fromiter((e - s for s, e in spans), dtype=np.int64, count=len(spans))
    joined = b"".join(buf[s:e] for s, e in spans)
    term = np.frombuffer(joined, dtype=np.uint8) < 0x80
    ends = np.cumsum(lengths)
    cut = ends[lengths > 0] - 1
    if cut.size and not term[cut].all():
        bad = int(np.flatnonzero(lengths > 0)[np.flatnonzero(~term[cut])[0]])
        raise _bad(f"{where} feature {bad}: {what} ends inside a varint")
    values = decode_varints(joined, f"{where} {what}")
    count = np.zeros(term.size + 1, dtype=np.int64)
    np.cumsum(term, out=count[1:])
    starts = count[np.concatenate([[0], ends])]
    if values.size and int(values.max()) > 0xFFFFFFFF:
        bad = int(np.searchsorted(starts, np.flatnonzero(values > 0xFFFFFFFF)[0], side="right")) - 1
        raise _bad(f"{where} feature {bad}: a {what} integer exceeds 32 bits")
    return values, starts


def _decode_features(
    buf: bytes, spans: list[tuple[int, int]], keys: list[str], values: list[PropertyValue], where: str
) -> list[dict[str, Any]]:
    heads = [_feature_fields(buf, sp, f"{where} feature {i}") for i, sp in enumerate(spans)]
    if not heads:
        return []
    tag_vals, tag_at = _packed_uint32(buf, [h[2] for h in heads], where, "tags")
    geo_vals, geo_at = _packed_uint32(buf, [h[3] for h in heads], where, "geometry")
    tags, raw, dz = tag_vals.tolist(), geo_vals.tolist(), unzigzag(geo_vals).tolist()
    nk, nv = len(keys), len(values)
    out = []
    for i, (fid, gtype, _, _) in enumerate(heads):
        here = f"{where} feature {i}"
        t = tags[tag_at[i] : tag_at[i + 1]]
        if len(t) % 2:
            raise _bad(f"{here} has an odd number of tags ({len(t)})")
        props: dict[str, PropertyValue] = {}
        for ki, vi in zip(t[0::2], t[1::2], strict=True):
            if ki >= nk or vi >= nv:
                raise _bad(f"{here}: tag ({ki}, {vi}) points past the layer's {nk} keys / {nv} values")
            k = keys[ki]
            if k in props:
                raise _bad(f"{here}: key {k!r} is tagged twice")
            props[k] = values[vi]
        geometry = decode_geometry(raw, dz, int(geo_at[i]), int(geo_at[i + 1]), gtype, here)
        out.append({"id": fid, "type": TYPE_NAMES[gtype], "properties": props, "geometry": geometry})
    return out


def _decode_layer(buf: bytes, span: tuple[int, int], n: int) -> tuple[str, dict[str, Any]]:
    where = f"layer {n}"
    seen: set[int] = set()
    version = name = extent = None
    features: list[tuple[int, int]] = []
    keys: list[str] = []
    values: list[PropertyValue] = []
    for field, wire, val in _fields(buf, span[0], span[1], where):
        if field == 15:
            _once(seen, field, where, "version")
            _expect(where, "version", wire, 0)
            version = val
        elif field == 1:
            _once(seen, field, where, "name")
            _expect(where, "name", wire, 2)
            name = _text(buf, val, f"{where} name")
            where = f"layer {name!r}"
        elif field == 2:
            _expect(where, "a feature", wire, 2)
            features.append(val)
        elif field == 3:
            _expect(where, "a key", wire, 2)
            keys.append(_text(buf, val, f"{where} key {len(keys)}"))
        elif field == 4:
            _expect(where, "a value", wire, 2)
            values.append(_decode_value(buf, val, f"{where} value {len(values)}"))
        elif field == 5:
            _once(seen, field, where, "extent")
            _expect(where, "extent", wire, 0)
            extent = val
    if name is None:
        raise _bad(f"{where} has no name (spec 4.1: a layer MUST contain a name)")
    if version is None:
        raise _bad(f"{where} has no version (spec 4.1: a layer MUST contain a version)")
    if version not in (1, 2):
        raise _bad(f"{where} has version {version}; this decoder reads versions 1 and 2")
    extent = 4096 if extent is None else extent
    if extent == 0:
        raise _bad(f"{where} has extent 0")
    return name, {
        "version": version,
        "extent": extent,
        "features": _decode_features(buf, features, keys, values, where),
    }


def decode_tile(data: bytes) -> dict[str, dict[str, Any]]:
    """Decode and check an MVT tile: ``{layer name: {"version", "extent", "features": [...]}}``.

    Each feature is ``{"id": int | None, "type": "Point" | "LineString" | "Polygon" | "Unknown",
    "properties": {...}, "geometry": ...}`` with geometry in integer tile coordinates: points
    ``[(x, y), ...]``, lines ``[[(x, y), ...], ...]``, polygon rings ``[[(x, y), ..., first], ...]`` in
    stream order (exterior = positive shoelace area with y down), or for Unknown the raw integers.
    Raises :class:`InvalidInputError` naming the layer and feature when the tile is malformed.
    """
    buf = bytes(data)
    if buf[:2] == b"\x1f\x8b":
        raise InvalidInputError("the tile is gzip-compressed: pass it through maybe_gunzip() first")
    layers: dict[str, dict[str, Any]] = {}
    for i, (field, wire, val) in enumerate(_fields(buf, 0, len(buf), "tile")):
        if field != 3:
            continue  # Tile extensions (16..8191) and unknown fields are skipped, as protobuf does
        _expect("tile", "a layer", wire, 2)
        name, layer = _decode_layer(buf, val, i)
        if name in layers:
            raise _bad(f"two layers are named {name!r} (spec 4.1: layer names MUST be unique)")
        layers[name] = layer
    return layers


def maybe_gunzip(data: bytes, max_size: int = MAX_GUNZIP) -> bytes:
    """Return ``data`` un-gzipped if it starts with the gzip magic bytes, else unchanged."""
    if data[:2] != b"\x1f\x8b":
        return data
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, max_size)
    except zlib.error as exc:
        raise InvalidInputError(f"corrupt gzip data: {exc}") from None
    if d.unconsumed_tail:
        raise InvalidInputError(f"gzip data inflates past {max_size} bytes")
    if not d.eof:
        raise InvalidInputError("truncated gzip data")
    return out


def feature_geometry(feature: Mapping[str, Any]) -> BaseGeometry | None:
    """A decoded feature's geometry as shapely (tile coordinates); None for Unknown features.

    Polygon rings are grouped by winding: a ring with the sign of the first ring starts a polygon,
    a ring of the opposite sign is a hole in the current one (so version 1 tiles wound the other way
    also read), zero-area rings are skipped.
    """
    kind, geom = feature["type"], feature["geometry"]
    if kind == "Point":
        return shapely.Point(geom[0]) if len(geom) == 1 else shapely.MultiPoint(geom)
    if kind == "LineString":
        return shapely.LineString(geom[0]) if len(geom) == 1 else shapely.MultiLineString(geom)
    if kind != "Polygon":
        return None
    polys: list[list[list[tuple[int, int]]]] = []
    sign = 0.0
    for ring in geom:
        a = _shoelace(ring)
        if a == 0:
            continue
        if not polys or (a > 0) == (sign > 0):
            sign = sign or a
            polys.append([ring])
        else:
            polys[-1].append(ring)
    shapes = [shapely.Polygon(p[0], p[1:]) for p in polys]
    return shapes[0] if len(shapes) == 1 else shapely.MultiPolygon(shapes)


def _shoelace(ring: Sequence[tuple[int, int]]) -> float:
    """Twice the signed area of a closed ring (positive = clockwise on screen, y down)."""
    return float(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)))
