"""The demo city's standard addresses: every building, door plate, compound, unit and room has its node,
and the tree round-trips through the interchange CSV into a fresh database. Both databases."""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from citybase.demo import build_demo
from citybase.domains.access import SYSTEM
from citybase.domains.addresses import IMPORT_ADDRESSES_JOB, export_file, job_params
from citybase.kernel.settings import Settings
from citybase.platform import Platform
from citybase.store import Store, upgrade
from citybase.store.address_tables import address_node
from citybase.store.schema import city_object
from tests.helpers import ADMIN_PASSWORD

ADDRESSED = ("050101", "050102", "050103", "050201", "050301")


@pytest.fixture
def fresh_platform(
    db_kind: str, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Platform]:
    """A second, empty platform on the same kind of database."""
    if db_kind == "sqlite":
        target = tmp_path / "fresh.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        url, drop = f"sqlite:///{target}", None
    else:
        server = Store(request.getfixturevalue("postgres_server_url")).url
        name = f"citybase_fresh_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        url, drop = server.rsplit("/", 1)[0] + f"/{name}", name
        store = Store(url)
        upgrade(store)
        store.dispose()
    p = Platform(settings.model_copy(update={"database_url": url, "data_dir": tmp_path / "fresh"}))
    p.init(admin_password=ADMIN_PASSWORD)
    yield p
    p.store.dispose()
    if drop:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {drop} WITH (FORCE)")
        admin.dispose()


def test_demo_addresses_round_trip(platform: Platform, fresh_platform: Platform, tmp_path: Path) -> None:
    build_demo(platform, "tiny")
    with platform.store.read() as conn:
        objects = {
            int(r.id): r.class_code
            for r in conn.execute(
                select(city_object.c.id, city_object.c.class_code).where(city_object.c.class_code.in_(ADDRESSED))
            )
        }
        linked = Counter(
            int(r.object_id)
            for r in conn.execute(select(address_node.c.object_id).where(address_node.c.object_id.is_not(None)))
        )
    # every building, unit, room, door plate and compound has exactly one node linked to it
    assert set(objects) <= set(linked) and all(linked[o] == 1 for o in objects)
    levels = Counter(r.level for r in platform.addresses.iter_records())
    assert levels["room"] == Counter(objects.values())["050103"] == 2574
    assert levels["door_number"] == 4 and levels["district"] == 9
    room = next(platform.addresses.iter_records(levels=["room"]))
    assert room.full_address.startswith("湖北省襄阳市襄城区") and room.full_address.endswith("室")
    assert room.community and room.lon is not None and room.grid

    first = tmp_path / "first.csv"
    count = export_file(platform.addresses, first)
    job = fresh_platform.jobs.submit(SYSTEM, IMPORT_ADDRESSES_JOB, job_params(SYSTEM, first))
    fresh_platform.jobs.run_one()
    result = fresh_platform.jobs.get(job.id)
    assert result.state == "succeeded" and result.result is not None and result.result["failed"] == 0
    second = tmp_path / "second.csv"
    assert export_file(fresh_platform.addresses, second) == count
    assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")  # the same tree, row by row
    before = fresh_platform.addresses.revision()
    fresh_platform.jobs.submit(SYSTEM, IMPORT_ADDRESSES_JOB, job_params(SYSTEM, first))
    fresh_platform.jobs.run_one()
    assert fresh_platform.addresses.revision() == before  # importing it again changes nothing
