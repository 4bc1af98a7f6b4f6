"""The people CSV import in chunks (bulk writes for plain rows) against the one-by-one import, on both
databases: the same people, households, residences, histories and row errors, whatever the chunk size;
an interrupted import keeps its committed chunks and resumes from the next line."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from citybase.demo.people import fake_citizen_id
from citybase.domains.access import SYSTEM
from citybase.domains.registry import households as hh
from citybase.domains.registry.people_import import ImportReport, import_people
from citybase.kernel.settings import Settings
from citybase.platform import Platform
from citybase.store.people_tables import household, household_version, person, person_version, residence
from citybase.store.schema import audit_log
from tests.address_tree_helpers import small_tree
from tests.conftest import _empty_postgis
from tests.helpers import ADMIN_PASSWORD


def _cid(seq: int) -> str:
    """A distinct valid citizen ID per ``seq`` (its birth date)."""
    return fake_citizen_id("420602", date(1960, 1, 1) + timedelta(days=seq), 996)


class City:
    """A fresh database with the small tree, two more rooms, a person and a household already registered."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        tree = small_tree(platform)
        a = platform.addresses
        third = a.create(SYSTEM, tree.unit, "room", "504室")
        self.rooms = [tree.room, a.create(SYSTEM, tree.unit, "room", "503室").id, third.id]
        self.code = third.display_code
        self.unit = tree.unit
        platform.people.register(SYSTEM, {"id_number": _cid(900), "name": "早登记"})
        with platform.store.write() as conn:
            hh.create_in(conn, SYSTEM, self.rooms[1], "OLD-1")


def _rows(city: City) -> list[dict[str, str]]:
    r0, r1, r2 = (str(r) for r in city.rooms)
    bad_check = _cid(1)[:-1] + ("1" if _cid(1)[-1] == "0" else "0")
    future = (date.today() + timedelta(days=3)).isoformat()

    def row(seq: int, name: str, **kw: str) -> dict[str, str]:
        return {"id_number": _cid(seq), "name": name, **kw}

    return [
        row(10, "甲无房"),
        row(11, "乙户主", address_node_id=r0, household_number="H1", relation="户主", move_in="2019-04-01"),
        row(12, "乙配偶", address_node_id=r0, household_number="H1", relation="配偶", phone="13800001111"),
        row(13, "乙子女", address_node_id=r0, household_number="H1", relation="子女", residence_type="temporary"),
        row(14, "丙户主", address_node_id=r2, household_number="H2", relation="户主"),
        row(15, "丙新户主", address_node_id=r2, household_number="H2", relation="户主", move_in="2020-01-02"),
        row(16, "丁独居", address_node_id=r1, residence_type="resident"),
        {"id_number": bad_check, "name": "错校验"},
        row(17, "名字1"),
        row(18, "坏电话", phone="12ab"),
        row(19, "坏类型", residence_type="tourist"),
        row(20, "坏关系", address_node_id=r0, household_number="H3", relation="邻居"),
        row(21, "好关系", address_node_id=r0, household_number="H3", relation="户主"),
        row(22, "无此址", address_node_id="987654"),
        row(23, "非住所", address_node_id=str(city.unit)),
        row(24, "坏编码", address_code="NO-SUCH-CODE"),
        row(37, "按编码", address_code=city.code, household_number="H2", relation="子女"),
        row(25, "重号一", address_node_id=r1, household_number="H5", relation="户主"),
        row(25, "重号二"),
        row(900, "早登记二"),
        row(26, "老户成员", address_node_id=r1, household_number="OLD-1", relation="户主"),
        row(27, "异址一", address_node_id=r0, household_number="H4", relation="户主"),
        row(28, "异址二", address_node_id=r2, household_number="H4", relation="子女"),
        row(29, "未来", address_node_id=r1, move_in=future),
        row(30, "坏日期", address_node_id=r1, move_in="2020-13-40"),
        row(31, "户号无址", household_number="H9"),
        row(32, "坏节点", address_node_id="abc", household_number="H6"),
        row(33, "跨块一", address_node_id=r2, household_number="H7", relation="户主"),
        row(34, "跨块二", address_node_id=r2, household_number="H7", relation="配偶"),
        row(35, "跨块三", address_node_id=r2, household_number="H7", relation="子女"),
        row(36, "尾行"),
    ]


def _snapshot(platform: Platform) -> dict[str, Any]:
    """The registry's content by natural keys (citizen ID hash, household number); ciphers and times left out."""
    with platform.store.read() as conn:
        hashes = {r.id: r.id_hash for r in conn.execute(select(person.c.id, person.c.id_hash))}
        numbers = {r.id: r.number for r in conn.execute(select(household.c.id, household.c.number))}
        cols = ("sex", "birth_date", "id_masked", "name_masked", "phone_masked", "residence_type", "state", "version")
        people = sorted((r.id_hash, *(getattr(r, c) for c in cols)) for r in conn.execute(select(person)))
        pv = sorted(
            (hashes[r.person_id], r.version, r.change, r.residence_type, r.state, r.name_masked, r.phone_masked)
            for r in conn.execute(select(person_version))
        )
        homes = sorted(
            (r.number, r.address_node_id, hashes.get(r.head_person_id), r.version, r.state)
            for r in conn.execute(select(household))
        )
        hv = sorted(
            (numbers[r.household_id], r.version, r.change, hashes.get(r.head_person_id), r.address_node_id)
            for r in conn.execute(select(household_version))
        )
        stays = sorted(
            (
                hashes[r.person_id],
                numbers.get(r.household_id),
                r.address_node_id,
                r.relation,
                r.residence_type,
                r.move_in,
                r.move_out,
            )
            for r in conn.execute(select(residence))
        )
    return {"people": people, "versions": pv, "households": homes, "household_versions": hv, "residences": stays}


def _errors(report: ImportReport) -> list[tuple[Any, str, str]]:
    return [(i.record, i.field, re.sub(r"person \d+", "person #", i.reason)) for i in report.errors]


@pytest.fixture
def fresh(settings: Settings, db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Makes a new platform on an empty database (the same key file, so the same look-up hashes)."""
    made: list[Platform] = []

    def make() -> City:
        url = settings.database_url
        if db_kind == "sqlite":
            target = tmp_path / f"fresh-{len(made)}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
            url = f"sqlite:///{target}"
        else:
            for p in made:
                p.store.dispose()
            _empty_postgis(url)
        p = Platform(settings.model_copy(update={"database_url": url}))
        p.init(admin_password=ADMIN_PASSWORD)
        made.append(p)
        return City(p)

    yield make
    for p in made:
        p.meter.flush()
        p.store.dispose()


@pytest.mark.parametrize("chunk", [2_000, 7, 3])
def test_chunked_bulk_import_equals_one_by_one(fresh: Any, chunk: int) -> None:
    ref_city = fresh()
    reference = import_people(ref_city.platform.people, SYSTEM, _rows(ref_city), chunk=0)
    expected = _snapshot(ref_city.platform)
    assert reference.registered == 17 and len(reference.errors) == 14  # the CSV covers good and bad rows
    assert ("address_node_id", 28) in [(i.field, i.record) for i in reference.errors]  # 'abc', a new household
    city = fresh()
    report = import_people(city.platform.people, SYSTEM, _rows(city), chunk=chunk)
    assert (report.rows, report.registered, report.committed) == (reference.rows, reference.registered, 32)
    assert _errors(report) == _errors(reference)
    assert _snapshot(city.platform) == expected


def test_plain_rows_are_written_in_bulk_with_one_audit_entry_per_chunk(fresh: Any) -> None:
    city = fresh()
    rows = [
        {
            "id_number": _cid(100 + i),
            "name": "批量",
            "address_node_id": str(city.rooms[(i // 3) % 3]),
            "household_number": f"B{i // 3}",
            "relation": "户主" if i % 3 == 0 else "子女",
        }
        for i in range(12)
    ]
    report = import_people(city.platform.people, SYSTEM, rows, chunk=6)
    assert (report.registered, report.errors) == (12, [])
    with city.platform.store.read() as conn:
        actions = [
            r.action for r in conn.execute(select(audit_log.c.action).where(audit_log.c.target_type == "person"))
        ]
    assert actions.count("person.bulk_import") == 2 and actions.count("person.register") == 1  # City's own


def test_an_interrupted_import_keeps_committed_chunks_and_resumes(fresh: Any) -> None:
    city = fresh()
    rows = [{"id_number": _cid(200 + i), "name": "续传"} for i in range(10)]

    def stop_after_first(report: ImportReport) -> None:
        if report.committed < 11:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_people(city.platform.people, SYSTEM, rows, chunk=4, progress=stop_after_first)
    assert len(_snapshot(city.platform)["people"]) == 1 + 4  # the person registered before, and lines 2-5
    rest = import_people(city.platform.people, SYSTEM, rows, chunk=4, from_row=6)
    assert (rest.rows, rest.registered, rest.errors, rest.committed) == (6, 6, [], 11)
    assert len(_snapshot(city.platform)["people"]) == 11
