"""The demo city of Xiangyang: real divisions, valid and deterministic generated content."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from sqlalchemy import select

from citybase.demo import DEMO_PASSWORD, MARKER_KEY, OWNER, build_demo, demo_status, demo_users
from citybase.demo.geography import build_geography, divisions, xiangyang_boundary
from citybase.demo.names import NameBook, chinese_number, short_name
from citybase.kernel.errors import ConflictError, InvalidInputError
from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.store.schema import city_object, department, platform_meta
from tests.helpers import ADMIN_PASSWORD

CSV = Path(__file__).resolve().parents[1] / "src" / "citybase" / "demo" / "data" / "xiangyang_divisions.csv"
REAL_DISTRICTS = {"420602": "襄城区", "420606": "樊城区", "420607": "襄州区", "420624": "南漳县", "420625": "谷城县",
                  "420626": "保康县", "420682": "老河口市", "420683": "枣阳市", "420684": "宜城市"}
# Expected ranges of the tiny scale (measured: see docs/demo.md); wide enough for tuning, tight enough
# to catch a generator that lost or multiplied a class.
TINY_RANGES = {
    "070101": (9, 9), "070102": (9, 9), "070103": (176, 176), "090101": (1, 2),
    "020101": (4, 30), "050301": (2, 12), "040201": (1, 6), "050101": (20, 120), "050102": (30, 250),
    "050103": (1000, 5000),
    "050201": (2, 50), "010301": (40, 300), "040101": (100, 800), "010201": (40, 300), "010202": (15, 120),
    "010101": (10, 80), "010102": (5, 50), "030101": (5, 60), "020301": (1, 20), "060101": (1, 30),
}


def _objects(platform: Platform) -> list[dict[str, Any]]:
    with platform.store.read() as conn:
        return [dict(r) for r in conn.execute(select(city_object).order_by(city_object.c.id)).mappings()]


def _fingerprint(rows: list[dict[str, Any]]) -> set[tuple[str, str, bytes | None, str]]:
    return {(r["class_code"], r["name"], None if r["geom"] is None else shapely.to_wkb(r["geom"]),
             json.dumps(r["attributes"], sort_keys=True, ensure_ascii=False)) for r in rows}


def test_no_demo_city_until_built(platform: Platform) -> None:
    assert demo_status(platform) is None
    with pytest.raises(InvalidInputError):
        build_demo(platform, "huge")
    assert demo_status(platform) is None


def test_tiny_city_is_complete_valid_and_built_once(platform: Platform) -> None:
    steps: list[tuple[str, int, int | None]] = []
    report = build_demo(platform, "tiny", progress=lambda s, d, t: steps.append((s, d, t)))
    rows = _objects(platform)
    counts = Counter(r["class_code"] for r in rows)
    assert dict(counts) == report.counts and report.total == len(rows)
    assert 2000 <= len(rows) <= 8000, counts
    for cls, (lo, hi) in TINY_RANGES.items():
        assert lo <= counts[cls] <= hi, (cls, counts[cls])
    assert "tiny" in str(report) and report.seconds > 0
    assert demo_status(platform) == f"tiny scale, {len(rows):,} objects, seed {report.seed}"
    last = {step: (done, total) for step, done, total in steps}
    assert last["divisions"] == (1, 1)
    assert last["built communities"][0] == last["built communities"][1] > 0
    assert last["objects written"] == (len(rows), None)

    # every object fits its class; geometry valid, of the class's type, inside Xiangyang
    boundary = xiangyang_boundary().buffer(1e-9)
    shapely.prepare(boundary)
    geoms = np.array([r["geom"] for r in rows if r["geom"] is not None], dtype=object)
    assert shapely.is_valid(geoms).all()
    assert shapely.covered_by(geoms, boundary).all()
    for r in rows:
        cls = platform.classes.get(r["class_code"])
        cls.validate(r["attributes"])
        if cls.geometry_type is None:
            assert r["geom"] is None
        else:
            assert r["geom"].geom_type.removeprefix("Multi") == cls.geometry_type.removeprefix("Multi")
    assert {r["geom"].geom_type for r in rows if r["class_code"] == "070102"} == {"Polygon"}

    # one authoritative department per class (一数一源)
    with platform.store.read() as conn:
        dept_codes = dict(conn.execute(select(department.c.id, department.c.code)).all())
    assert all(dept_codes[r["department_id"]] == OWNER[r["class_code"]] for r in rows)

    # parents: rooms -> units -> buildings -> compounds -> communities -> streets -> districts
    by_id = {r["id"]: r for r in rows}
    expected_parent = {"050103": {"050102"}, "050102": {"050101"}, "050101": {"050301", "070103"},
                       "050301": {"070103"}, "070103": {"070102"}, "070102": {"070101"}}
    for r in rows:
        if r["class_code"] in expected_parent:
            parent = by_id[r["parent_id"]]
            assert parent["class_code"] in expected_parent[r["class_code"]], r["name"]
            if r["class_code"] in ("050103", "050102"):
                assert r["name"].startswith(parent["name"])  # 某某花园3栋1单元502室 under 某某花园3栋1单元

    # a building's height is its floors times the floor height
    for r in rows:
        if r["class_code"] == "050101":
            a = r["attributes"]
            assert a["height_m"] == pytest.approx(a["floors"] * a["floor_height_m"], abs=0.06)

    _check_divisions(rows)
    _check_accounts(platform)
    _check_codes(platform, rows)
    with pytest.raises(ConflictError):
        build_demo(platform, "tiny")
    assert len(_objects(platform)) == len(rows)


def _check_divisions(rows: list[dict[str, Any]]) -> None:
    """The nine real districts; streets and communities with the NBS names and codes."""
    districts = {r["attributes"]["division_code"]: r["name"] for r in rows if r["class_code"] == "070101"}
    assert districts == REAL_DISTRICTS
    with CSV.open(encoding="utf-8") as f:
        official = {r["code"]: r["name"] for r in csv.DictReader(f)}
    lower = [r for r in rows if r["class_code"] in ("070102", "070103")]
    assert lower and all(official[r["attributes"]["division_code"]] == r["name"] for r in lower)
    streets = {r["attributes"]["division_code"] for r in rows if r["class_code"] == "070102"}
    assert streets == {c for c in official if len(c) == 9 and c.startswith("420602")}
    by_id = {r["id"]: r for r in rows}
    for r in lower:  # a division's code extends its parent's code
        assert r["attributes"]["division_code"].startswith(by_id[r["parent_id"]]["attributes"]["division_code"])


def _check_codes(platform: Platform, rows: list[dict[str, Any]]) -> None:
    """Every demo object carries a valid, distinct code of its class, and the codes resolve."""
    codes = [r["code"] for r in rows]
    assert None not in codes and len(set(codes)) == len(codes)
    districts = {r["attributes"]["division_code"] for r in rows if r["class_code"] == "070101"}
    for r in rows:
        parsed = platform.codes.validate(r["code"])
        assert parsed.class_code == r["class_code"] and parsed.division in districts, r["code"]
    for r in rows[:: max(1, len(rows) // 25)]:  # a spread sample through the resolver
        card = platform.codes.resolve(r["code"])
        assert (card.object_id, card.name, card.code_state) == (r["id"], r["name"], "active")
        assert card.beidou is not None  # rooms and units are placed where their building is


def _check_accounts(platform: Platform) -> None:
    usernames = {u[0] for u in demo_users()}
    assert {"zjj_admin", "zjj_user", "gaj_admin", "grid_worker1", "reviewer1", "viewer1"} <= usernames
    _, user = platform.access.login("zjj_admin", DEMO_PASSWORD)
    assert user.role == "department_admin"
    assert user.department_id is not None and platform.access.department(user.department_id).code == "zjj"


def test_same_seed_builds_the_same_city(platform: Platform, tmp_path: Path) -> None:
    build_demo(platform, "tiny")
    data = tmp_path / "second"
    other = Platform(load_settings(data_dir=data, database_url=f"sqlite:///{data / 'citybase.db'}", job_workers=0,
                                   log_json=False))
    other.init(admin_password=ADMIN_PASSWORD)
    try:
        build_demo(other, "tiny")
        first, second = _fingerprint(_objects(platform)), _fingerprint(_objects(other))
    finally:
        other.store.dispose()
    assert first == second
    assert len(first) > 2000


def test_interrupted_build_is_reported_and_refused(platform: Platform) -> None:
    with platform.store.write() as conn:
        conn.execute(platform_meta.insert().values(key=MARKER_KEY, value={"state": "building", "scale": "demo"}))
    status = demo_status(platform)
    assert status is not None and "incomplete" in status
    with pytest.raises(ConflictError):
        build_demo(platform, "tiny")


# --- pure parts, no database ------------------------------------------------------------------------

def test_geography_partitions_every_district_deterministically() -> None:
    a = build_geography(7, ["420602", "420626"])
    b = build_geography(7, ["420602", "420626"])
    assert [(s.code, s.geometry.wkb) for s in a.streets] == [(s.code, s.geometry.wkb) for s in b.streets]
    assert [(c.code, c.geometry.wkb) for c in a.communities] == [(c.code, c.geometry.wkb) for c in b.communities]
    rows = {d.code: d for d in divisions()}
    assert all(rows[s.code].name == s.name and rows[s.code].level == 4 for s in a.streets)
    assert all(rows[c.code].name == c.name and rows[c.code].level == 5 for c in a.communities)
    for d in a.districts:
        if d.code not in ("420602", "420626"):
            continue
        cells = [c.geometry for c in a.communities if c.code.startswith(d.code)]
        assert all(isinstance(c, shapely.Polygon) and c.is_valid and c.exterior.is_ccw for c in cells)
        union = shapely.union_all(cells)
        assert union.area / d.geometry.area > 0.99  # the communities tile the district (small slivers aside)
        assert sum(c.area for c in cells) == pytest.approx(union.area, rel=1e-6)  # without overlaps
    assert {w.name for w in a.water} >= {"汉江"}


def test_names() -> None:
    book = NameBook(np.random.default_rng(1))
    names = [book.road("主干路") for _ in range(3000)]
    assert len(set(names)) == len(names)
    assert all(n.endswith(("路", "大道")) for n in names)
    assert [chinese_number(n) for n in (1, 10, 12, 20, 23)] == ["一", "十", "十二", "二十", "二十三"]
    assert short_name("檀溪社区居委会") == "檀溪" and short_name("张岗村村民委员会") == "张岗村"
