"""GB/T 39409-2020 Annex C: BeiDou 3D codes (height layers, sign-magnitude, interleaving)."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from citybase.kernel.errors import InvalidInputError
from citybase.standards.beidou import decode, encode
from citybase.standards.beidou3d import (
    EARTH_RADIUS,
    LAYER_MAX,
    decode3d,
    encode3d,
    height_layer,
    layer_bottom,
)

LNG = 116 + 18 / 60 + 45.37 / 3600
LAT = 39 + 59 / 60 + 35.38 / 3600
LEN_3D = [7, 10, 12, 15, 18, 20, 23, 26, 29, 32]
# 1-based positions of the height digits a0..a11 in a level-10 3D code
HEIGHT_POS = [2, 6, 7, 10, 12, 15, 18, 20, 23, 26, 29, 32]

PI = Decimal("3.14159265358979323846264338327950288419716939937510")


def exact_layer(h: float) -> Decimal:
    """(θ0/θ)·ln((H + r0)/r0)/ln(1 + θ0) with 50 digits, as an independent check of the float path."""
    with localcontext() as ctx:
        ctx.prec = 50
        r0 = Decimal(EARTH_RADIUS)
        return 7372800 * ((Decimal(h) + r0) / r0).ln() / (1 + PI / 180).ln()


def height_digits(code: str) -> str:
    return "".join(code[p - 1] for p in HEIGHT_POS)


# --------------------------------------------------------------------------------------------------
# derived vectors (STANDARDS.md §1.4)

HEIGHTS = [
    (0.0, 0, "000000000000", 0.0, 0.015),
    (1.0, 66, "000000000102", 0.9879, 1.0029),
    (50.0, 3340, "000000006414", 49.9947, 50.0097),
    (1000.0, 66802, "000000802362", 999.9991, 1000.0141),
    (25125.0, 1675235, "00000CC07743", 25124.9862, 25125.0012),
    (-10.0, -669, "100000001235", -10.0139, -9.9989),
]


@pytest.mark.parametrize(("h", "n", "digits", "bottom", "top"), HEIGHTS)
def test_derived_height_vectors(h: float, n: int, digits: str, bottom: float, top: float) -> None:
    assert height_layer(h) == n
    code = encode3d(LNG, LAT, h, 10)
    assert height_digits(code) == digits
    cell = decode3d(code)
    assert cell.layers == (n, n)
    assert cell.bottom == pytest.approx(bottom, abs=1e-4)
    assert cell.top == pytest.approx(top, abs=1e-4)
    assert cell.bottom <= h < cell.top


def test_full_3d_strings_for_annex_b_point() -> None:
    assert encode3d(LNG, LAT, 50.0, 10) == "N050J0047050390B8020556344611524"
    assert encode3d(LNG, LAT, 0.0, 10) == "N050J0047050390B8020550340610520"


def test_table_1_3d_example() -> None:
    code = "N036J0093000780B3010010520430140"
    cell = decode3d(code)
    assert cell.level == 10 and cell.code == code
    assert cell.cell == decode("N36J93078B3101524314")
    assert (cell.bottom, cell.layers) == (0.0, (0, 0))
    assert encode3d(*cell.cell.center, 0.0, 10) == code


def test_lengths_and_interleaving_per_level() -> None:
    for level in range(1, 11):
        code = encode3d(LNG, LAT, 50.0, level)
        assert len(code) == LEN_3D[level - 1]
        assert code == "N050J0047050390B8020556344611524"[: len(code)]
        cell = decode3d(code)
        assert cell.level == level
        assert cell.cell.code == encode(LNG, LAT, level)
        assert cell.bottom <= 50.0 < cell.top


def test_range_of_c2() -> None:
    assert layer_bottom(-LAYER_MAX) / 1000 == pytest.approx(-6302.107, abs=1e-3)
    assert layer_bottom(LAYER_MAX) / 1000 == pytest.approx(528680.171, abs=1e-3)
    assert height_layer(layer_bottom(-LAYER_MAX)) == -LAYER_MAX
    assert height_layer(math.nextafter(layer_bottom(LAYER_MAX), 0)) == LAYER_MAX - 1


def test_geovis_3d_is_not_an_oracle_but_its_bottom_agrees() -> None:
    # iBEST-DB ST_asBGC3D(116.31260277777778, 39.993161111111114, 25125, 8) prints
    # N050J004705039DB8920557347; Annex C gives different height digits (§8 item 4) ...
    ours = encode3d(116.31260277777778, 39.993161111111114, 25125.0, 8)
    assert ours == "N050J004705039CB8C20557347"
    assert ours != "N050J004705039DB8920557347"
    # ... but its ST_BGC3D2Box lower height 25124.4602 m is the C.12 bottom of our level-8 cell
    assert decode3d(ours).bottom == pytest.approx(25124.4602, abs=1e-4)


def test_f_digits_in_a5_a6() -> None:
    n = (15 << 17) | (15 << 13)
    code = encode3d(LNG, LAT, layer_bottom(n), 10)
    assert code[14] == "F" and code[17] == "F"
    assert decode3d(code).layers == (n, n)


def test_negative_heights_are_sign_magnitude() -> None:
    assert height_layer(-1e-9) == -1
    code = encode3d(LNG, LAT, -1e-9, 10)
    assert height_digits(code) == "100000000001"
    assert decode3d(code).top == 0.0
    # a coarse negative cell with magnitude prefix 0 reaches from -(2**k - 1) up to the ellipsoid
    coarse = encode3d(LNG, LAT, -10.0, 1)
    assert coarse == "N150J00"
    cell = decode3d(coarse)
    assert cell.layers == (-(2**25 - 1), -1)
    assert cell.top == 0.0 and cell.bottom < -10.0
    lvl9 = decode3d(encode3d(LNG, LAT, -0.05, 9))
    assert lvl9.layers == (-7, -1)


def test_heights_just_below_layer_boundaries() -> None:
    for n in (1, 66, 3340, 66802, 1675235, -669, -1, LAYER_MAX - 1, -LAYER_MAX + 1):
        b = layer_bottom(n)
        assert height_layer(b) == n
        assert height_layer(math.nextafter(b, -math.inf)) == n - 1


# --------------------------------------------------------------------------------------------------
# properties

heights = st.one_of(
    st.floats(-6_302_000.0, 528_680_000.0, allow_nan=False),
    st.floats(-200.0, 10_000.0, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(heights)
def test_layer_matches_high_precision_formula(h: float) -> None:
    x = exact_layer(h)
    assume(abs(x - x.to_integral_value()) > Decimal("1e-6"))  # away from a layer boundary
    assert height_layer(h) == math.floor(x)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-180.0, 180.0, allow_nan=False),
    st.floats(-87.9, 87.9, allow_nan=False),
    heights,
    st.integers(1, 10),
)
def test_decode3d_contains_and_bottom_round_trips(lng: float, lat: float, h: float, level: int) -> None:
    code = encode3d(lng, lat, h, level)
    cell = decode3d(code)
    assert cell.cell.code == encode(lng, lat, level)
    assert cell.bottom <= h < cell.top
    assert cell.layers[0] <= height_layer(h) <= cell.layers[1]
    # the bottom is the 定位角点 in height: it encodes back to the same 3D cell
    assert encode3d(lng, lat, cell.bottom, level) == code
    assert decode3d(code.lower()).code == code


# --------------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("h", "text"),
    [
        (math.nan, "height NaN"),
        (math.inf, "outside the range"),
        (-6_400_000.0, "outside the range"),
        (-EARTH_RADIUS, "outside the range"),
        (6e8, "outside the range"),
        ("50", "must be a number"),
        (True, "must be a number"),
    ],
)
def test_bad_heights(h: object, text: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        encode3d(LNG, LAT, h, 10)  # type: ignore[arg-type]
    (issue,) = exc.value.issues
    assert issue.field == "height" and text in issue.reason


def test_bad_point_and_level_in_3d() -> None:
    with pytest.raises(InvalidInputError, match=r"§5\.3"):
        encode3d(LNG, 88.5, 0.0, 5)
    with pytest.raises(InvalidInputError, match="level must be 1–10"):
        encode3d(LNG, LAT, 0.0, 11)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("N250J00", "character '2' at position 2 is not a valid height sign digit a0"),
        ("N050J64", "level-1 height digits '64' at positions 6–7 are outside 00–63"),
        ("N070J00", "character '7' at position 3 is not a valid level-1 column"),
        ("N061J00", "column '61' at positions 3–4 is outside 01–60"),
        ("N050J0047850", "position 10 is not a valid level-2 height digit a3"),
        ("N050J004705", "ends inside level 3"),
        ("N050J0047052", "position 12 is not a valid level-3 height digit a4"),
        ("N050J00C7050", "position 8 is not a valid level-2 longitude index"),
        ("N050J0047050390B8020556344611524", ""),  # valid; control case
        ("N050J0047050390B80205563446115240", "unexpected character '0' at position 33"),
        ("N150J0047050390B8020550340610520", "negative zero"),
        ("", "empty"),
    ],
)
def test_malformed_3d_codes(code: str, text: str) -> None:
    if not text:
        assert decode3d(code).code == code
        return
    with pytest.raises(InvalidInputError) as exc:
        decode3d(code)
    (issue,) = exc.value.issues
    assert issue.field == "code" and text in issue.reason


@pytest.mark.parametrize("level", range(1, 11))
def test_cells_at_the_edge_of_the_height_range_stop_at_the_range(level: int) -> None:
    # Found by hypothesis: a coarse cell below -6302 km reached past C.2's range, so its bottom
    # could not be encoded again. The usable part of such a cell ends at the range.
    from citybase.standards.beidou3d import LAYER_MAX, layer_bottom

    for h in (layer_bottom(-LAYER_MAX) + 1e-3, layer_bottom(LAYER_MAX) - 1e-3):
        code = encode3d(112.0, 32.0, h, level)
        cell = decode3d(code)
        assert cell.bottom <= h < cell.top
        assert encode3d(112.0, 32.0, cell.bottom, level) == code
        assert -LAYER_MAX <= cell.layers[0] <= cell.layers[1] <= LAYER_MAX - 1
