"""GB/T 39409-2020 BeiDou 2D grid codes: official/derived vectors, properties, errors.

Vectors come from docs STANDARDS.md §1 ([STD] official, [DOC] GEOVIS manual, [DERIVED]).
The property tests compare against an independent oracle: the standard's Annex B corner algorithm in
exact arc-second fractions, written as literally as possible.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from citybase.kernel.errors import InvalidInputError
from citybase.standards.beidou import (
    SNAP_BITS,
    UNITS_PER_DEGREE,
    Cell,
    children,
    decode,
    decode_reference,
    decode_short,
    encode,
    encode_many,
    encode_reference,
    encode_short,
    neighbours,
    parent,
    shift,
)

K = UNITS_PER_DEGREE
SNAP = Fraction(1, 2**SNAP_BITS)


def dms(d: int, m: int, s: float) -> float:
    return d + m / 60 + s / 3600


# Annex B.2 point: 39°59′35.38″N, 116°18′45.37″E
LNG = dms(116, 18, 45.37)
LAT = dms(39, 59, 35.38)

# --------------------------------------------------------------------------------------------------
# independent oracle: Annex B, arc-seconds, exact fractions, no snapping

_SIZES_SEC = [
    None,
    (Fraction(21600), Fraction(14400)),
    (Fraction(1800), Fraction(1800)),
    (Fraction(900), Fraction(600)),
    (Fraction(60), Fraction(60)),
    (Fraction(4), Fraction(4)),
    (Fraction(2), Fraction(2)),
    (Fraction(1, 4), Fraction(1, 4)),
    (Fraction(1, 32), Fraction(1, 32)),
    (Fraction(1, 256), Fraction(1, 256)),
    (Fraction(1, 2048), Fraction(1, 2048)),
]


def oracle(lng: float, lat: float, level: int) -> str:
    lam, phi = abs(Fraction(lng)) * 3600, abs(Fraction(lat)) * 3600
    a = math.floor(lam / 21600)
    col = 31 + a if lng >= 0 else 30 - a
    r = math.floor(phi / 14400)
    code = ("N" if lat >= 0 else "S") + f"{col:02d}" + "ABCDEFGHIJKLMNOPQRSTUV"[r]
    lam_c, phi_c = a * Fraction(21600), r * Fraction(14400)
    for lv in range(2, level + 1):
        dl, dp = _SIZES_SEC[lv]  # type: ignore[misc]
        i = math.floor((lam - lam_c) / dl)
        j = math.floor((phi - phi_c) / dp)
        lam_c += i * dl
        phi_c += j * dp
        code += str(2 * j + i) if lv in (3, 6) else f"{i:X}{j:X}"
    return code


def near_snap(v: float) -> bool:
    """True if |v| in units lies within the snap tolerance below a whole unit (oracle disagrees there)."""
    u = abs(Fraction(v)) * K
    frac = u - math.floor(u)
    return frac != 0 and frac >= 1 - SNAP


def units(deg: float) -> int:
    """A decoded bound (float nearest an exact unit) back to its exact integer unit."""
    return round(deg * K)


# --------------------------------------------------------------------------------------------------
# official and derived vectors

ANNEX_B = [
    (1, "N50J"),
    (2, "N50J47"),
    (3, "N50J475"),
    (4, "N50J47539"),
    (5, "N50J47539B8"),
    (6, "N50J47539B82"),
    (7, "N50J47539B8255"),
    (8, "N50J47539B825534"),
    (9, "N50J47539B82553461"),  # derived
    (10, "N50J47539B8255346152"),  # derived
]


@pytest.mark.parametrize(("level", "code"), ANNEX_B)
def test_annex_b_worked_example(level: int, code: str) -> None:
    assert encode(LNG, LAT, level) == code
    assert decode(code).level == level


# intermediate corners λn, φn printed in Annex B.2 (in arc-seconds from 0)
ANNEX_B_CORNERS = [
    (1, (114, 0, 0), (36, 0, 0)),
    (2, (116, 0, 0), (39, 30, 0)),
    (3, (116, 15, 0), (39, 50, 0)),
    (4, (116, 18, 0), (39, 59, 0)),
    (5, (116, 18, 44), (39, 59, 32)),
    (6, (116, 18, 44), (39, 59, 34)),
    (7, (116, 18, 45.25), (39, 59, 35.25)),
]


@pytest.mark.parametrize(("level", "lam", "phi"), ANNEX_B_CORNERS)
def test_annex_b_corners(level: int, lam: tuple[int, int, float], phi: tuple[int, int, float]) -> None:
    cell = decode(encode(LNG, LAT, level))
    assert cell.corner == pytest.approx((dms(*lam), dms(*phi)), abs=1e-12)
    assert cell.bounds[:2] == cell.corner


@pytest.mark.parametrize(
    ("lng", "lat", "code"),
    [
        (dms(116, 19, 14.3184), dms(39, 59, 56.1444), "N50J475493E"),  # 东一门
        (dms(116, 19, 5.9808), dms(39, 59, 59.7012), "N50J475491E"),  # 求是塔
        (dms(116, 19, 9.3540), dms(39, 59, 56.5260), "N50J475492E"),  # 办公楼
    ],
)
def test_section_8_1_vectors(lng: float, lat: float, code: str) -> None:
    assert encode(lng, lat, 5) == code


def test_geovis_vectors() -> None:
    assert encode(116.31260277777778, 39.993161111111114, 8) == "N50J47539B825534"
    assert encode(116.31522216796875, 39.910277777777778, 4) == "N50J47534"
    w, s, e, n = decode("N50J47539B825534").bounds  # ST_BGC2Box
    assert w == pytest.approx(116.3125954861111, abs=1e-13)
    assert e == pytest.approx(116.31260416666666, abs=1e-13)
    assert s == pytest.approx(39.99315972222223, abs=1e-13)
    assert n == pytest.approx(39.99316840277778, abs=1e-13)


@pytest.mark.parametrize(
    ("lng", "lat", "code"),
    [
        (LNG, LAT, "N50J47539B8255346152"),
        (-LNG, -LAT, "S11J47539B8255346152"),
        (-LNG, LAT, "N11J47539B8255346152"),
        (LNG, -LAT, "S50J47539B8255346152"),
    ],
)
def test_derived_hemisphere_vectors(lng: float, lat: float, code: str) -> None:
    assert encode(lng, lat, 10) == code
    cell = decode(code)
    assert cell.contains(lng, lat)
    w, s, e, n = cell.bounds
    assert w <= lng <= e and s <= lat <= n
    # the 定位角点 is the corner nearest the origin: |corner| ≤ |point|
    assert abs(cell.corner[0]) <= abs(lng) and abs(cell.corner[1]) <= abs(lat)


def test_level_1_columns_both_hemispheres() -> None:
    assert encode(116.3, 39.9, 1) == "N50J"
    assert encode(-116.3, 39.9, 1) == "N11J"
    assert decode("N11J").bounds == (-120.0, 36.0, -114.0, 40.0)


def test_table_1_2d_example_decodes() -> None:
    cell = decode("N36J93078B3101524314")
    assert cell.level == 10
    assert cell.corner == pytest.approx((34.6294923231, 37.6367572700), abs=1e-10)
    assert cell.bounds[2] - cell.bounds[0] == pytest.approx(1 / K, rel=1e-6)
    assert encode(*cell.center, 10) == "N36J93078B3101524314"


def test_figure_2_level_1_cell() -> None:
    cell = decode("N32G")
    assert cell == Cell("N32G", 1, (6.0, 24.0, 12.0, 28.0), (9.0, 26.0), (6.0, 24.0))


def test_west_and_south_bounds_are_real_degrees() -> None:
    cell = decode("S11J47")
    assert cell.bounds == (-116.5, -40.0, -116.0, -39.5)
    assert cell.corner == (-116.0, -39.5)


def test_decode_is_case_insensitive_and_canonical() -> None:
    assert decode("n50j47539b8").code == "N50J47539B8"
    assert parent("n50j47539b8") == "N50J47539"


# --------------------------------------------------------------------------------------------------
# boundary decisions (§8 item 1)


def test_equator_is_north_and_prime_meridian_is_east() -> None:
    assert encode(0.0, 0.0, 10) == "N31A" + "0" * 16
    assert encode(0.0, -0.0, 1) == "N31A"
    assert encode(-0.0, 0.0, 1) == "N31A"
    assert encode(-1e-300, -1e-300, 1) == "S30A"


def test_antimeridian_clamps() -> None:
    assert encode(180.0, 10.0, 1) == "N60C"
    assert encode(-180.0, 10.0, 1) == "N01C"
    last = encode(180.0, 10.0, 10)
    assert last == encode(180.0 - 1e-9, 10.0, 10)
    assert decode(last).bounds[2] == 180.0
    assert decode(encode(-180.0, -10.0, 10)).bounds[0] == -180.0


def test_west_column_rule() -> None:
    # column = 30 − floor(|lng| / 6): 6°W exactly starts column 29 (6°W–12°W)
    assert encode(-6.0, 1.0, 1) == "N29A"
    assert encode(-5.999999, 1.0, 1) == "N30A"
    assert encode(6.0, 1.0, 1) == "N32A"


def test_edges_belong_to_the_cell_away_from_the_origin() -> None:
    assert encode(116.5, 40.0, 2) == "N50K50"
    assert encode(-116.5, -40.0, 2) == "S11K50"
    assert encode(116.5 - 1e-9, 40.0 - 1e-9, 2) == "N50J47"
    assert encode(116.0, 39.5, 2) == "N50J47"


def test_snap_keeps_float_edges_on_their_edge() -> None:
    # find a level-10 edge whose nearest float lies below the exact edge; floor alone would miss it
    for n in range(857_580_000, 857_590_000):
        f = n / K
        if Fraction(f) < Fraction(n, K):
            break
    else:  # pragma: no cover
        pytest.fail("no float below its edge found")
    assert math.floor(Fraction(f) * K) == n - 1
    code = encode(f, LAT, 10)
    assert decode(code).bounds[0] == f
    assert encode(float(Fraction(2 * n - 1, 2 * K)), LAT, 10) != code  # half a unit west: the previous cell
    below = float(Fraction(n, K) - Fraction(1, 2**8 * K))  # 2**-8 unit below: beyond the snap
    assert Fraction(below) * K < n - SNAP
    assert encode(below, LAT, 10) != code


def test_dms_edge_typed_as_float() -> None:
    # 116°18′45.25″ is a level-7 corner (Annex B λ7); typed as a float it must stay on that corner
    assert decode(encode(dms(116, 18, 45.25), dms(39, 59, 35.25), 10)).corner == pytest.approx(
        (dms(116, 18, 45.25), dms(39, 59, 35.25)), abs=1e-13
    )
    assert encode(dms(116, 18, 45.25), dms(39, 59, 35.25), 7) == "N50J47539B8255"


# --------------------------------------------------------------------------------------------------
# hierarchy and neighbours


def test_parent_and_children_counts() -> None:
    code = "N50J47539B8255346152"
    chain = [code]
    while len(chain[-1]) > 4:
        chain.append(parent(chain[-1]))
    assert chain[::-1] == [c for _, c in ANNEX_B]
    assert [len(children(c)) for c in ("N50J", "N50J47", "N50J475", "N50J47539", "N50J47539B8")] == [
        96, 6, 150, 225, 4,
    ]
    assert len(children("N50J47539B82")) == 64
    assert children("N50J47") == tuple(f"N50J47{d}" for d in range(6))
    assert children("N50J475")[:3] == ("N50J47500", "N50J47501", "N50J47502")
    assert children("N50J")[0] == "N50J00" and children("N50J")[-1] == "N50JB7"


def test_neighbours_inside_a_cell() -> None:
    assert neighbours("N50J47539B8") == (
        "N50J47539B9", "N50J47539C9", "N50J47539C8", "N50J47539C7",
        "N50J47539B7", "N50J47539A7", "N50J47539A8", "N50J47539A9",
    )


def test_neighbours_cross_parent_equator_and_meridians() -> None:
    assert neighbours("N31A") == ("N31B", "N32B", "N32A", "S32A", "S31A", "S30A", "N30A", "N30B")
    assert neighbours("N01A") == ("N01B", "N02B", "N02A", "S02A", "S01A", "S60A", "N60A", "N60B")
    # level 2 across the prime meridian: east of N30A00 (the W cell touching 0°) is N31A00
    assert shift("N30A00", 1, 0) == "N31A00"
    assert shift("N31A00", -1, 0) == "N30A00"
    assert shift("S31A00", 0, 1) == "N31A00"
    # level 10 across a level-1 boundary
    c = encode(6.0 - 1e-8, 4.0 - 1e-8, 10)
    assert c == "N31A" + "B7" + "5" + "E9" + "EE" + "3" + "77" * 4
    assert shift(c, 1, 1) == encode(6.0, 4.0, 10)


def test_neighbours_omit_polar_cells() -> None:
    assert neighbours("N60V") == ("N01V", "N01U", "N60U", "N59U", "N59V")
    assert len(neighbours("S45V")) == 5
    top = encode(10.0, 88.0 - 1e-9, 10)
    assert len(neighbours(top)) == 5


# --------------------------------------------------------------------------------------------------
# reference and short codes (§7, §8)

PLACES = {"求是塔": "N50J475491E", "办公楼": "N50J475492E", "东一门": "N50J475493E"}


def test_reference_vectors() -> None:
    assert encode_reference("N50J475493E", "N50J475492E") == "N50J475492E-10"
    assert decode_reference("N50J475492E-10") == "N50J475493E"
    assert encode_reference("N50J475493E", "N50J475491E") == "N50J475491E-20"
    assert encode_reference("N50J475491E", "N50J475493E") == "N50J475493E-B0"


def test_short_code_vectors() -> None:
    assert encode_short("N50J475493E", PLACES, name="求是塔") == "求是塔-20"
    assert encode_short("N50J475493E", PLACES, name="办公楼") == "办公楼-10"
    assert encode_short("N50J475491E", PLACES, name="东一门") == "东一门-B0"
    assert decode_short("求是塔-20", PLACES) == "N50J475493E"
    assert decode_short("办公楼-10", PLACES) == "N50J475493E"
    assert decode_short("东一门-B0", PLACES) == "N50J475491E"


def test_short_code_picks_nearest_place() -> None:
    assert encode_short("N50J475491E", {"求是塔": "N50J475491E", "东一门": "N50J475493E"}) == "求是塔-00"
    assert encode_short("N50J475493E", PLACES) == "东一门-00"


def test_short_code_names_with_hyphen_prefer_longest() -> None:
    assert decode_short("A-1-10", {"A-1": "N50J475491E", "A": "N50J475493E"}) == "N50J475492E"


def test_multi_level_reference_round_trip_all_hemispheres() -> None:
    for sx in (1, -1):
        for sy in (1, -1):
            target = encode(sx * LNG, sy * LAT, 10)
            ref = shift(target[:11], 3 * sx, -2 * sy)
            text = encode_reference(target, ref)
            assert text.count("-") == 6
            assert decode_reference(text) == target
    assert encode_reference("N50J475493E0", "N50J475491E") == "N50J475491E-20-00"


def test_reference_in_west_south_uses_geographic_letters() -> None:
    # in the western hemisphere the cell east of S11J47539B8 has the smaller mirrored index
    assert encode_reference(shift("S11J47539B8", 1, 1), "S11J47539B8") == "S11J47539B8-11"
    assert shift("S11J47539B8", 1, 1) == "S11J47539A7"
    # level 6 digit 2 = (column 0, row 1) → 0 east, 1 south; level 7 "55" → 5 west, 5 south
    assert encode_reference("S11J47539B8255", "S11J47539B8") == "S11J47539B8-00-0A-EE"
    assert decode_reference("S11J47539B8-00-0A-EE") == "S11J47539B8255"


# --------------------------------------------------------------------------------------------------
# properties (hypothesis)

signs = st.sampled_from([1.0, -1.0])
mag_lng = st.floats(0.0, 180.0, allow_nan=False)
mag_lat = st.floats(0.0, 88.0 - 1e-9, allow_nan=False)  # below 88° even after the snap
levels = st.integers(1, 10)


@st.composite
def points(draw: st.DrawFn) -> tuple[float, float]:
    return draw(signs) * draw(mag_lng), draw(signs) * draw(mag_lat)


@st.composite
def codes(draw: st.DrawFn, max_level: int = 10) -> str:
    lng, lat = draw(points())
    return encode(lng, lat, draw(st.integers(1, max_level)))


@settings(max_examples=300, deadline=None)
@given(points(), levels)
def test_matches_annex_b_oracle(p: tuple[float, float], level: int) -> None:
    lng, lat = p
    assume(abs(lng) < 180.0 and not near_snap(lng) and not near_snap(lat))
    assert encode(lng, lat, level) == oracle(lng, lat, level)


@pytest.mark.parametrize("sx", [1.0, -1.0])
@pytest.mark.parametrize("sy", [1.0, -1.0])
@settings(max_examples=60, deadline=None)
@given(mag_lng, mag_lat, levels)
def test_decoded_cell_contains_the_point(sx: float, sy: float, alng: float, alat: float, level: int) -> None:
    lng, lat = sx * alng, sy * alat
    cell = decode(encode(lng, lat, level))
    assert cell.level == level and cell.code[0] == ("N" if lat >= 0 else "S")
    assert cell.contains(lng, lat)
    # exact check in mirrored units: corner ≤ point < corner + size (snap tolerance below the corner)
    w, s, e, n = (units(b) for b in cell.bounds)
    mx, my = abs(units(cell.corner[0])), abs(units(cell.corner[1]))
    ux, uy = abs(Fraction(lng)) * K, abs(Fraction(lat)) * K
    assert mx - SNAP <= ux <= mx + (e - w)
    assert my - SNAP <= uy < my + (n - s)
    if abs(lng) < 180.0:
        assert ux < mx + (e - w)
    # the corner is the cell's origin-nearest corner
    assert mx == min(abs(w), abs(e)) and my == min(abs(s), abs(n))


@settings(max_examples=80, deadline=None)
@given(codes(max_level=9))
def test_children_tile_the_parent(code: str) -> None:
    w, s, e, n = (units(b) for b in decode(code).bounds)
    kids = children(code)
    rects = [tuple(units(b) for b in decode(k).bounds) for k in kids]
    cw, ch = rects[0][2] - rects[0][0], rects[0][3] - rects[0][1]
    ni, nj = (e - w) // cw, (n - s) // ch
    assert ni * cw == e - w and nj * ch == n - s
    assert len(kids) == len(set(kids)) == ni * nj
    assert all(r[2] - r[0] == cw and r[3] - r[1] == ch for r in rects)
    # the lower-left corners are exactly the ni × nj lattice: no gap, no overlap
    assert {(r[0], r[1]) for r in rects} == {(w + a * cw, s + b * ch) for a in range(ni) for b in range(nj)}
    assert all(parent(k) == code for k in kids)


@settings(max_examples=150, deadline=None)
@given(codes())
def test_edges_fall_in_the_origin_nearest_cell(code: str) -> None:
    cell = decode(code)
    lv = cell.level
    cx, cy = cell.corner
    mid_x, mid_y = cell.center
    # The 定位角点 and the origin-side edges belong to the cell (floats are snapped back onto the edge),
    # except on the equator / prime meridian themselves, which belong to N / E by decision.
    on_equator, on_meridian = code[0] == "S" and cy == 0.0, code[1:3] <= "30" and cx == 0.0
    if not (on_equator or on_meridian):
        assert encode(cx, cy, lv) == code
    if not on_meridian:
        assert encode(cx, mid_y, lv) == code
    if not on_equator:
        assert encode(mid_x, cy, lv) == code
    w, s, e, n = cell.bounds
    far_x = e if code[1:3] >= "31" else w
    far_y = n if code[0] == "N" else s
    east_step = 1 if code[1:3] >= "31" else -1
    north_step = 1 if code[0] == "N" else -1
    if abs(far_x) < 180.0:
        assert encode(far_x, mid_y, lv) == shift(code, east_step, 0)
    if abs(far_y) < 88.0:
        assert encode(mid_x, far_y, lv) == shift(code, 0, north_step)


@settings(max_examples=100, deadline=None)
@given(codes())
def test_neighbours_touch_the_cell(code: str) -> None:
    cell = decode(code)
    w, s, e, n = (units(b) for b in cell.bounds)
    cw, ch = e - w, n - s
    around = neighbours(code)
    assert code not in around and len(set(around)) == len(around)
    assert 5 <= len(around) <= 8
    assert len(around) == 8 or n == 88 * K or s == -88 * K
    steps = set()
    for nb in around:
        other = decode(nb)
        assert other.level == cell.level
        ow, os_, _, _ = (units(b) for b in other.bounds)
        step_x = {0: 0, cw: 1, 360 * K - cw: -1}[(ow - w) % (360 * K)]  # wraps at ±180°
        step_y = {0: 0, ch: 1, -ch: -1}[os_ - s]
        steps.add((step_x, step_y))
        assert shift(code, step_x, step_y) == nb
    assert (0, 0) not in steps and len(steps) == len(around)


CODE_LEN = {5: 11, 6: 12, 7: 14, 8: 16, 9: 18, 10: 20}


@settings(max_examples=150, deadline=None)
@given(points(), st.integers(5, 10), st.integers(5, 10), st.integers(-7, 7), st.integers(-7, 7))
def test_reference_round_trip(p: tuple[float, float], lv: int, ref_lv: int, ex: int, ny: int) -> None:
    assume(ref_lv <= lv)
    code = encode(p[0], p[1], lv)
    try:
        ref = shift(code[: CODE_LEN[ref_lv]], ex, ny)
    except InvalidInputError:  # shifted into a polar cap
        assume(False)
        return
    text = encode_reference(code, ref)
    assert text.count("-") == 1 + lv - ref_lv
    assert decode_reference(text) == code
    assert decode_short("地标" + text[text.index("-"):], {"地标": ref}) == code


@settings(max_examples=60, deadline=None)
@given(st.lists(points(), min_size=0, max_size=200), levels)
def test_batch_equals_scalar(pts: list[tuple[float, float]], level: int) -> None:
    lngs = np.array([p[0] for p in pts], dtype=np.float64)
    lats = np.array([p[1] for p in pts], dtype=np.float64)
    got = encode_many(lngs, lats, level)
    assert got.shape == lngs.shape
    assert list(got) == [encode(a, b, level) for a, b in pts]


def test_batch_equals_scalar_on_edges_and_near_edges() -> None:
    rng = np.random.default_rng(7)
    lng = rng.uniform(-180, 180, 3000)
    lat = rng.uniform(-88, 88, 3000)
    lat = lat[np.abs(lat) < 87.9]
    lng = lng[: lat.size]
    corners = np.array([decode(encode(a, b, 10)).corner for a, b in zip(lng, lat, strict=True)])
    cx, cy = corners[:, 0], corners[:, 1]
    pts_x = np.concatenate(
        [cx, np.nextafter(cx, 0), np.nextafter(cx, 200), cx - 1e-12, cx + 1e-12, [180, -180, 0]]
    )
    pts_y = np.concatenate([cy, np.nextafter(cy, 0), np.nextafter(cy, 100), cy, cy, [0.0, -0.0, -0.0]])
    for level in (1, 3, 5, 6, 9, 10):
        got = encode_many(pts_x, pts_y, level)
        assert list(got) == [encode(a, b, level) for a, b in zip(pts_x.tolist(), pts_y.tolist(), strict=True)]


def test_batch_keeps_shape_and_accepts_lists() -> None:
    got = encode_many([[LNG, -LNG], [LNG, -LNG]], [[LAT, LAT], [-LAT, -LAT]], 10)
    assert got.shape == (2, 2)
    assert got.tolist() == [
        ["N50J47539B8255346152", "N11J47539B8255346152"],
        ["S50J47539B8255346152", "S11J47539B8255346152"],
    ]
    assert encode_many([], [], 4).shape == (0,)


def test_batch_larger_than_one_chunk() -> None:
    rng = np.random.default_rng(3)
    n = 70_000
    lng, lat = rng.uniform(73, 135, n), rng.uniform(18, 54, n)
    got = encode_many(lng, lat, 10)
    sample = rng.integers(0, n, 500)
    assert [got[i] for i in sample] == [encode(float(lng[i]), float(lat[i]), 10) for i in sample]


# --------------------------------------------------------------------------------------------------
# errors


def issue(exc: pytest.ExceptionInfo[InvalidInputError]) -> tuple[str, str, object]:
    (i,) = exc.value.issues
    return i.field, i.reason, i.record


@pytest.mark.parametrize("lat", [88.0, -88.0, 89.5, 90.0, 87.99999999999999])
def test_polar_caps_rejected(lat: float) -> None:
    with pytest.raises(InvalidInputError) as exc:
        encode(10.0, lat, 5)
    field, reason, _ = issue(exc)
    assert field == "lat" and "§5.3 are not implemented" in reason


@pytest.mark.parametrize(
    ("lng", "lat", "field", "text"),
    [
        (180.0001, 10.0, "lng", "outside −180…180"),
        (-181.0, 10.0, "lng", "outside −180…180"),
        (10.0, 90.5, "lat", "outside −90…90"),
        (10.0, -91.0, "lat", "outside −90…90"),
        (math.nan, 10.0, "lng", "NaN"),
        (10.0, math.nan, "lat", "NaN"),
        (math.inf, 10.0, "lng", "outside"),
        (10.0, -math.inf, "lat", "outside"),
        ("116", 10.0, "lng", "must be a number"),
        (10.0, None, "lat", "must be a number"),
        (True, 10.0, "lng", "must be a number"),
    ],
)
def test_bad_points(lng: object, lat: object, field: str, text: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        encode(lng, lat, 5)  # type: ignore[arg-type]
    f, reason, _ = issue(exc)
    assert f == field and text in reason


@pytest.mark.parametrize("level", [0, 11, -1, 2.0, True, "5", None])
def test_bad_levels(level: object) -> None:
    with pytest.raises(InvalidInputError) as exc:
        encode(LNG, LAT, level)  # type: ignore[arg-type]
    assert issue(exc)[0] == "level"
    with pytest.raises(InvalidInputError):
        encode_many([LNG], [LAT], level)  # type: ignore[arg-type]


def test_numpy_integer_level_is_fine() -> None:
    assert encode(LNG, LAT, np.int64(4)) == "N50J47539"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("", "empty"),
        ("X50J", "character 'X' at position 1 is not a valid hemisphere letter"),
        ("N70J", "position 2"),
        ("N61J", "column '61' at positions 2–3 is outside 01–60"),
        ("N00J", "column '00'"),
        ("N000", "§5.3 are not implemented"),
        ("N50W", "character 'W' at position 4 is not a valid level-1 row letter"),
        ("N50JC0", "position 5 is not a valid level-2 longitude index (0–B"),
        ("N50J08", "position 6 is not a valid level-2 latitude index (0–7"),
        ("N50J476", "position 7 is not a valid level-3 Z-order digit (0–5"),
        ("N50J475F0", "position 8 is not a valid level-4 longitude index (0–E"),
        ("N50J4750A", "position 9 is not a valid level-4 latitude index (0–9"),
        ("N50J47500F0", "position 10 is not a valid level-5 longitude index"),
        ("N50J475000F", "position 11 is not a valid level-5 latitude index"),
        ("N50J47500004", "position 12 is not a valid level-6 Z-order digit (0–3"),
        ("N50J475000008", "position 13 is not a valid level-7 longitude index (0–7"),
        ("N50J47539B8255346158", "position 20 is not a valid level-10 latitude index"),
        ("N50J4", "5 characters and ends inside level 2 (positions 5–6)"),
        ("N5", "ends inside level 1"),
        ("N", "ends inside level 1"),
        ("N50J47539B82553461520", "unexpected character '0' at position 21"),
        ("N50J 47", "character ' ' at position 5"),
        ("Nß0J", "character 'ß' at position 2"),
        ("n50j4g", "character 'g' at position 6 is not a valid level-2 latitude index"),
    ],
)
def test_malformed_codes(code: str, text: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        decode(code)
    field, reason, _ = issue(exc)
    assert field == "code"
    assert text in reason


def test_non_string_code() -> None:
    with pytest.raises(InvalidInputError, match="must be a string"):
        decode(12345)  # type: ignore[arg-type]


def test_hierarchy_errors() -> None:
    with pytest.raises(InvalidInputError, match="level-1 cell"):
        parent("N50J")
    with pytest.raises(InvalidInputError, match="finest level"):
        children("N50J47539B8255346152")
    with pytest.raises(InvalidInputError, match="polar cap"):
        shift("N50V", 0, 1)


def test_reference_errors() -> None:
    with pytest.raises(InvalidInputError, match="level 5 or finer"):
        encode_reference("N50J475493E", "N50J47539")
    with pytest.raises(InvalidInputError, match="coarser than the reference"):
        encode_reference("N50J47539", "N50J475491E")
    with pytest.raises(InvalidInputError, match="at most 7 cells"):
        encode_reference(shift("N50J475491E", 8, 0), "N50J475491E")
    with pytest.raises(InvalidInputError, match="'H' at position 1 of segment 1"):
        decode_reference("N50J475491E-H0")
    with pytest.raises(InvalidInputError, match="must have 2 characters"):
        decode_reference("N50J475491E-100")
    with pytest.raises(InvalidInputError, match="expected 'C0-MN'"):
        decode_reference("N50J475491E")
    with pytest.raises(InvalidInputError, match="level 5 or finer"):
        decode_reference("N50J47-10")
    with pytest.raises(InvalidInputError, match="segment 1 '' must have 2 characters"):
        decode_reference("N50J475491E-")
    with pytest.raises(InvalidInputError, match="lies outside the level-5 cell"):
        decode_reference("N50J475491E-10-20")  # level 6 has only 2 × 2 sub-cells
    with pytest.raises(InvalidInputError, match="lies outside the level-5 cell"):
        decode_reference("S11J475491E-10-10")  # in the west, east-pointing sub-cells leave the cell
    with pytest.raises(InvalidInputError, match="beyond level 10"):
        decode_reference("N50J47539B825534-00-00-00-00")
    with pytest.raises(InvalidInputError, match="polar cap"):
        decode_reference(encode(10, 88 - 1e-9, 5) + "-01")


def test_short_code_errors() -> None:
    with pytest.raises(InvalidInputError, match="not in the place-name table"):
        decode_short("图书馆-10", PLACES)
    with pytest.raises(InvalidInputError, match="not in the place-name table"):
        encode_short("N50J475493E", PLACES, name="图书馆")
    with pytest.raises(InvalidInputError, match="no place in the table"):
        encode_short("N50J475493E", {"远处": "N51J475493E"})
    with pytest.raises(InvalidInputError, match="at most 7 cells"):
        encode_short("N50J475493E", {"远处": "N51J475493E"}, name="远处")
    # "楼-10-01" would read back through the longer name "楼-10"
    clash = {"楼": "N50J475491E", "楼-10": "N50J475493E"}
    with pytest.raises(InvalidInputError, match="reads back through a longer place name"):
        encode_short("N50J475492E0", clash, name="楼")
    assert encode_short("N50J475492E0", clash) == "楼-10-A0-00"
    assert decode_short("楼-10-A0-00", clash) == "N50J475492E0"
    with pytest.raises(InvalidInputError, match="expected 'place-MN'"):
        decode_short("求是塔", PLACES)


def test_batch_reports_first_bad_record() -> None:
    lng = np.array([LNG, LNG, LNG, np.nan, LNG, LNG])
    lat = np.array([LAT, LAT, LAT, LAT, LAT, 89.0])
    with pytest.raises(InvalidInputError) as exc:
        encode_many(lng, lat, 10)
    field, reason, record = issue(exc)
    assert (field, record) == ("lng", 3) and "NaN" in reason
    lat[1] = 87.99999999999999  # snaps onto 88°: polar, and it comes first
    with pytest.raises(InvalidInputError) as exc:
        encode_many(lng, lat, 10)
    assert issue(exc)[2] == 1 and "§5.3" in issue(exc)[1]


def test_batch_reports_record_in_later_chunk() -> None:
    lng = np.full(70_000, LNG)
    lat = np.full(70_000, LAT)
    lng[66_000] = 200.0
    with pytest.raises(InvalidInputError) as exc:
        encode_many(lng, lat, 10)
    assert issue(exc)[0::2] == ("lng", 66_000)


def test_batch_accepts_integer_arrays_and_number_objects() -> None:
    assert encode_many(np.array([116]), np.array([39]), 2).tolist() == [encode(116, 39, 2)]
    assert encode_many(np.array([Fraction(1, 2)], dtype=object), [0.5], 3).tolist() == [encode(0.5, 0.5, 3)]


def test_batch_input_errors() -> None:
    with pytest.raises(InvalidInputError, match="shape"):
        encode_many([1.0, 2.0], [1.0], 5)
    with pytest.raises(InvalidInputError) as exc:
        encode_many([1.0, "x", 3.0], [1.0, 2.0, 3.0], 5)  # type: ignore[arg-type]
    assert issue(exc)[0::2] == ("lngs", 1)
    with pytest.raises(InvalidInputError) as exc:
        encode_many([1.0, 2.0], np.array([1.0, None], dtype=object), 5)
    assert issue(exc)[0::2] == ("lats", 1)
    with pytest.raises(InvalidInputError, match="must be a number, got True"):
        encode_many(np.array([True]), [1.0], 5)
    with pytest.raises(InvalidInputError, match="not a regular array"):
        encode_many([[1.0], [1.0, 2.0]], [1.0], 5)
