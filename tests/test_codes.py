"""The code service on both databases: assignment, concurrency, lifecycle and lineage, business nodes."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import func, select

from citybase.domains.access import SYSTEM, Actor, Role
from citybase.domains.codes import ASSIGN_JOB, Part, Selection
from citybase.domains.codes import bulk as bulk_module
from citybase.domains.codes import writing as writing_module
from citybase.domains.objects import NewObject, ObjectChanges
from citybase.kernel.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from citybase.platform import Platform
from citybase.standards import beidou
from citybase.standards.unified_code import make_code, parse_code, validate_code
from citybase.store.schema import city_object, code_counter, code_lineage, code_registry, job, object_beidou
from tests.helpers import ORIGIN, add_building, add_department, add_lamp, building_footprint, point_at

DEFAULT = "420600"  # settings.division_code of the test platform


def add_district(platform: Platform, code: str, area: Any, name: str = "区") -> int:
    return platform.objects.create(
        SYSTEM, NewObject("070101", name, MultiPolygon([area]), {"division_code": code})
    ).id


def add_lamps(platform: Platform, n: int, department_id: int | None = None, **attrs: Any) -> list[int]:
    news = [
        NewObject("010301", f"路灯{i}", point_at(i * 1e-5, 0), {"lamp_type": "LED", **attrs}, department_id)
        for i in range(n)
    ]
    return platform.objects.create_many(SYSTEM, news)


def counters(platform: Platform) -> dict[tuple[str, str], int]:
    with platform.store.read() as conn:
        return {(r.division, r.class_code): r.next_serial for r in conn.execute(select(code_counter))}


def count(platform: Platform, table: Any, *conds: Any) -> int:
    with platform.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*conds)).scalar_one())


# --- assignment ----------------------------------------------------------------------------------------


def test_one_object_gets_a_valid_code_and_its_beidou_code(platform: Platform) -> None:
    b = add_building(platform)
    done = platform.codes.assign(SYSTEM, b.id)
    assert done.code == make_code(DEFAULT, "050101", 1)
    validate_code(done.code, known_classes={"050101"})
    centre = building_footprint().point_on_surface()
    assert done.beidou == beidou.encode(centre.x, centre.y, 10)
    assert platform.objects.get(b.id).code == done.code
    card = platform.codes.resolve(done.code)
    assert (card.object_id, card.class_name, card.state, card.code_state) == (b.id, "建筑物", "active", "active")
    assert card.beidou is not None and card.beidou.code2d == done.beidou and card.address is None
    # assigning is not a change of the object: no new version, the registry records when
    assert len(platform.objects.history(b.id)) == 1


def test_a_height_adds_a_3d_beidou_code(platform: Platform) -> None:
    lamp = add_lamp(platform)
    platform.codes.assign(SYSTEM, lamp.id, height=35.5)
    card = platform.codes.object_code(lamp.id)
    assert card.beidou is not None and card.beidou.height_m == 35.5
    from citybase.standards.beidou3d import encode3d

    assert card.beidou.code3d == encode3d(ORIGIN[0], ORIGIN[1], 35.5)


def test_the_division_is_the_district_holding_the_object(platform: Platform) -> None:
    add_district(platform, "420602", box(ORIGIN[0] - 0.01, ORIGIN[1] - 0.01, ORIGIN[0] + 0.01, ORIGIN[1] + 0.01))
    inside, outside = add_lamp(platform), add_lamp(platform, dx=0.5)
    nowhere = platform.objects.create(SYSTEM, NewObject("080101", "某单位", None, {}))
    got = {a.object_id: a.code[:6] for a in platform.codes.assign_many(SYSTEM, [inside.id, outside.id, nowhere.id])}
    assert got == {inside.id: "420602", outside.id: DEFAULT, nowhere.id: DEFAULT}
    assert platform.codes.object_code(nowhere.id).beidou is None


def test_a_district_with_a_stale_division_code_is_a_clear_error(platform: Platform) -> None:
    add_district(platform, "420603", box(ORIGIN[0] - 0.01, ORIGIN[1] - 0.01, ORIGIN[0] + 0.01, ORIGIN[1] + 0.01))
    lamp = add_lamp(platform)
    with pytest.raises(InvalidInputError, match="cannot locate") as err:
        platform.codes.assign(SYSTEM, lamp.id)
    assert "420603" in err.value.issues[0].reason and "420606" in err.value.issues[0].reason
    assert platform.objects.get(lamp.id).code is None and counters(platform) == {}


def test_a_code_is_given_once(platform: Platform) -> None:
    lamp = add_lamp(platform)
    first = platform.codes.assign(SYSTEM, lamp.id)
    with pytest.raises(ConflictError, match="already has code"):
        platform.codes.assign(SYSTEM, lamp.id)
    assert platform.objects.get(lamp.id).code == first.code and counters(platform) == {(DEFAULT, "010301"): 2}


def test_departments_code_their_own_objects_only(platform: Platform) -> None:
    zjj, cgj = add_department(platform, "zjj", "住建局"), add_department(platform, "cgj", "城管局")
    lamp = add_lamp(platform, department_id=cgj.id)
    zjj_user = Actor("wang", "user", Role.DEPARTMENT_USER, zjj.id)
    with pytest.raises(PermissionDeniedError, match="一数一源"):
        platform.codes.assign(zjj_user, lamp.id)
    with pytest.raises(PermissionDeniedError):
        platform.codes.submit_bulk(zjj_user, Selection(department_id=cgj.id))
    assert platform.codes.assign(Actor("li", "user", Role.DEPARTMENT_USER, cgj.id), lamp.id).code


def test_bulk_assignment_runs_as_a_resumable_job_in_chunks(platform: Platform) -> None:
    ids = add_lamps(platform, 120)
    building = add_building(platform)
    platform.codes.chunk = 50
    job = platform.codes.submit_bulk(SYSTEM, Selection(class_code="010301"))
    finished = platform.jobs.run_one()
    assert finished is not None and finished.id == job.id and finished.state == "succeeded", finished
    assert finished.result is not None and finished.result["coded"] == 120 and finished.result["chunks"] == 3
    assert (finished.done, finished.total) == (120, 120) and finished.checkpoint == {"coded": 120}
    codes = [platform.objects.get(i).code for i in ids]
    assert codes == [make_code(DEFAULT, "010301", s) for s in range(1, 121)]
    assert platform.objects.get(building.id).code is None  # not in the selection
    assert count(platform, code_registry) == 120 and count(platform, object_beidou) == 120
    assert counters(platform) == {(DEFAULT, "010301"): 121}


def test_an_interrupted_bulk_run_resumes_after_the_last_chunk(platform: Platform, monkeypatch: Any) -> None:
    ids = add_lamps(platform, 30)
    platform.codes.chunk = 10
    calls = {"n": 0}
    real = bulk_module.write

    def crash_on_third(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_module, "write", crash_on_third)
    platform.codes.submit_bulk(SYSTEM, Selection())
    failed = platform.jobs.run_one()
    assert failed is not None and failed.state == "failed" and failed.checkpoint == {"coded": 20}
    assert count(platform, city_object, city_object.c.code.is_not(None)) == 20  # two whole chunks, no half chunk
    with platform.store.write() as conn:  # what a restart does with an interrupted job
        conn.execute(job.update().where(job.c.id == failed.id).values(state="queued"))
    resumed = platform.jobs.run_one()
    assert resumed is not None and resumed.state == "succeeded", resumed
    assert resumed.result is not None and resumed.result["resumed_at"] == 20 and resumed.result["coded"] == 10
    codes = [platform.objects.get(i).code for i in ids]
    assert None not in codes and len(set(codes)) == 30
    # the failed chunk's serials were taken in their own transaction: a gap, never handed out again
    assert counters(platform) == {(DEFAULT, "010301"): 41}


def _concurrent_assign(platforms: list[Platform], ids: list[int], threads: int) -> list[str]:
    errors: list[BaseException] = []
    codes: list[str] = []
    lock = threading.Lock()
    per = len(ids) // threads

    def work(k: int) -> None:
        p = platforms[k % len(platforms)]
        try:
            for object_id in ids[k * per : (k + 1) * per]:
                code = p.codes.assign(SYSTEM, object_id).code
                with lock:
                    codes.append(code)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    return codes


def test_concurrent_writers_never_get_the_same_code(platform: Platform) -> None:
    ids = add_lamps(platform, 400)
    second = Platform(platform.settings)  # a second process on the same database
    try:
        codes = _concurrent_assign([platform, second], ids, threads=8)
    finally:
        second.store.dispose()
    assert len(codes) == 400 and len(set(codes)) == 400
    assert sorted(parse_code(c).serial or 0 for c in codes) == list(range(1, 401))
    assert counters(platform) == {(DEFAULT, "010301"): 401}
    assert count(platform, code_registry) == 400
    assert count(platform, city_object, city_object.c.code.is_not(None)) == 400


def test_bulk_and_single_assignment_side_by_side(platform: Platform) -> None:
    ids = add_lamps(platform, 200)
    platform.codes.chunk = 40
    singles: list[str] = []

    def single() -> None:
        for object_id in ids[::7]:
            with contextlib.suppress(ConflictError):  # the bulk run got there first
                singles.append(platform.codes.assign(SYSTEM, object_id).code)

    t = threading.Thread(target=single)
    t.start()
    platform.codes.run_bulk(Selection())
    t.join()
    codes = [platform.objects.get(i).code for i in ids]
    assert None not in codes and len(set(codes)) == 200
    # a bulk chunk that lost a race to a single assignment leaves its serials unused, never reused
    (next_serial,) = counters(platform).values()
    assert next_serial > max(parse_code(c or "").serial or 0 for c in codes)


def test_codes_are_never_reused_after_retirement(platform: Platform) -> None:
    a, b = add_lamp(platform, "a"), add_lamp(platform, "b", dx=1e-4)
    code_a = platform.codes.assign(SYSTEM, a.id).code
    platform.codes.assign(SYSTEM, b.id)
    platform.codes.retire(SYSTEM, code_a)
    c = add_lamp(platform, "c", dx=2e-4)
    code_c = platform.codes.assign(SYSTEM, c.id).code
    assert parse_code(code_c).serial == 3
    card = platform.codes.resolve(code_a)
    assert (card.code_state, card.state, card.replaced_by) == ("retired", "retired", [])
    assert card.retired_at is not None
    with platform.store.read() as conn:
        assert conn.execute(select(code_registry.c.state).where(code_registry.c.code == code_a)).scalar() == "retired"
    with pytest.raises(ConflictError, match="retired"):
        platform.codes.retire(SYSTEM, code_a)


def test_an_object_retired_by_the_object_service_resolves_as_retired(platform: Platform) -> None:
    lamp = add_lamp(platform)
    code = platform.codes.assign(SYSTEM, lamp.id).code
    platform.objects.retire(SYSTEM, lamp.id, 1)
    assert platform.codes.resolve(code).code_state == "retired"


# --- all or nothing --------------------------------------------------------------------------------


def _legacy_class(platform: Platform) -> None:
    platform.classes.create(SYSTEM, {
        "code": "019901", "major": "公用设施", "medium": "扩展设施", "name": "测试设施", "name_en": "Test asset",
        "geometry_type": "Point", "attributes": [{"name": "legacy_id", "type": "string"}],
    })


def _legacy_objects(platform: Platform, legacy_ids: list[str], department_id: int) -> list[int]:
    news = [NewObject("019901", f"设施{i}", point_at(i * 1e-5, 0), {"legacy_id": lid}, department_id)
            for i, lid in enumerate(legacy_ids)]
    return platform.objects.create_many(SYSTEM, news)


def test_bulk_assignment_maps_legacy_ids_in_the_crosswalk(platform: Platform) -> None:
    _legacy_class(platform)
    dept = add_department(platform)
    ids = _legacy_objects(platform, [f"ZJ-{i:04d}" for i in range(25)], dept.id)
    platform.codes.chunk = 10
    result = platform.codes.run_bulk(Selection(legacy_attribute="legacy_id"))
    assert result["coded"] == 25
    entry = platform.codes.lookup_legacy("zjj", "ZJ-0007")
    assert entry.code == platform.objects.get(ids[7]).code and entry.department_code == "zjj"


@pytest.mark.parametrize("case", ["repeated in the selection", "already mapped", "no department"])
def test_a_failing_bulk_run_issues_no_code_at_all(platform: Platform, case: str) -> None:
    _legacy_class(platform)
    dept = add_department(platform)
    legacy = [f"ZJ-{i:04d}" for i in range(30)]
    if case == "repeated in the selection":
        legacy[29] = legacy[3]
    if case == "already mapped":
        other = _legacy_objects(platform, ["X"], dept.id)[0]
        platform.codes.assign(SYSTEM, other)
        platform.codes.map_legacy(SYSTEM, "zjj", legacy[29], platform.objects.get(other).code or "")
    ids = _legacy_objects(platform, legacy, None if case == "no department" else dept.id)  # type: ignore[arg-type]
    before = counters(platform)
    platform.codes.chunk = 10
    platform.codes.submit_bulk(SYSTEM, Selection(class_code="019901", legacy_attribute="legacy_id"))
    failed = platform.jobs.run_one()
    assert failed is not None and failed.state == "failed" and "no code was issued" in (failed.message or "")
    assert failed.errors and all(e["field"] == "attributes.legacy_id" for e in failed.errors)
    assert all(platform.objects.get(i).code is None for i in ids)
    assert counters(platform) == before


def test_an_immediate_batch_is_one_transaction(platform: Platform, monkeypatch: Any) -> None:
    ids = add_lamps(platform, 5)
    with pytest.raises(ConflictError, match="no object 999"):
        platform.codes.assign_many(SYSTEM, [*ids, 999])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writing_module, "_apply", broken)
    with pytest.raises(RuntimeError):
        platform.codes.assign_many(SYSTEM, ids)
    assert all(platform.objects.get(i).code is None for i in ids)
    assert counters(platform) == {} and count(platform, code_registry) == 0


# --- lifecycle and lineage -------------------------------------------------------------------------


def test_merge_and_split_keep_lineage_and_retired_codes_resolve(platform: Platform) -> None:
    a, b = add_building(platform, "东楼"), add_building(platform, "西楼", dx=0.0003)
    code_a, code_b = (platform.codes.assign(SYSTEM, o.id).code for o in (a, b))
    merged = platform.codes.merge(SYSTEM, [code_a, code_b], Part("东西楼"))
    assert merged.name == "东西楼" and merged.geometry is not None
    assert shapely.equals(merged.geometry, shapely.union_all([a.geometry, b.geometry]))
    assert {x.from_code for x in merged.came_from} == {code_a, code_b} and merged.went_to == []
    old = platform.codes.resolve(code_a)
    assert (old.code_state, old.replaced_by, old.went_to[0].kind) == ("retired", [merged.code], "merge")
    assert [v.change for v in platform.objects.history(a.id)] == ["create", "merge"]

    halves = [Part("东半", building_footprint(0, 0)), Part("西半", building_footprint(0.0003, 0))]
    parts = platform.codes.split(SYSTEM, merged.code, halves)
    assert [p.name for p in parts] == ["东半", "西半"] and len({p.code for p in parts}) == 2
    assert all(p.came_from[0].from_code == merged.code and p.came_from[0].kind == "split" for p in parts)
    gone = platform.codes.resolve(merged.code)
    assert gone.replaced_by == [p.code for p in parts] and gone.code_state == "retired"
    assert [x.from_code for x in gone.came_from] == sorted([code_a, code_b])
    with pytest.raises(ConflictError, match="retired"):
        platform.codes.merge(SYSTEM, [code_a, parts[0].code], Part("x"))
    assert count(platform, code_lineage) == 4


def test_merge_refuses_mixed_classes_and_single_codes(platform: Platform) -> None:
    b, lamp = add_building(platform), add_lamp(platform)
    code_b, code_l = (platform.codes.assign(SYSTEM, o.id).code for o in (b, lamp))
    with pytest.raises(InvalidInputError, match="cannot merge"):
        platform.codes.merge(SYSTEM, [code_b, code_l], Part("x"))
    with pytest.raises(InvalidInputError, match="nothing to merge"):
        platform.codes.merge(SYSTEM, [code_b, code_b], Part("x"))
    with pytest.raises(InvalidInputError, match="nothing to split"):
        platform.codes.split(SYSTEM, code_b, [Part("x")])
    assert platform.objects.get(b.id).state == "active" and count(platform, code_lineage) == 0


def test_a_failed_split_changes_nothing(platform: Platform) -> None:
    b = add_building(platform)
    code = platform.codes.assign(SYSTEM, b.id).code
    bad = [Part("东半", building_footprint()), Part("西半", Point(ORIGIN))]  # a point is no building
    with pytest.raises(InvalidInputError, match="takes Polygon"):
        platform.codes.split(SYSTEM, code, bad)
    assert platform.codes.resolve(code).code_state == "active" and count(platform, code_registry) == 1
    assert count(platform, city_object) == 1


def test_building_business_nodes_keep_the_code_and_write_versions(platform: Platform) -> None:
    dept = add_department(platform)
    permit = platform.codes.planning_permit(
        SYSTEM, Part("滨江花园3号楼", building_footprint(), {"floors": 18, "use": "住宅"}),
        permit_no="建字第420602202600123号", permit_date="2026-03-01", department_id=dept.id,
    )
    assert permit.state == "planned" and permit.attributes["permit_no"] == "建字第420602202600123号"
    surveyed = platform.codes.area_survey(SYSTEM, permit.code, area_m2=12650.4, survey_date="2027-09-30")
    assert surveyed.state == "planned" and surveyed.attributes["surveyed_area_m2"] == 12650.4
    accepted = platform.codes.completion_acceptance(SYSTEM, permit.code, acceptance_date="2027-11-15")
    assert accepted.code == surveyed.code == permit.code
    assert (accepted.state, accepted.attributes["acceptance_date"], accepted.attributes["floors"]) == (
        "active", "2027-11-15", 18)
    history = platform.objects.history(permit.object_id)
    assert [(v.change, v.state, v.code) for v in history] == [
        ("create", "planned", None), ("survey", "planned", permit.code), ("acceptance", "active", permit.code)]
    with pytest.raises(InvalidInputError, match="not a date"):
        platform.codes.completion_acceptance(SYSTEM, permit.code, acceptance_date="2027-02-30")
    lamp_code = platform.codes.assign(SYSTEM, add_lamp(platform).id).code
    with pytest.raises(InvalidInputError, match="not a building"):
        platform.codes.area_survey(SYSTEM, lamp_code, area_m2=1, survey_date="2027-01-01")


def test_a_surveyed_footprint_moves_the_beidou_code(platform: Platform) -> None:
    card = platform.codes.planning_permit(SYSTEM, Part("楼", building_footprint(), {"floors": 3}),
                                          permit_no="P1", permit_date="2026-01-01")
    moved = building_footprint(0.001, 0.001)
    after = platform.codes.area_survey(SYSTEM, card.code, area_m2=900, survey_date="2026-06-01", geometry=moved)
    centre = moved.point_on_surface()
    assert after.beidou is not None and after.beidou.code2d == beidou.encode(centre.x, centre.y, 10)


# --- crosswalk -------------------------------------------------------------------------------------


def test_crosswalk_is_many_to_one_and_conflicts_are_clear(platform: Platform) -> None:
    add_department(platform, "zjj", "住建局")
    add_department(platform, "bdc", "不动产登记中心")
    a, b = add_building(platform), add_building(platform, "2号楼", dx=0.001)
    code_a, code_b = (platform.codes.assign(SYSTEM, o.id).code for o in (a, b))
    platform.codes.map_legacy(SYSTEM, "zjj", "LP-001", code_a)
    platform.codes.map_legacy(SYSTEM, "bdc", "BDC/2019/77", code_a)
    platform.codes.map_legacy(SYSTEM, "zjj", "LP-001", code_a)  # the same again: fine
    assert {(e.department_code, e.legacy_id) for e in platform.codes.legacy_ids(code_a)} == {
        ("zjj", "LP-001"), ("bdc", "BDC/2019/77")}
    with pytest.raises(ConflictError, match="already maps to code") as err:
        platform.codes.map_legacy(SYSTEM, "zjj", "LP-001", code_b)
    assert err.value.issues[0].field == "legacy_id"
    assert platform.codes.lookup_legacy("bdc", " BDC/2019/77 ").code == code_a
    with pytest.raises(NotFoundError, match="no legacy id"):
        platform.codes.lookup_legacy("zjj", "LP-999")
    with pytest.raises(NotFoundError, match="no department"):
        platform.codes.lookup_legacy("nope", "LP-001")
    with pytest.raises(InvalidInputError, match="bad legacy id"):
        platform.codes.map_legacy(SYSTEM, "zjj", "x" * 101, code_a)
    platform.codes.retire(SYSTEM, code_b)
    with pytest.raises(ConflictError, match="retired"):
        platform.codes.map_legacy(SYSTEM, "zjj", "LP-002", code_b)
    platform.codes.unmap_legacy(SYSTEM, "zjj", "LP-001")
    assert platform.codes.map_legacy(SYSTEM, "zjj", "LP-001", parse_code(code_a).text).code == code_a
    unknown = make_code(DEFAULT, "050101", 77)
    with pytest.raises(NotFoundError, match="not issued"):
        platform.codes.map_legacy(SYSTEM, "zjj", "LP-003", unknown)


# --- health ----------------------------------------------------------------------------------------


def test_the_health_report_finds_each_kind_of_problem(platform: Platform) -> None:
    dept = add_department(platform)
    other = add_department(platform, "cgj", "城管局")
    district = box(ORIGIN[0] - 0.01, ORIGIN[1] - 0.01, ORIGIN[0] + 0.01, ORIGIN[1] + 0.01)
    add_district(platform, "420602", district)
    uncoded = add_building(platform, "未赋码楼", department_id=dept.id)
    dup = add_building(platform, "重复楼", dx=0.001, department_id=dept.id)
    gone = add_building(platform, "拆除楼", dx=0.002, department_id=dept.id)
    moved = add_building(platform, "搬迁楼", dx=0.003, department_id=dept.id)
    unit = platform.objects.create(SYSTEM, NewObject("050102", "1单元", point_at(0.0021, 0.0001), {"unit_no": 1},
                                                     dept.id, parent_id=gone.id))
    add_lamp(platform, "别的部门的灯", department_id=other.id)
    codes = {o.id: platform.codes.assign(SYSTEM, o.id).code for o in (dup, gone, moved, unit)}
    platform.codes.map_legacy(SYSTEM, "zjj", "A-1", codes[dup.id])
    platform.codes.map_legacy(SYSTEM, "zjj", "A-1bis", codes[dup.id])
    platform.codes.map_legacy(SYSTEM, "zjj", "B-7", codes[gone.id])
    successor = platform.codes.merge(SYSTEM, [codes[gone.id], codes[dup.id]], Part("合并楼"))
    platform.objects.update(SYSTEM, moved.id, 1, ObjectChanges(geometry=building_footprint(0.5, 0)))

    report = platform.codes.health(SYSTEM, "zjj")
    assert report.department_id == dept.id
    assert report.problem("uncoded").count == 1 and report.problem("uncoded").samples[0]["object_id"] == uncoded.id
    assert report.problem("duplicate_legacy_ids").samples == [
        {"department_id": dept.id, "code": codes[dup.id], "legacy_ids": ["A-1", "A-1bis"]}]
    retired = report.problem("retired_crosswalk")
    assert retired.count == 3
    assert {s["legacy_id"]: s["replaced_by"] for s in retired.samples} == {
        "A-1": [successor.code], "A-1bis": [successor.code], "B-7": [successor.code]}
    parent = report.problem("retired_parent")
    assert parent.count == 1 and parent.samples[0]["object_id"] == unit.id
    assert parent.samples[0]["parent_replaced_by"] == [successor.code]
    mismatch = report.problem("division_mismatch")
    assert [(s["object_id"], s["division"], s["located_in"]) for s in mismatch.samples] == [
        (moved.id, "420602", DEFAULT)]
    assert report.problem("stale_beidou").samples[0]["object_id"] == moved.id
    everyone = platform.codes.health(SYSTEM)
    assert everyone.problem("uncoded").count == 3  # + the lamp of cgj and the district itself
    anonymous = Actor("anonymous", "anonymous", Role.VIEWER)
    with pytest.raises(PermissionDeniedError):
        platform.codes.health(anonymous, "zjj")


def test_the_job_kind_is_registered(platform: Platform) -> None:
    assert ASSIGN_JOB in platform.jobs.handlers


# --- migration 0002 --------------------------------------------------------------------------------


def test_migration_0002_adds_the_business_node_attributes_to_an_existing_seed_class(
    db_kind: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    import uuid

    import sqlalchemy as sa

    from citybase.domains.objects.classes import build_class, insert_class, seed_classes
    from citybase.store import Store, upgrade
    from citybase.store.schema import object_class

    admin = None
    if db_kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        server = Store(request.getfixturevalue("postgres_server_url")).url
        name = f"citybase_old_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        url = server.rsplit("/", 1)[0] + f"/{name}"
    store = Store(url)
    try:
        upgrade(store, "0001")
        new = {"permit_no", "permit_date", "surveyed_area_m2", "survey_date", "acceptance_date"}
        with store.write() as conn:  # the building class as a database made before 0002 has it
            building = next(c for c in seed_classes() if c["code"] == "050101")
            old = {**building, "attributes": [a for a in building["attributes"] if a["name"] not in new]}
            insert_class(conn, build_class(old))
        upgrade(store)
        with store.read() as conn:
            attrs = conn.execute(sa.select(object_class.c.attributes).where(object_class.c.code == "050101")).scalar()
        assert [a["name"] for a in attrs] == [a["name"] for a in building["attributes"]]
    finally:
        store.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
            admin.dispose()
