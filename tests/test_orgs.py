"""Actual organisations (实有单位): USCC validation, duplicates, masking of the legal representative,
optimistic locking, binding history, cross-checks and CSV import. Both databases."""

from __future__ import annotations

from typing import Any

import pytest

from citybase.demo.houses import make_uscc
from citybase.domains.access import SYSTEM, Actor, Role, audit_entries
from citybase.kernel.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from citybase.platform import Platform
from tests.address_tree_helpers import small_tree
from tests.helpers import add_department

BUILDING_TEXT = "湖北省襄阳市襄城区真武山街道长虹路57号檀溪花园3栋"


def org(n: int, **kw: Any) -> dict[str, Any]:
    return {
        "uscc": make_uscc(n),
        "name": f"襄阳测试{n}有限公司",
        "type": "enterprise",
        "legal_rep": "欧阳修文",
        "registered_address": "襄阳市某处",
        **kw,
    }


def test_bad_uscc_names_field_and_reason(platform: Platform) -> None:
    good = make_uscc(7)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(InvalidInputError) as exc:
        platform.orgs.register(SYSTEM, org(7, uscc=bad))
    issue = exc.value.issues[0]
    assert issue.field == "uscc" and "check character" in issue.reason and issue.record == bad
    with pytest.raises(InvalidInputError) as exc:
        platform.orgs.register(SYSTEM, org(7, uscc="91420600ABCDEFGHIO", type="pirate", name=""))
    fields = {i.field for i in exc.value.issues}
    assert {"uscc", "type", "name"} <= fields
    assert any("alphabet" in i.reason for i in exc.value.issues if i.field == "uscc")
    with platform.store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM organisation").scalar() == 0


def test_duplicates_masking_versions(platform: Platform) -> None:
    made = platform.orgs.register(SYSTEM, org(1))
    assert made["legal_rep"] == "欧阳**" and made["version"] == 1 and made["history"][0]["change"] == "register"
    with platform.store.read() as conn:
        cipher = str(conn.exec_driver_sql("SELECT legal_rep_cipher FROM organisation").scalar())
    assert cipher.startswith("v1:") and "欧阳修文" not in cipher  # a dump alone does not reveal the name
    with pytest.raises(ConflictError) as exc:
        platform.orgs.register(SYSTEM, org(1, name="另一家"))
    assert exc.value.issues[0].field == "uscc" and "duplicate" in exc.value.issues[0].reason
    updated = platform.orgs.update(SYSTEM, made["id"], 1, {"status": "closed"})
    assert updated["version"] == 2 and updated["status"] == "closed"
    with pytest.raises(ConflictError):
        platform.orgs.update(SYSTEM, made["id"], 1, {"status": "moved"})
    with pytest.raises(InvalidInputError):
        platform.orgs.update(SYSTEM, made["id"], 2, {"status": "vanished"})
    assert [h["version"] for h in platform.orgs.get(SYSTEM, made["id"])["history"]] == [1, 2]


def test_only_personal_data_readers_see_the_legal_rep_and_every_read_is_audited(platform: Platform) -> None:
    made = platform.orgs.register(SYSTEM, org(2))
    dept_user = Actor("zjj-user", "user", Role.DEPARTMENT_USER, 1)
    with pytest.raises(PermissionDeniedError):
        platform.orgs.legal_rep(dept_user, made["id"], "核查")
    admin = Actor("admin", "user", Role.PLATFORM_ADMIN)
    with pytest.raises(InvalidInputError):
        platform.orgs.legal_rep(admin, made["id"], "")
    assert platform.orgs.legal_rep(admin, made["id"], "企业核查") == "欧阳修文"
    entries = audit_entries(platform.store, SYSTEM, action="organisation.legal_rep.read")
    assert len(entries) == 1 and entries[0].purpose == "企业核查" and entries[0].actor == "admin"
    assert platform.orgs.search(dept_user, make_uscc(2)[:10])[0]["legal_rep"] == "欧阳**"


def test_binding_keeps_history(platform: Platform) -> None:
    t = small_tree(platform)
    made = platform.orgs.register(SYSTEM, org(3))
    grid_worker = Actor("gw", "user", Role.GRID_WORKER)
    platform.orgs.bind(grid_worker, {"uscc": made["uscc"], "address_node_id": t.room, "kind": "operating"})
    card = platform.orgs.bind(grid_worker, {"uscc": made["uscc"], "address_node_id": t.building})
    operating = [s for s in card["sites"] if s["kind"] == "operating"]
    assert [s["address_node_id"] for s in operating] == [t.room, t.building]
    assert operating[0]["until"] is not None and operating[1]["until"] is None
    with pytest.raises(InvalidInputError) as exc:
        platform.orgs.bind(grid_worker, {"uscc": made["uscc"], "address_node_id": "x", "kind": "home"})
    assert {i.field for i in exc.value.issues} == {"address_node_id", "kind"}
    with pytest.raises(NotFoundError):
        platform.orgs.bind(grid_worker, {"uscc": make_uscc(99), "address_node_id": t.room})
    with pytest.raises(PermissionDeniedError):
        platform.orgs.bind(Actor("v", "user", Role.VIEWER), {"uscc": made["uscc"], "address_node_id": t.room})


def test_cross_checks_find_suspected_problem_companies(platform: Platform) -> None:
    t = small_tree(platform)
    platform.houses.create(SYSTEM, t.building, {"use": "residential"})
    for n in range(10, 17):  # seven registrations at one flat
        platform.orgs.register(SYSTEM, org(n, registered_address=BUILDING_TEXT))
    platform.orgs.register(SYSTEM, org(20, registered_address="湖北省襄阳市襄城区幸福大道999号"))
    report = platform.orgs.cross_checks(SYSTEM, max_registrations=5)
    assert report["checked"] == 8
    assert [o["uscc"] for o in report["nonexistent"]] == [make_uscc(20)]
    assert {o["uscc"] for o in report["not_commercial"]} == {make_uscc(n) for n in range(10, 17)}
    assert report["not_commercial"][0]["house_use"] == "residential"
    [crowded] = report["crowded"]
    assert crowded["address_node_id"] == t.building and crowded["registrations"] == 7
    assert platform.orgs.cross_checks(SYSTEM, max_registrations=7)["crowded"] == []
    with pytest.raises(InvalidInputError):
        platform.orgs.cross_checks(SYSTEM, max_registrations=0)


def test_csv_import_reports_bad_rows_and_reads_gbk(platform: Platform) -> None:
    header = "uscc,name,type,legal_rep,registered_address\n"
    rows = [
        f"{make_uscc(30)},襄阳甲公司,enterprise,李四,襄阳市某处",
        "91420600XXXXXXXXX1,坏代码,enterprise,,襄阳市",
        f"{make_uscc(31)},襄阳乙公司,alien,,襄阳市",
        f"{make_uscc(30)},重复,enterprise,,襄阳市",
    ]
    report = platform.orgs.import_csv(SYSTEM, (header + "\n".join(rows)).encode("gbk"))
    assert report["registered"] == 1 and report["failed"] == 3
    assert {(e["row"], e["field"]) for e in report["errors"]} == {(3, "uscc"), (4, "type"), (5, "uscc")}
    assert platform.orgs.search(SYSTEM, "襄阳甲")[0]["legal_rep"] == "李*"
    with pytest.raises(InvalidInputError):
        platform.orgs.import_csv(SYSTEM, b"name\nx\n")


def test_collection_loop_appliers(platform: Platform) -> None:
    t = small_tree(platform)
    with platform.store.write() as conn:
        made = platform.orgs.apply_register_org(conn, SYSTEM, {**org(40), "task_id": 9, "note": "新店"})
        bound = platform.orgs.apply_bind_org(
            conn, SYSTEM, {"uscc": made["uscc"], "address_node_id": t.room, "task_id": 9}
        )
    assert [s["address_node_id"] for s in bound["sites"]] == [t.room]
    assert {"house.update", "org.bind", "org.register"} <= set(platform.collect.appliers())
    with pytest.raises(ConflictError), platform.store.write() as conn:
        platform.orgs.apply_register_org(conn, SYSTEM, org(40))


def test_a_department_grant_over_everyone_unmasks_the_legal_rep(platform: Platform) -> None:
    made = platform.orgs.register(SYSTEM, org(50))
    scjgj = add_department(platform, "scjgj", "襄阳市市场监督管理局")
    other = add_department(platform, "gaj", "襄阳市公安局")
    user = Actor("scjgj-user", "user", Role.DEPARTMENT_USER, scjgj.id)
    with pytest.raises(PermissionDeniedError):
        platform.orgs.legal_rep(user, made["id"], "执法检查")
    platform.personal_grants.grant(Actor("admin", "user", Role.PLATFORM_ADMIN), scjgj.id, "all", "市场监管")
    assert platform.orgs.legal_rep(user, made["id"], "执法检查") == "欧阳修文"
    with pytest.raises(PermissionDeniedError):  # another department's key gets nothing from that grant
        platform.orgs.legal_rep(Actor("gaj-key", "api_key", Role.DEPARTMENT_USER, other.id), made["id"], "x")
