"""The array forms of WKB parsing and geometry repair give row for row what the per-row functions give."""

from __future__ import annotations

import struct

import shapely

from citybase.domains.imports.geometry import GeometryRejected, parse_many, parse_wkb, repair, repair_many

X, Y = 112.14, 32.01
D = 0.001
SQUARE = shapely.box(X, Y, X + D, Y + D)
DUPLICATE = shapely.Polygon([(X, Y), (X + D, Y), (X + D, Y), (X + D, Y + D), (X, Y + D), (X, Y)])
BOWTIE = shapely.Polygon([(X, Y), (X + D, Y + D), (X + D, Y), (X, Y + D), (X, Y)])
TOUCHING = shapely.Polygon(
    [(X, Y), (X + 4 * D, Y), (X + 4 * D, Y + 4 * D), (X + 2 * D, Y + 4 * D), (X + 3 * D, Y + 2 * D),
     (X + D, Y + 2 * D), (X + 2 * D, Y + 4 * D), (X, Y + 4 * D), (X, Y)]
)  # fmt: skip
GEOMETRIES = [SQUARE, DUPLICATE, BOWTIE, None, TOUCHING, shapely.Point(X, Y), shapely.Polygon(), SQUARE]


def _outcome(result: object) -> object:
    if isinstance(result, GeometryRejected):
        return ("rejected", str(result))
    if result is None:
        return None
    geom, repairs = result  # type: ignore[misc]
    return (None if geom is None else shapely.to_wkb(geom), repairs)


def _one_by_one(fn: object, items: list[object]) -> list[object]:
    out = []
    for item in items:
        try:
            out.append(_outcome(fn(item)))  # type: ignore[operator]
        except GeometryRejected as exc:
            out.append(_outcome(exc))
    return out


def test_repair_many_is_repair_row_by_row() -> None:
    many = [_outcome(r) for r in repair_many(GEOMETRIES)]
    present = [g for g in GEOMETRIES if g is not None]
    single = _one_by_one(repair, present)
    single.insert(GEOMETRIES.index(None), None)
    assert many == single
    assert many[1][1] == ["dropped 1 duplicate vertices"]  # type: ignore[index]
    assert many[2][0] == "rejected"  # type: ignore[index]
    assert "area kept" in many[4][1][0]  # type: ignore[index]


def test_parse_many_is_parse_wkb_row_by_row_also_with_a_broken_row() -> None:
    ring = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    unclosed = struct.pack("<BII I", 1, 3, 1, len(ring)) + b"".join(struct.pack("<dd", *c) for c in ring)
    clean = [shapely.to_wkb(SQUARE), None, shapely.to_wkb(BOWTIE)]
    for wkbs in (clean, [*clean, unclosed, b"\x01\x02garbage"]):
        assert [_outcome(r) for r in parse_many(wkbs)] == _one_by_one(parse_wkb, wkbs)
    outcomes = [_outcome(r) for r in parse_many([*clean, unclosed, b"\x01\x02garbage"])]
    assert outcomes[3][1] == ["closed an unclosed ring"]  # type: ignore[index]
    assert outcomes[4][0] == "rejected"  # type: ignore[index]
