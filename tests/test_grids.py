"""Management grids (网格): hierarchy, polygons, locate, members, address → grid map, generation, API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import LineString, Point, Polygon, box, mapping
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from citybase.demo.build import _write_divisions, ensure_accounts
from citybase.demo.geography import build_geography
from citybase.demo.grids import build_grids
from citybase.demo.profiles import SEED
from citybase.demo.writer import Writer
from citybase.domains.access import SYSTEM, Actor, Role
from citybase.domains.addresses import NewNode
from citybase.domains.grids import NewGrid, generate_from_communities, node_ids_in_grids
from citybase.kernel.errors import ConflictError, InvalidInputError, PermissionDeniedError
from citybase.platform import Platform
from citybase.store.grid_tables import address_grid, grid, grid_member, grid_version
from citybase.store.schema import platform_meta
from tests.address_tree_helpers import small_tree
from tests.helpers import ADMIN_PASSWORD, Api

DISTRICT = box(112.10, 31.98, 112.20, 32.06)
STREET = box(112.12, 32.00, 112.16, 32.03)
COMMUNITY = box(112.13, 32.005, 112.15, 32.02)
WEST, EAST = box(112.13, 32.005, 112.14, 32.02), box(112.14, 32.005, 112.15, 32.02)
EAST_SOUTH, EAST_NORTH = box(112.14, 32.005, 112.15, 32.0111), box(112.14, 32.0111, 112.15, 32.02)


def _hierarchy(platform: Platform) -> dict[str, int]:
    g = platform.grids
    ids = {"district": g.create(SYSTEM, NewGrid("district", "襄城区", DISTRICT, division_code="420602")).id}
    ids["street"] = g.create(SYSTEM, NewGrid("street", "真武山街道", STREET, ids["district"],
                                             division_code="420602001")).id
    ids["community"] = g.create(SYSTEM, NewGrid("community", "檀溪社区", COMMUNITY, ids["street"],
                                                division_code="420602001001")).id
    ids["west"] = g.create(SYSTEM, NewGrid("grid", "第1网格", WEST, ids["community"])).id
    ids["east"] = g.create(SYSTEM, NewGrid("grid", "第2网格", EAST, ids["community"])).id
    ids["east_south"] = g.create(SYSTEM, NewGrid("micro", "1号微网格", EAST_SOUTH, ids["east"])).id
    ids["east_north"] = g.create(SYSTEM, NewGrid("micro", "2号微网格", EAST_NORTH, ids["east"])).id
    return ids


def _user(platform: Platform, name: str, role: str) -> int:
    return platform.access.create_user(SYSTEM, name, "password-123", role, None).id


def _count(platform: Platform, table: Any) -> int:
    with platform.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_hierarchy_is_strict_and_codes_follow_it(platform: Platform) -> None:
    ids = _hierarchy(platform)
    g = platform.grids
    assert g.grid(ids["district"]).code == "420602000000"
    assert g.grid(ids["community"]).code == "420602001001"
    assert [x.code for x in g.children(ids["community"])] == ["420602001001001", "420602001001002"]
    assert g.grid(ids["east_north"]).code == "42060200100100202"
    assert g.grid(ids["east_north"]).division_code == "420602001001"
    assert g.by_code("420602001001002").id == ids["east"]
    tree = g.tree()
    assert [t.grid.level for t in tree] == ["district"]
    assert [c.grid.code for c in tree[0].children[0].children[0].children] == ["420602001001001", "420602001001002"]
    assert g.tree(ids["community"], depth=1)[0].children == []
    cases = [
        (NewGrid("micro", "x", EAST_SOUTH, ids["community"]), "parent_id", "goes under a grid, not a community"),
        (NewGrid("grid", "x", WEST, None), "parent_id", "needs a community parent"),
        (NewGrid("district", "x", DISTRICT, ids["district"], division_code="420606"), "parent_id", "no parent"),
        (NewGrid("street", "x", STREET, ids["district"], division_code="420606001"), "division_code",
         "does not lie in the parent's division 420602"),
        (NewGrid("community", "x", COMMUNITY, ids["street"], division_code="4206"), "division_code", "12-digit"),
        (NewGrid("village", "x", WEST, ids["community"]), "level", "one of district"),
        (NewGrid("grid", "  ", WEST, ids["community"]), "name", "1-200"),
        (NewGrid("grid", "x", WEST, ids["community"], code="999"), "code", "parent's code plus 3 serial digits"),
    ]
    before = _count(platform, grid)
    for new, field, reason in cases:
        with pytest.raises(InvalidInputError) as err:
            g.create(SYSTEM, new)
        issue = err.value.issues[0]
        assert issue.field == field and reason in issue.reason, (new, issue)
        assert issue.record is not None
    with pytest.raises(ConflictError):
        g.create(SYSTEM, NewGrid("community", "again", COMMUNITY, ids["street"], division_code="420602001001"))
    assert _count(platform, grid) == before  # nothing half-written
    with pytest.raises(PermissionDeniedError):
        g.create(Actor("w", "user", Role.GRID_WORKER), NewGrid("grid", "x", WEST, ids["community"]))


def test_bad_polygons_are_refused_with_the_reason(platform: Platform) -> None:
    ids = _hierarchy(platform)
    bowtie = Polygon([(112.131, 32.006), (112.139, 32.019), (112.139, 32.006), (112.131, 32.019)])
    cases: list[tuple[Any, str]] = [
        (bowtie, "is not valid: Self-intersection"),
        (LineString([(112.131, 32.006), (112.139, 32.019)]), "must be a Polygon or MultiPolygon, not LineString"),
        ({"type": "Polygon", "coordinates": "nope"}, "not a GeoJSON geometry"),
        (box(12.0, 32.0, 12.1, 32.1), "outside China"),
        (box(112.13, 32.005, 112.16, 32.02), "lies outside its parent grid 420602001001"),
        (Polygon(), "is empty"),
    ]
    before = _count(platform, grid), _count(platform, grid_version)
    for geom, reason in cases:
        with pytest.raises(InvalidInputError) as err:
            platform.grids.create(SYSTEM, NewGrid("grid", "坏网格", geom, ids["community"]))
        assert err.value.issues[0].field == "geom" and reason in err.value.issues[0].reason, err.value.issues
        assert err.value.issues[0].record == "坏网格"
    assert (_count(platform, grid), _count(platform, grid_version)) == before


def test_locate_finds_the_deepest_grid_and_sees_changes(platform: Platform) -> None:
    ids = _hierarchy(platform)
    g = platform.grids
    located = g.locate(112.145, 32.008)
    assert located is not None and located.id == ids["east_south"]
    west = g.locate(112.135, 32.01)
    assert west is not None and west.id == ids["west"]  # a grid without micro-grids
    street = g.locate(112.155, 32.025)
    assert street is not None and street.id == ids["street"]
    assert g.locate(113.5, 30.0) is None
    micro = g.grid(ids["east_south"])
    retired = g.retire(SYSTEM, micro.id, micro.version)
    assert retired.state == "retired" and retired.version == micro.version + 1
    after = g.locate(112.145, 32.008)
    assert after is not None and after.id == ids["east"]  # the index was rebuilt
    with pytest.raises(ConflictError):
        g.retire(SYSTEM, micro.id, micro.version)  # stale version / retired already
    east = g.grid(ids["east"])
    with pytest.raises(ConflictError, match="active child grids"):
        g.retire(SYSTEM, east.id, east.version)
    with platform.store.read() as conn:
        changes = conn.execute(select(grid_version.c.change).where(grid_version.c.grid_id == micro.id)
                               .order_by(grid_version.c.version)).scalars().all()
    assert changes == ["create", "retire"]


def test_responsible_walks_up_and_grids_of_user_includes_descendants(platform: Platform) -> None:
    ids = _hierarchy(platform)
    g = platform.grids
    worker, other, reviewer = _user(platform, "w1", "grid_worker"), _user(platform, "w2", "grid_worker"), \
        _user(platform, "r1", "reviewer")
    g.assign(SYSTEM, ids["east"], worker, "worker")
    g.assign(SYSTEM, ids["west"], other, "worker")
    member = g.assign(SYSTEM, ids["street"], reviewer, "reviewer")
    assert member.username == "r1" and member.until is None
    assert g.responsible(ids["east_north"], "worker") == [worker]
    assert g.responsible(ids["east_north"], "reviewer") == [reviewer]
    assert g.responsible(ids["community"], "worker") == []
    assert g.grids_of_user(worker) == {ids["east"], ids["east_south"], ids["east_north"]}
    assert g.grids_of_user(other) == {ids["west"]}
    assert ids["west"] in g.grids_of_user(reviewer) and ids["east_north"] in g.grids_of_user(reviewer, "reviewer")
    assert g.grids_of_user(reviewer, "worker") == set()
    with platform.store.read() as conn:
        assert g.worker_of(conn, ids["east_south"]) == worker
        assert g.grid_at(conn, 112.135, 32.01) == ids["west"]
    with pytest.raises(ConflictError):
        g.assign(SYSTEM, ids["east"], worker, "worker")
    with platform.store.write() as conn, pytest.raises(IntegrityError):  # a racing second assignment
        conn.execute(grid_member.insert().values(grid_id=ids["east"], user_id=worker, duty="worker",
                                                 since=member.since, assigned_by="race"))
    with pytest.raises(InvalidInputError, match=r"may not collect\.submit"):
        g.assign(SYSTEM, ids["east"], reviewer, "worker")
    g.unassign(SYSTEM, ids["east"], worker, "worker")
    assert g.grids_of_user(worker) == set()
    assert g.responsible(ids["east_north"], "worker") == []
    history = g.members(ids["east"], ended=True)
    assert [(m.user_id, m.until is not None) for m in history] == [(worker, True)]


def test_address_grid_maps_every_node_to_its_deepest_grid(platform: Platform) -> None:
    ids = _hierarchy(platform)
    t = small_tree(platform)
    assert platform.grids.refresh_address_grids() >= 5
    with platform.store.read() as conn:
        mapped = dict(conn.execute(select(address_grid.c.address_node_id, address_grid.c.grid_id)).all())
        assert node_ids_in_grids(conn, [ids["east_north"]]) == {t.building, t.unit, t.room}
    assert mapped[t.plate] == ids["east_south"] and mapped[t.compound] == ids["east_south"]  # the plate's point
    assert mapped[t.building] == mapped[t.unit] == mapped[t.room] == ids["east_north"]  # the building's point
    assert t.town not in mapped and t.district not in mapped  # above community level
    worker = _user(platform, "w1", "grid_worker")
    platform.grids.assign(SYSTEM, ids["east"], worker, "worker")
    with platform.store.read() as conn:
        mine = node_ids_in_grids(conn, platform.grids.grids_of_user(worker))
    assert {t.plate, t.building, t.room} <= mine
    # a new micro-grid takes over the nodes of its parent at once; retiring it gives them back
    west = platform.grids.grid(ids["west"])
    south = platform.grids.grid(ids["east_south"])
    platform.grids.retire(SYSTEM, south.id, south.version)
    with platform.store.read() as conn:
        assert conn.execute(select(address_grid.c.grid_id).where(address_grid.c.address_node_id == t.plate)
                            ).scalar() == ids["east"]
    again = platform.grids.create(SYSTEM, NewGrid("micro", "新1号微网格", EAST_SOUTH, ids["east"]))
    assert again.code == "42060200100100203"  # serials are never reused
    with platform.store.read() as conn:
        assert conn.execute(select(address_grid.c.grid_id).where(address_grid.c.address_node_id == t.compound)
                            ).scalar() == again.id
        assert platform.grids.grid_of_address(conn, t.room) == ids["east_north"]
    assert west.state == "active"


def test_address_changes_reach_the_map_by_sync(platform: Platform) -> None:
    ids = _hierarchy(platform)
    t = small_tree(platform)
    g = platform.grids
    assert g.sync_addresses() == 0  # the platform syncs after every commit that changes addresses
    a = platform.addresses
    with platform.store.write() as conn:  # inside the writing transaction a sync sees the new nodes
        building = a.create_in(conn, SYSTEM, NewNode(t.compound, "building", "9栋", Point(112.135, 32.01)))
        room = a.create_in(conn, SYSTEM, NewNode(building, "room", "101室"))
        assert g.sync_addresses(conn) == 2
    with platform.store.read() as conn:
        assert g.grid_of_address(conn, room) == ids["west"]
        assert node_ids_in_grids(conn, [ids["west"]]) == {building, room}
    a.retire(SYSTEM, room)  # synced after the commit
    assert g.sync_addresses() == 0
    with platform.store.read() as conn:
        assert node_ids_in_grids(conn, [ids["west"]]) == {building}
    with platform.store.write() as conn:
        conn.execute(platform_meta.delete().where(platform_meta.c.key == "grids.address_revision"))
    assert g.sync_addresses() >= 5  # never synced: a full run
    a.rename(SYSTEM, t.plate, "59号")  # a changed node takes its point-less children along
    with platform.store.read() as conn:
        assert g.grid_of_address(conn, t.compound) == ids["east_south"]


def _divisions(platform: Platform) -> None:
    departments = ensure_accounts(platform)
    geo = build_geography(SEED, ("420602",))
    _write_divisions(Writer(platform, departments, validate_all=False), geo)


def test_generation_from_the_demo_divisions_and_demo_accounts(platform: Platform) -> None:
    _divisions(platform)
    t = small_tree(platform)  # a few addresses in 襄城区 to map
    counts = build_grids(platform, SEED, lambda step, done, total: None)
    assert counts["grids"] > 176 * 3 and counts["grid_members"] > 0
    g = platform.grids
    assert len(g.find(level="district")) == 9 and len(g.find(level="street")) == 9
    communities = g.find(level="community")
    assert len(communities) == 176
    for c in communities[:20]:
        kids = g.children(c.id)
        assert 2 <= len(kids) <= 6 and all(k.code.startswith(c.code) and len(k.code) == 15 for k in kids)
        whole = g.grid(c.id).geom
        assert whole is not None
        for k in kids:
            geom = g.grid(k.id).geom
            assert geom is not None and geom.is_valid and geom.difference(whole).area < 1e-12
            micros = g.children(k.id)
            assert 2 <= len(micros) <= 4 and all(len(m.code) == 17 for m in micros)
        assert abs(sum(g.grid(k.id).geom.area for k in kids) - whole.area) < whole.area * 0.01  # type: ignore[union-attr]
    worker1, worker2 = platform.access.user("grid_worker1").id, platform.access.user("grid_worker2").id
    reviewer1 = platform.access.user("reviewer1").id
    mine, theirs = g.grids_of_user(worker1), g.grids_of_user(worker2)
    assert mine and theirs and not mine & theirs
    assert all(g.grid(i).code.startswith("420602001") for i in mine)
    assert all(g.grid(i).code.startswith("420602002") for i in theirs)
    street = g.by_code("420602001000")
    assert g.responsible(next(iter(mine)), "reviewer") == [reviewer1]
    assert mine < g.grids_of_user(reviewer1) and street.id in g.grids_of_user(reviewer1)
    with platform.store.read() as conn:
        building = g.grid_of_address(conn, t.building)
        assert building is not None and g.grid_of_address(conn, t.room) == building
        plate = g.grid_of_address(conn, t.plate)
    assert building is not None and plate is not None
    assert g.grid(building).level == "micro" and g.grid(plate).level == "micro"
    assert not [u for u in platform.access.users(SYSTEM) if u.username.startswith("gw_420602000")]  # no street workers
    with platform.store.write() as conn, pytest.raises(ConflictError, match="exist already"):
        generate_from_communities(conn, SYSTEM)


def test_api_reads_everyone_creates_only_grid_managers(platform: Platform, api: Api) -> None:
    ids = _hierarchy(platform)
    platform.access.create_user(SYSTEM, "viewer9", "password-123", "viewer", None)
    body = {"level": "micro", "name": "西1号微网格", "parent_id": ids["west"],
            "geometry": mapping(box(112.13, 32.005, 112.135, 32.02))}
    api.login("viewer9", "password-123")
    assert api.post("/api/grids", json=body).status_code == 403
    items = api.get("/api/grids", params={"level": "grid"}).json()["items"]
    assert [i["code"] for i in items] == ["420602001001001", "420602001001002"]
    tree = api.get("/api/grids", params={"tree": "true", "root": ids["community"], "depth": 2}).json()["tree"]
    assert [c["code"] for c in tree[0]["children"]] == ["420602001001001", "420602001001002"]
    hit = api.get("/api/grids/locate", params={"lon": 112.145, "lat": 32.015}).json()["grid"]
    assert hit["id"] == ids["east_north"]
    assert api.get("/api/grids/locate", params={"lon": 100.0, "lat": 40.0}).json() == {"grid": None}
    feat = api.get(f"/api/grids/{ids['east']}.geojson").json()
    assert feat["type"] == "Feature" and feat["geometry"]["type"] == "Polygon"
    assert api.get(f"/api/grids/{ids['east']}", params={"f": "geojson"}).json()["type"] == "Feature"
    api.login("admin", ADMIN_PASSWORD)
    created = api.post("/api/grids", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "42060200100100101"
    bad = api.post("/api/grids", json={**body, "geometry": {"type": "Point", "coordinates": [112.13, 32.01]}})
    assert bad.status_code == 400 and bad.json()["issues"][0]["field"] == "geom"
    worker = _user(platform, "w1", "grid_worker")
    r = api.post(f"/api/grids/{ids['west']}/members", json={"user_id": worker, "duty": "worker"})
    assert r.status_code == 201, r.text
    one = api.get(f"/api/grids/{ids['west']}").json()
    assert [m["username"] for m in one["members"]] == ["w1"] and one["geometry"]["type"] == "Polygon"
    assert [c["code"] for c in one["children"]] == ["42060200100100101"]
    api.login("viewer9", "password-123")
    assert api.post(f"/api/grids/{ids['west']}/members", json={"user_id": worker}).status_code == 403


def test_cli_generates_lists_assigns_and_refreshes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITYBASE_DATABASE_URL", raising=False)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=200)
    monkeypatch.setattr(common, "console", wide)
    monkeypatch.setattr(common, "err_console", wide)
    monkeypatch.setattr("citybase.cli.grids.console", wide)
    cli = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = cli.invoke(app, list(args))
        assert result.exit_code == code, result.output + repr(result.exception)
        common.state._platform = None
        return result.output

    run("init", "--admin-password", ADMIN_PASSWORD)
    platform = common.state.platform()
    _divisions(platform)
    platform.access.create_user(SYSTEM, "w9", "password-123", "grid_worker", None)
    platform.store.dispose()
    common.state._platform = None
    out = run("grids", "generate")
    assert "9 district, 9 street, 176 community" in out
    assert "exist already" in run("grids", "generate", code=1)
    listing = run("grids", "list", "--level", "street")
    assert "420602001000" in listing and "真武山街道" in listing
    assert "w9 is worker of 420602001013001" in run("grids", "assign", "420602001013001", "w9")
    assert "w9" in run("grids", "list", "--parent", "420602001013")
    assert "no longer worker" in run("grids", "assign", "420602001013001", "w9", "--end")
    assert "not worker" in run("grids", "assign", "420602001013001", "w9", "--end", code=1)
    assert "address nodes mapped" in run("grids", "refresh")
