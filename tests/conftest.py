"""Shared fixtures: every test that takes ``platform`` (or ``store``, ``api``) runs on SQLite and on PostGIS.

PostGIS comes from ``CITYBASE_TEST_POSTGRES_URL`` (``make test`` starts a local cluster and sets it).
Without it the PostGIS runs are skipped locally, and fail under CI, where both databases are required.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from citybase.kernel.settings import Settings, load_settings
from citybase.platform import Platform
from citybase.store import Store, upgrade
from citybase.store.schema import metadata
from tests.helpers import ADMIN_PASSWORD, Api

DATABASES = ("sqlite", "postgis")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default="sqlite,postgis", help="databases to run on (comma separated)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_kind" in metafunc.fixturenames:
        wanted = [d for d in metafunc.config.getoption("--db").split(",") if d in DATABASES]
        metafunc.parametrize("db_kind", wanted, scope="session")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get("CITYBASE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CITYBASE_TEST_POSTGRES_URL is not set: CI must run the PostGIS half of the suite")
        pytest.skip("PostGIS tests need CITYBASE_TEST_POSTGRES_URL (make test sets it)")
    return url


@pytest.fixture(scope="session")
def postgis_database(postgres_server_url: str) -> Iterator[str]:
    """One migrated database for the session; tests empty it between runs."""
    name = f"citybase_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(Store(postgres_server_url).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = Store(postgres_server_url).url.rsplit("/", 1)[0] + f"/{name}"
    store = Store(url)
    upgrade(store)
    store.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "citybase.db"
    store = Store(f"sqlite:///{path}")
    upgrade(store)
    store.dispose()
    return path


def _empty_postgis(url: str) -> None:
    store = Store(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with store.write() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    store.dispose()


@pytest.fixture
def database_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if db_kind == "sqlite":
        target = tmp_path / "citybase.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgis_database")
    _empty_postgis(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(data_dir=tmp_path / "data", database_url=database_url, job_workers=0, log_json=False)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    p = Platform(settings)
    p.init(admin_password=ADMIN_PASSWORD)
    yield p
    p.meter.flush()
    p.store.dispose()


@pytest.fixture
def store(platform: Platform) -> Store:
    return platform.store


@pytest.fixture
def api(platform: Platform) -> Iterator[Api]:
    from citybase.web import create_app

    with Api(create_app(platform, manage_lifecycle=False)) as client:
        yield client


@pytest.fixture
def admin_api(api: Api) -> Api:
    api.login("admin", ADMIN_PASSWORD)
    return api


def pytest_collection_modifyitems(config: pytest.Config, items: list[Any]) -> None:
    for item in items:
        if "db_kind" in getattr(item, "fixturenames", ()) and "[postgis" in item.nodeid:
            item.add_marker(pytest.mark.postgis)
