"""Coordinate systems: naming, conversion to and from CGCS2000, GCJ-02 / BD-09, detection (kernel/crs.py).

Reference vectors for GCJ-02 / BD-09 come from the test files of public implementations (cited at each
one); Gauss-Krüger results are cross-checked against an independent textbook series below, Web Mercator
against its closed formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from citybase.kernel import chinacoords
from citybase.kernel.crs import (
    ACCEPTED_NAMES,
    BD09,
    CGCS2000,
    CRS,
    CRS84,
    GCJ02,
    GK_ZONES,
    REGISTRY,
    WEB_MERCATOR,
    WGS84,
    _detection_tests,
    detect_crs,
    from_cgcs2000,
    gk_crs,
    gk_prefix_zone,
    gk_zone_for,
    parse_crs,
    to_cgcs2000,
    transform_coords,
    transform_geometry,
)
from citybase.kernel.errors import InvalidInputError

DEG_TOL = 1e-9  # ≈ 0.1 mm: every round trip here must come back this close
RNG = np.random.default_rng(20240601)
XIANGYANG = (RNG.uniform(110.8, 113.7, 400), RNG.uniform(31.25, 32.6, 400))
CHINA = (RNG.uniform(73.5, 134.5, 2000), RNG.uniform(18.2, 53.5, 2000))
UNPREFIXED_HINT = (
    "Gauss-Krüger coordinates without a zone prefix: name the zone, e.g. --crs EPSG:4546 (CGCS2000 3-degree GK CM 111E)"
)


def metres(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> float:
    """Largest distance between paired points (local equirectangular; fine at sub-kilometre scale)."""
    dy = np.radians(np.asarray(lat2) - lat1) * 6_371_000.0
    dx = np.radians(np.asarray(lon2) - lon1) * 6_371_000.0 * np.cos(np.radians(lat1))
    return float(np.max(np.hypot(dx, dy)))


# --- naming ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("EPSG:4490", "EPSG:4490"),
        ("4490", "EPSG:4490"),
        ("epsg:4490", "EPSG:4490"),
        ("EPSG::4490", "EPSG:4490"),
        ("CGCS2000", "EPSG:4490"),
        ("cgcs 2000", "EPSG:4490"),
        ("China Geodetic Coordinate System 2000", "EPSG:4490"),
        ("国家2000", "EPSG:4490"),
        ("urn:ogc:def:crs:EPSG::4490", "EPSG:4490"),
        ("urn:ogc:def:crs:EPSG:9.8.15:4490", "EPSG:4490"),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", "EPSG:4490"),
        ("https://www.opengis.net/def/crs/EPSG/0/4547", "EPSG:4547"),
        ("WGS84", "EPSG:4326"),
        ("WGS 84", "EPSG:4326"),
        ("wgs-84", "EPSG:4326"),
        ("EPSG:4326", "EPSG:4326"),
        ("CRS84", "OGC:CRS84"),
        ("OGC:CRS84", "OGC:CRS84"),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84"),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", "OGC:CRS84"),
        ("+proj=longlat +datum=WGS84 +no_defs", "OGC:CRS84"),
        ("EPSG:3857", "EPSG:3857"),
        ("3857", "EPSG:3857"),
        ("Web Mercator", "EPSG:3857"),
        ("EPSG:900913", "EPSG:3857"),
        ("ESRI:102100", "EPSG:3857"),
        ("GCJ02", "GCJ-02"),
        ("gcj-02", "GCJ-02"),
        ("GCJ 02", "GCJ-02"),
        ("火星坐标", "GCJ-02"),
        ("AMap", "GCJ-02"),
        ("BD09", "BD-09"),
        ("bd-09", "BD-09"),
        ("BD09LL", "BD-09"),
        ("百度", "BD-09"),
        ("CGCS2000_3_Degree_GK_Zone_38", "EPSG:4526"),
        ("CGCS2000_3_Degree_GK_Zone_37", "EPSG:4525"),
        ("CGCS2000 / 3-degree Gauss-Kruger zone 38", "EPSG:4526"),
        ("CGCS2000 / 3-degree Gauss-Kruger CM 114E", "EPSG:4547"),
        ("CGCS2000 / 3-degree Gauss-Krüger CM 111E", "EPSG:4546"),
        ("CGCS2000_3_Degree_GK_CM_111E", "EPSG:4546"),
        ("cgcs2000 gk cm 114", "EPSG:4547"),
        ("EPSG:4513", "EPSG:4513"),
        ("EPSG:4554", "EPSG:4554"),
        ("  EPSG:4547\n", "EPSG:4547"),
    ],
)
def test_parse_crs_accepts_every_naming_form(text: str, name: str) -> None:
    assert parse_crs(text).name == name


def test_parse_crs_reads_wkt_and_proj_strings() -> None:
    for code in (4490, 4526, 4547, 3857):
        for version in ("WKT1_ESRI", "WKT1_GDAL", "WKT2_2019"):
            assert parse_crs(pyproj.CRS.from_epsg(code).to_wkt(version)) is REGISTRY[f"EPSG:{code}"]
    assert parse_crs(pyproj.CRS.from_epsg(4547).to_json()) is REGISTRY["EPSG:4547"]
    utm = parse_crs("EPSG:32649")  # another EPSG code on WGS 84: accepted through pyproj
    assert (utm.name, utm.kind, utm.axis_order) == ("EPSG:32649", "projected", "east,north")
    local = parse_crs("+proj=tmerc +lat_0=0 +lon_0=112 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs")
    assert (local.name, local.kind) == ("custom", "projected")  # a city's own central meridian


def test_parse_crs_returns_registry_objects_with_properties() -> None:
    assert parse_crs(4490) is CGCS2000 and parse_crs(CGCS2000) is CGCS2000
    assert (CGCS2000.epsg, CGCS2000.uri) == (4490, "http://www.opengis.net/def/crs/EPSG/0/4490")
    assert CRS84.uri == "http://www.opengis.net/def/crs/OGC/1.3/CRS84" and CRS84.epsg is None
    assert GCJ02.uri is None and GCJ02.kind == "offset" and str(BD09) == "BD-09"
    assert WGS84.axis_order == "lat,lon" and CRS84.axis_order == "lon,lat"
    for c in REGISTRY.values():
        assert parse_crs(c.name) is c
        for alias in c.aliases:
            assert parse_crs(alias) is c, alias
        if c.definition:
            assert c.to_pyproj().to_authority() == tuple(c.name.split(":"))
    with pytest.raises(InvalidInputError, match="offset"):
        GCJ02.to_pyproj()


def test_every_gauss_kruger_zone_has_both_forms_with_the_right_parameters() -> None:
    assert len([c for c in REGISTRY.values() if c.is_gauss_kruger]) == 42
    for zone in GK_ZONES:
        cm = zone * 3
        with_prefix, plain = gk_crs(zone, prefixed=True), gk_crs(zone, prefixed=False)
        assert (with_prefix.epsg, plain.epsg) == (4513 + zone - 25, 4534 + zone - 25)
        assert parse_crs(f"CGCS2000_3_Degree_GK_Zone_{zone}") is with_prefix
        assert parse_crs(f"CGCS2000_3_Degree_GK_CM_{cm}E") is plain
        for crs, false_easting in ((with_prefix, zone * 1_000_000 + 500_000), (plain, 500_000)):
            pc = crs.to_pyproj()
            assert pc.coordinate_operation is not None and pc.datum is not None
            params = {p.name: p.value for p in pc.coordinate_operation.params}
            assert params["Longitude of natural origin"] == cm == crs.central_meridian
            assert params["False easting"] == false_easting and params["Scale factor at natural origin"] == 1
            assert pc.datum.name == "China 2000"
    with pytest.raises(InvalidInputError, match="25–45"):
        gk_crs(24, prefixed=True)


@pytest.mark.parametrize(
    "text", ["", "foo", "EPSG:99999999", "CGCS2000_3_Degree_GK_Zone_24", "GK CM 113E", "EPSG:4978"]
)
def test_unknown_names_list_the_accepted_ones(text: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_crs(text)
    assert "accepted: " + ACCEPTED_NAMES in err.value.issues[0].reason
    assert err.value.issues[0].field == "crs"


@pytest.mark.parametrize(
    "text", ["EPSG:2383", "Xian 1980", "EPSG:4214", "+proj=tmerc +lon_0=114 +ellps=krass +towgs84=15,-154,-82"]
)
def test_other_datums_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(InvalidInputError, match="will not guess"):
        parse_crs(text)


# --- Gauss-Krüger -------------------------------------------------------------------------------------


def gauss_kruger_series(lon: float, lat: float, cm: float) -> tuple[float, float]:
    """Independent Gauss-Krüger forward projection on the CGCS2000 ellipsoid (textbook series, < 1 mm here).

    Meridian arc by 64-point Gauss-Legendre quadrature; easting and northing from the classic series in
    l·cos B up to the 6th order (Chinese geodesy textbooks; Snyder 1987, eq. 8-9 and 8-10 with k0 = 1).
    """
    a, f = 6378137.0, 1 / 298.257222101
    e2 = f * (2 - f)
    ep2 = e2 / (1 - e2)
    b = math.radians(lat)
    nodes, weights = np.polynomial.legendre.leggauss(64)
    phi = (nodes + 1) * b / 2
    arc = float(np.sum(weights * a * (1 - e2) / (1 - e2 * np.sin(phi) ** 2) ** 1.5) * b / 2)
    t, eta2 = math.tan(b), ep2 * math.cos(b) ** 2
    n = a / math.sqrt(1 - e2 * math.sin(b) ** 2)
    lc = math.radians(lon - cm) * math.cos(b)
    north = arc + n * t * (
        lc**2 / 2 + (5 - t**2 + 9 * eta2 + 4 * eta2**2) * lc**4 / 24 + (61 - 58 * t**2 + t**4) * lc**6 / 720
    )
    east = n * (
        lc + (1 - t**2 + eta2) * lc**3 / 6 + (5 - 18 * t**2 + t**4 + 14 * eta2 - 58 * eta2 * t**2) * lc**5 / 120
    )
    return east + 500_000.0, north


@pytest.mark.parametrize(
    ("epsg", "easting", "northing"),
    [  # lon 112.14, lat 32.04 (Xiangyang): zone 37 (CM 111E) is its own zone, zone 38 (CM 114E) the neighbour
        (4525, 37_607_678.519, 3_546_856.264),
        (4546, 607_678.519, 3_546_856.264),
        (4526, 38_324_305.508, 3_547_801.157),
        (4547, 324_305.508, 3_547_801.157),
    ],
)
def test_gauss_kruger_known_point_against_pyproj_and_an_independent_series(
    epsg: int, easting: float, northing: float
) -> None:
    crs = parse_crs(f"EPSG:{epsg}")
    x, y = from_cgcs2000(112.14, 32.04, crs)
    assert float(x) == pytest.approx(easting, abs=1e-3) and float(y) == pytest.approx(northing, abs=1e-3)
    e, n = gauss_kruger_series(112.14, 32.04, crs.central_meridian or 0.0)
    prefix = (crs.zone or 0) * 1_000_000 if crs.zone_prefix else 0
    assert e + prefix == pytest.approx(easting, abs=1e-3) and n == pytest.approx(northing, abs=1e-3)
    lon, lat = to_cgcs2000(easting, northing, crs)  # the expected values are rounded to 1 mm
    assert abs(float(lon) - 112.14) < 2e-8 and abs(float(lat) - 32.04) < 2e-8
    direct = pyproj.Transformer.from_crs(4490, epsg)  # authority axis order: lat, lon -> northing, easting
    assert direct.transform(32.04, 112.14) == pytest.approx((northing, easting), abs=1e-3)


def test_gauss_kruger_series_agrees_across_xiangyang() -> None:
    for lon, lat in zip(*(v[:40] for v in XIANGYANG), strict=True):
        zone = gk_zone_for(lon)
        x, y = from_cgcs2000(lon, lat, zone.crs(prefixed=False))
        e, n = gauss_kruger_series(lon, lat, zone.central_meridian)
        assert abs(float(x) - e) < 1e-3 and abs(float(y) - n) < 1e-3


@pytest.mark.parametrize(
    ("lon", "zone", "cm"),
    [(112.14, 37, 111.0), (110.8, 37, 111.0), (112.49, 37, 111.0), (112.5, 38, 114.0), (113.7, 38, 114.0),
     (73.5, 25, 75.0), (135.0, 45, 135.0), (116.39, 39, 117.0)],
)  # fmt: skip
def test_gk_zone_for(lon: float, zone: int, cm: float) -> None:
    assert tuple(gk_zone_for(lon)) == (zone, cm)
    assert gk_zone_for(lon).crs(prefixed=True).zone == zone


@pytest.mark.parametrize("lon", [72.0, 137.0, float("nan"), -112.0])
def test_gk_zone_for_outside_china(lon: float) -> None:
    with pytest.raises(InvalidInputError, match="zones 25–45"):
        gk_zone_for(lon)


def test_zone_prefix_from_easting_magnitude() -> None:
    assert gk_prefix_zone([607_678.5, 400_000.0]) is None
    assert gk_prefix_zone([37_607_678.5, 37_400_000.0, np.nan]) == 37
    assert gk_prefix_zone(38_324_305.5) == 38
    with pytest.raises(InvalidInputError, match="37, 38"):
        gk_prefix_zone([37_607_678.5, 38_324_305.5])
    with pytest.raises(InvalidInputError, match="one zone"):
        gk_prefix_zone([37_607_678.5, 607_678.5])


# --- conversions --------------------------------------------------------------------------------------


def sample_for(crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Random CGCS2000 points where ``crs`` is meant to be used: its zone for GK, all China otherwise."""
    if crs.central_meridian is not None:
        cm = crs.central_meridian
        return RNG.uniform(cm - 1.6, cm + 1.6, 300), RNG.uniform(18.2, 53.5, 300)
    lon, lat = np.concatenate([XIANGYANG[0], CHINA[0]]), np.concatenate([XIANGYANG[1], CHINA[1]])
    return lon, lat


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_round_trip_for_every_registered_crs(name: str) -> None:
    crs = REGISTRY[name]
    lon, lat = sample_for(crs)
    x, y = from_cgcs2000(lon, lat, crs)
    assert x.shape == lon.shape and np.isfinite(x).all() and np.isfinite(y).all()
    back_lon, back_lat = to_cgcs2000(x, y, crs)
    assert np.max(np.abs(back_lon - lon)) < DEG_TOL and np.max(np.abs(back_lat - lat)) < DEG_TOL
    assert metres(lon, lat, back_lon, back_lat) < 1e-4
    if crs.kind != "geographic":
        assert metres(lon, lat, x, y) > 0 if crs.kind == "offset" else np.abs(x).min() > 1000


@pytest.mark.parametrize(
    "text", ["EPSG:32649", "+proj=tmerc +lat_0=0 +lon_0=112 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"]
)
def test_round_trip_for_other_definitions(text: str) -> None:
    lon, lat = XIANGYANG
    x, y = from_cgcs2000(lon, lat, text)
    expected = pyproj.Transformer.from_crs(4326, text, always_xy=True).transform(lon, lat)
    assert np.allclose((x, y), expected, rtol=0, atol=1e-6)
    back = to_cgcs2000(x, y, text)
    assert np.max(np.abs(np.subtract(back, (lon, lat)))) < DEG_TOL


def test_cgcs2000_and_wgs84_are_treated_as_identical_like_proj_does() -> None:
    lon, lat = CHINA
    for crs in (WGS84, CRS84, CGCS2000):
        out = to_cgcs2000(lon, lat, crs)
        assert np.array_equal(out[0], lon) and np.array_equal(out[1], lat)
    ballpark = pyproj.Transformer.from_crs(4326, 4490, always_xy=True)
    assert "Ballpark" in ballpark.description
    assert np.allclose(ballpark.transform(lon, lat), (lon, lat), rtol=0, atol=1e-12)


def test_web_mercator_matches_the_spherical_formula() -> None:
    lon, lat = CHINA
    x, y = from_cgcs2000(lon, lat, WEB_MERCATOR)
    r = 6378137.0
    assert np.allclose(x, r * np.radians(lon), rtol=0, atol=1e-6)
    assert np.allclose(y, r * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)), rtol=0, atol=1e-6)


def test_conversion_keeps_shapes_and_passes_nan_through() -> None:
    x, y = from_cgcs2000([[112.14, np.nan]], [[32.04, 32.0]], "EPSG:4525")
    assert x.shape == y.shape == (1, 2) and np.isnan(x[0, 1]) and np.isfinite(y[0, 0])
    lon, lat = to_cgcs2000(37_607_678.519, 3_546_856.264, "EPSG:4525")
    assert lon.shape == lat.shape == () and float(lon) == pytest.approx(112.14, abs=1e-8)
    assert transform_coords(1.0, 2.0, "WGS84", "CRS84") == (1.0, 2.0)


def test_transform_coords_between_any_two_systems() -> None:
    lon, lat = XIANGYANG
    gx, gy = from_cgcs2000(lon, lat, "EPSG:4526")
    bx, by = transform_coords(gx, gy, "EPSG:4526", BD09)
    assert np.allclose((bx, by), chinacoords.wgs84_to_bd09(lon, lat), rtol=0, atol=1e-9)
    mx, my = transform_coords(bx, by, BD09, WEB_MERCATOR)
    assert np.allclose((mx, my), from_cgcs2000(lon, lat, WEB_MERCATOR), rtol=0, atol=1e-3)


def test_transform_geometry() -> None:
    lon, lat = 112.14, 32.04
    ring = [(lon, lat), (lon + 0.01, lat), (lon + 0.01, lat + 0.01), (lon, lat + 0.01)]
    poly = shapely.Polygon(ring)
    gk = transform_geometry(poly, CGCS2000, "EPSG:4525")
    coords = shapely.get_coordinates(gk)
    assert coords[0] == pytest.approx((37_607_678.519, 3_546_856.264), abs=1e-3)
    back = transform_geometry(gk, "EPSG:4525")  # default target: CGCS2000
    assert np.allclose(shapely.get_coordinates(back), shapely.get_coordinates(poly), rtol=0, atol=1e-9)
    assert back.is_valid and transform_geometry(poly, "WGS84", "CGCS2000") is not None
    point3d = shapely.Point(lon, lat, 57.5)
    moved = transform_geometry(point3d, "CGCS2000", "GCJ02")
    assert moved.has_z and moved.z == 57.5 and moved.x != lon
    mixed = np.array([point3d, shapely.Point(lon, lat), None], dtype=object)
    out = transform_geometry(mixed, "CGCS2000", "EPSG:3857")
    assert out[0].has_z and not out[1].has_z and out[2] is None and out[0].x == pytest.approx(out[1].x)
    assert transform_geometry(poly, "EPSG:4490", "CGCS2000") is poly


def test_unconvertible_coordinates_are_reported_with_their_index() -> None:
    with pytest.raises(InvalidInputError) as err:
        to_cgcs2000([500_000.0, 1e30], [3_500_000.0, 3_500_000.0], "EPSG:4547")
    assert err.value.issues[0].record == 1 and "cannot be converted" in err.value.issues[0].reason


# --- GCJ-02 and BD-09 ---------------------------------------------------------------------------------

# (wgs84 lon, lat) -> (gcj02 lon, lat): googollee/eviltransform python/test.py and go/transform_test.go
EVILTRANSFORM = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing, west of Tiananmen
]
# wandergis/coordtransform test/app.js and README (also asserted by hutool's CoordinateUtilTest): (116.404, 39.915)
# is by Tiananmen; the same input is read as WGS 84, GCJ-02 or BD-09 by each function.
TIANANMEN = (116.404, 39.915)
TIANANMEN_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
TIANANMEN_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
TIANANMEN_WGS_TO_BD = (116.41662724378733, 39.922699552216216)
TIANANMEN_BD_TO_GCJ_CLOSED_FORM = (116.39762729119315, 39.90865673957631)  # their one-step "decrypt"
TIANANMEN_GCJ_TO_WGS_ONE_STEP = (116.39775550083061, 39.91359571849836)  # their one-step inverse
# Glatzel/pyxis python/tests/test_crypto.py (Jiaxing): wgs84 is given to 7 decimals, the others in full
PYXIS = {"wgs84": (121.0917077, 30.6107779), "gcj02": (121.09626935575027, 30.608604331756705),
         "bd09": (121.10271732371203, 30.61484572185035)}  # fmt: skip
# hujiulong/gcoord test/fixtures/china-cities.json, 7 decimals: WGS84, GCJ02, BD09
GCOORD = {
    "荆门市": ((112.1935849, 31.0376011), (112.1994301, 31.0354012), (112.2058231, 31.0417338)),
    "宜昌市": ((111.2808211, 30.6944096), (111.2864741, 30.6919691), (111.2930248, 30.6977103)),
    "那曲地区": ((92.0499619, 31.4784436), (92.0512438, 31.4762063), (92.0576832, 31.4824421)),
    "沈阳市": ((123.4253306, 41.8032629), (123.4314787, 41.8057023), (123.438095, 41.8114013)),
    "酒泉市": ((98.4937175, 39.7319946), (98.4943595, 39.7328234), (98.5008441, 39.7388949)),
}


def close(got: tuple[np.ndarray, np.ndarray], want: tuple[float, float], tol: float) -> bool:
    return abs(float(got[0]) - want[0]) < tol and abs(float(got[1]) - want[1]) < tol


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM)
def test_gcj02_forward_matches_eviltransform(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    assert close(chinacoords.wgs84_to_gcj02(*wgs), gcj, 1e-12)
    assert close(from_cgcs2000(*wgs, GCJ02), gcj, 1e-12)
    assert close(to_cgcs2000(*gcj, GCJ02), wgs, DEG_TOL)  # eviltransform's "exact" inverse: < 0.5 m


def test_forward_vectors_of_wandergis_coordtransform_at_tiananmen() -> None:
    assert close(chinacoords.wgs84_to_gcj02(*TIANANMEN), TIANANMEN_WGS_TO_GCJ, 1e-12)
    assert close(chinacoords.gcj02_to_bd09(*TIANANMEN), TIANANMEN_GCJ_TO_BD, 1e-12)
    assert close(chinacoords.wgs84_to_bd09(*TIANANMEN), TIANANMEN_WGS_TO_BD, 1e-12)
    assert close(from_cgcs2000(*TIANANMEN, BD09), TIANANMEN_WGS_TO_BD, 1e-12)


def test_iterative_inverses_beat_the_one_step_formulas() -> None:
    gcj = chinacoords.bd09_to_gcj02(*TIANANMEN)
    assert close(gcj, TIANANMEN_BD_TO_GCJ_CLOSED_FORM, 1e-6)  # within 5 cm of the closed form ...
    assert close(chinacoords.gcj02_to_bd09(*gcj), TIANANMEN, 2e-10)  # ... but exact where it is not:
    assert not close(chinacoords.gcj02_to_bd09(*TIANANMEN_BD_TO_GCJ_CLOSED_FORM), TIANANMEN, 1e-7)
    wgs = chinacoords.gcj02_to_wgs84(*TIANANMEN)
    assert close(wgs, TIANANMEN_GCJ_TO_WGS_ONE_STEP, 1e-6)  # the one-step inverse: 6 cm off here, metres elsewhere
    assert close(chinacoords.wgs84_to_gcj02(*wgs), TIANANMEN, 2e-10)
    assert not close(chinacoords.wgs84_to_gcj02(*TIANANMEN_GCJ_TO_WGS_ONE_STEP), TIANANMEN, 1e-7)


def test_pyxis_vectors() -> None:
    assert close(chinacoords.gcj02_to_bd09(*PYXIS["gcj02"]), PYXIS["bd09"], 1e-12)
    assert close(chinacoords.bd09_to_gcj02(*PYXIS["bd09"]), PYXIS["gcj02"], 1e-11)
    assert close(chinacoords.wgs84_to_gcj02(*PYXIS["wgs84"]), PYXIS["gcj02"], 1e-7)  # 7-decimal input
    assert close(to_cgcs2000(*PYXIS["bd09"], "BD09"), PYXIS["wgs84"], 1e-7)


@pytest.mark.parametrize("city", sorted(GCOORD))
def test_gcoord_city_fixtures(city: str) -> None:
    wgs, gcj, bd = GCOORD[city]
    assert close(chinacoords.gcj02_to_bd09(*gcj), bd, 1e-7)  # 7-decimal rounding
    # gcoord checks these to 4 decimals; its WGS84 column sits 0.5 m from the published formula's inverse
    assert close(chinacoords.wgs84_to_gcj02(*wgs), gcj, 1e-5)
    assert close(chinacoords.bd09_to_wgs84(*bd), wgs, 1e-5)


def test_inverse_accuracy_over_china_as_documented() -> None:
    result = chinacoords.measure_inverse_accuracy(step=0.25)
    assert result["points"] == 248 * 144
    assert result["gcj02_max_error_m"] < 1.2e-5 and result["bd09_max_error_m"] < 1.2e-5


def test_inverses_converge_within_the_documented_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    lon, lat = np.meshgrid(np.arange(73.0, 135.0, 0.2), np.arange(18.0, 54.0, 0.2))
    lon, lat = lon.ravel(), lat.ravel()
    for steps, fwd, inv in ((5, chinacoords.wgs84_to_gcj02, chinacoords.gcj02_to_wgs84),
                            (6, chinacoords.wgs84_to_bd09, chinacoords.bd09_to_wgs84),
                            (6, chinacoords.gcj02_to_bd09, chinacoords.bd09_to_gcj02)):  # fmt: skip
        monkeypatch.setattr(chinacoords, "MAX_ITERATIONS", steps)
        residual = np.subtract(fwd(*inv(lon, lat)), (lon, lat))
        assert np.max(np.abs(residual)) < chinacoords.INVERSE_TOLERANCE_DEG


OUTSIDE = (np.array([2.35, -74.0, 139.69, 0.0, 72.0, 100.0, 100.0, np.nan]),
           np.array([48.85, 40.7, 35.69, 0.0, 30.0, 0.5, 56.0, 30.0]))  # fmt: skip


@pytest.mark.parametrize(
    "fn",
    [chinacoords.wgs84_to_gcj02, chinacoords.gcj02_to_wgs84, chinacoords.gcj02_to_bd09,
     chinacoords.bd09_to_gcj02, chinacoords.wgs84_to_bd09, chinacoords.bd09_to_wgs84],
)  # fmt: skip
def test_points_outside_china_are_not_shifted(fn: Callable[..., tuple[np.ndarray, np.ndarray]]) -> None:
    lon, lat = fn(*OUTSIDE)
    assert np.array_equal(lon, OUTSIDE[0], equal_nan=True) and np.array_equal(lat, OUTSIDE[1])
    both = fn(np.r_[OUTSIDE[0], 112.14], np.r_[OUTSIDE[1], 32.04])  # mixed arrays: only China moves
    assert np.array_equal(both[0][:-1], OUTSIDE[0], equal_nan=True) and both[0][-1] != 112.14
    for crs in (GCJ02, BD09):
        assert np.array_equal(to_cgcs2000(*OUTSIDE, crs)[0], OUTSIDE[0], equal_nan=True)
        assert np.array_equal(from_cgcs2000(*OUTSIDE, crs)[1], OUTSIDE[1])


def test_offset_region_is_the_reference_rectangle() -> None:
    inside = chinacoords.offset_applies(
        [72.004, 137.8347, 112.0, 72.0, 112.0, np.nan], [0.8293, 55.8271, 0.8, 30, 56, 1]
    )
    assert inside.tolist() == [True, True, False, False, False, False]


def test_empty_input() -> None:
    for fn in (chinacoords.gcj02_to_wgs84, chinacoords.bd09_to_wgs84):
        lon, lat = fn(np.array([]), np.array([]))
        assert lon.shape == (0,) and lat.shape == (0,)


china_lon = st.floats(73.0, 135.0)
china_lat = st.floats(18.0, 54.0)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_property_offsets_round_trip(lon: float, lat: float) -> None:
    for fwd, inv in ((chinacoords.wgs84_to_gcj02, chinacoords.gcj02_to_wgs84),
                     (chinacoords.gcj02_to_bd09, chinacoords.bd09_to_gcj02),
                     (chinacoords.wgs84_to_bd09, chinacoords.bd09_to_wgs84)):  # fmt: skip
        shifted = fwd(lon, lat)
        assert 1e-4 < max(abs(float(shifted[0]) - lon), abs(float(shifted[1]) - lat)) < 0.02
        assert close(inv(*shifted), (lon, lat), DEG_TOL)
        assert close(fwd(*inv(lon, lat)), (lon, lat), 2 * chinacoords.INVERSE_TOLERANCE_DEG)


@settings(max_examples=150, deadline=None)
@given(st.floats(73.5, 136.49), china_lat, st.booleans())
def test_property_gauss_kruger_round_trip_in_its_zone(lon: float, lat: float, prefixed: bool) -> None:
    crs = gk_zone_for(lon).crs(prefixed=prefixed)
    x, y = from_cgcs2000(lon, lat, crs)
    assert (float(x) >= 1_000_000) == prefixed
    if prefixed:
        assert gk_prefix_zone(x) == crs.zone
    assert close(to_cgcs2000(x, y, crs), (lon, lat), DEG_TOL)


# --- detection ----------------------------------------------------------------------------------------


def detected(x: np.ndarray, y: np.ndarray, **kw: object) -> str:
    try:
        return detect_crs(x, y, **kw).name  # type: ignore[arg-type]
    except InvalidInputError as exc:
        return "error: " + exc.issues[0].reason


def test_detect_each_system_from_coordinates() -> None:
    lon, lat = XIANGYANG
    assert detect_crs(*from_cgcs2000(lon, lat, WEB_MERCATOR)) is WEB_MERCATOR
    for epsg in (4525, 4526):
        assert detect_crs(*from_cgcs2000(lon, lat, f"EPSG:{epsg}")).epsg == epsg
    assert detect_crs(lon, lat, geographic_default=True) is CGCS2000
    x, y = from_cgcs2000(*CHINA, WEB_MERCATOR)
    assert detect_crs(x, y) is WEB_MERCATOR


def test_detect_uses_a_declared_crs_after_checking_it() -> None:
    lon, lat = XIANGYANG
    x, y = from_cgcs2000(lon, lat, "EPSG:4547")
    assert detect_crs(x, y, "EPSG:4547").epsg == 4547
    assert detect_crs(lon, lat, "GCJ02") is GCJ02 and detect_crs(lon, lat, WGS84) is WGS84
    with pytest.raises(InvalidInputError) as err:
        detect_crs(x, y, "EPSG:4490")
    issue = err.value.issues[0]
    assert issue.record == 0 and "outside China" in issue.reason and "without a zone prefix" in issue.reason
    with pytest.raises(InvalidInputError, match="longitude must come first"):
        detect_crs(lat, lon, "CGCS2000")
    with pytest.raises(InvalidInputError, match="unknown coordinate system"):
        detect_crs(lon, lat, "nonsense")


def test_geographic_is_ambiguous_unless_the_caller_defaults_it() -> None:
    reason = detected(*XIANGYANG)
    assert reason.startswith("error: longitude/latitude in China could be CGCS2000, WGS 84, GCJ-02")
    assert "--crs" in reason


def test_unprefixed_gauss_kruger_is_ambiguous_and_the_error_says_how_to_name_it() -> None:
    x, y = from_cgcs2000(*XIANGYANG, "EPSG:4546")
    with pytest.raises(InvalidInputError) as err:
        detect_crs(x, y)
    assert err.value.issues[0].reason.startswith(UNPREFIXED_HINT)
    assert err.value.issues[0].field == "crs"
    # with the city's location the example names the zone that fits; still an error, never applied
    x, y = from_cgcs2000(*XIANGYANG, "EPSG:4547")
    assert "--crs EPSG:4547 (CGCS2000 3-degree GK CM 114E)" in detected(x, y, near=(112.14, 32.04))
    assert detected(x, y, near=(112.14, 32.04)).startswith("error: ")


@pytest.mark.parametrize(
    ("crs", "expected"),
    [
        ("CGCS2000", "(latitude, longitude): longitude must come first"),
        ("EPSG:3857", "Web Mercator metres with the axes swapped"),
        ("EPSG:4526", "Gauss-Krüger (northing, easting)"),
        ("EPSG:4547", "Gauss-Krüger (northing, easting) without a zone prefix"),
    ],
)
def test_swapped_axes_are_reported(crs: str, expected: str) -> None:
    x, y = from_cgcs2000(*XIANGYANG, crs)
    reason = detected(y, x)
    assert reason.startswith("error: coordinates look like " + expected), reason
    assert detected(y, x, geographic_default=True) == reason


def test_detect_refuses_mixed_unknown_and_empty_input() -> None:
    lon, lat = XIANGYANG
    mx, my = from_cgcs2000(lon[:3], lat[:3], WEB_MERCATOR)
    assert "mix coordinate systems (400 look like longitude/latitude, 3 look like Web Mercator" in detected(
        np.r_[lon, mx], np.r_[lat, my], geographic_default=True
    )
    with pytest.raises(InvalidInputError) as err:
        detect_crs([np.nan, 1.0, 112.0], [np.nan, 2.0, 32.0], field_name="geometry")
    assert err.value.issues[0].record == 1 and err.value.issues[0].field == "geometry"
    assert "accepted" not in err.value.issues[0].reason and "EPSG:4490 or CGCS2000" in err.value.issues[0].reason
    assert "no finite coordinates" in detected(np.array([np.nan]), np.array([np.nan]))
    x37, y37 = from_cgcs2000(111.0, 32.0, "EPSG:4525")
    x38, y38 = from_cgcs2000(114.0, 32.0, "EPSG:4526")
    assert "zone prefixes [37, 38]" in detected(np.r_[x37, x38], np.r_[y37, y38])


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.floats(-200, 200), st.floats(-5e7, 5e7), st.floats(1e5, 1e6), st.floats(2.5e7, 4.6e7)),
    st.one_of(st.floats(-100, 100), st.floats(-2.5e7, 2.5e7), st.floats(1e5, 7e6)),
)
def test_property_detection_tests_never_overlap(x: float, y: float) -> None:
    for a, b in ((x, y), (y, x)):
        masks = _detection_tests(np.array([a]), np.array([b]))
        assert sum(int(m[0]) for m in masks.values()) <= 1


@settings(max_examples=100, deadline=None)
@given(st.floats(73.1, 134.9), st.floats(18.5, 53.0), st.sampled_from(["merc", "gkp", "gk", "geo"]), st.booleans())
def test_property_detection_from_coordinates(lon: float, lat: float, kind: str, swap: bool) -> None:
    lons, lats = np.array([lon, lon + 0.05]), np.array([lat, lat + 0.05])
    zone = gk_zone_for(min(max(lon, 73.5), 136.4))
    crs = {"merc": WEB_MERCATOR, "gkp": zone.crs(prefixed=True), "gk": zone.crs(prefixed=False), "geo": CGCS2000}
    x, y = from_cgcs2000(lons, lats, crs[kind])
    if swap:
        assert "swap the columns" in detected(y, x, geographic_default=True)
    elif kind == "gk":
        assert detected(x, y).startswith("error: " + UNPREFIXED_HINT[:50])
    elif kind == "geo":
        assert detected(x, y).startswith("error: ") and detected(x, y, geographic_default=True) == "EPSG:4490"
    else:
        assert detected(x, y) == crs[kind].name
