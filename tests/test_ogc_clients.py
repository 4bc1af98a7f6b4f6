"""Real clients against a real server: the OGC black-box suite ``ogctests`` and GDAL's OAPIF driver (SQLite).

The server holds every seeded class layer and a dataset layer made by two imports (``imported-buildings``,
made public so the anonymous clients see it), so both clients read an imported layer too.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
import uvicorn
from shapely.geometry import LineString, MultiPolygon, box

from citybase.domains.access import ANONYMOUS, SYSTEM
from citybase.domains.layers import FeatureQuery, LayerChanges
from citybase.domains.objects import NewObject, ObjectClass, ObjectQuery
from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app
from tests.conftest import _empty_postgis as empty_postgis
from tests.helpers import ADMIN_PASSWORD, ORIGIN, point_at
from tests.imports_helpers import footprints, import_file, write_file

pytestmark = pytest.mark.slow
X0, Y0 = ORIGIN


def _geometry(geometry_type: str | None, i: int) -> shapely.Geometry:
    dx = i * 0.002
    if geometry_type == "LineString":
        return LineString([(X0 + dx, Y0), (X0 + dx + 0.001, Y0 + 0.001)])
    if geometry_type == "Polygon":
        return box(X0 + dx, Y0, X0 + dx + 0.0008, Y0 + 0.0005)
    if geometry_type == "MultiPolygon":
        return MultiPolygon([box(X0 + dx, Y0, X0 + dx + 0.0008, Y0 + 0.0005)])
    return point_at(dx, 0.0001 * i)


def _required(cls: ObjectClass, i: int) -> dict[str, Any]:
    """Plausible values of a class's required attributes."""
    values: dict[str, Any] = {}
    for a in cls.attributes:
        if not a.required:
            continue
        if a.type in ("integer", "number"):
            values[a.name] = max(1, int(a.min or 1)) + i
        elif a.pattern and "{" in a.pattern:
            values[a.name] = "4206" + "0" * (int(a.pattern.split("{")[1].split("}")[0]) - 5) + str(i)
        else:
            values[a.name] = f"{a.name}-{i}"
    return values


def seed_every_layer(platform: Platform, per_class: int = 4) -> dict[str, list[int]]:
    """Objects with geometry in every class, so every seeded layer has features (ogctests needs them)."""
    ids: dict[str, list[int]] = {}
    for cls in platform.classes.all():
        news = [
            NewObject(
                class_code=cls.code,
                name=f"{cls.name}{i}",
                geometry=_geometry(cls.geometry_type, i),
                attributes=_required(cls, i),
            )
            for i in range(per_class)
        ]
        ids[cls.code] = platform.objects.create_many(SYSTEM, news)
    return ids


IMPORTED = "imported-buildings"
# ogctests reads only the first 20 collections (by name, as /collections lists them): this one is among them.
OGCTESTS_COLLECTIONS = 20


def import_dataset_layer(platform: Platform, tmp: Path) -> list[int]:
    """A dataset layer from two imports of a GeoPackage (the second changes one building, drops one and
    adds one), made public; returns the ids of its current members."""
    mapping = {"编号": "key", "名称": "name", "层数": "floors"}
    shapes = footprints(5, dx=0.0015)
    for version, rows in enumerate(([("A", 5, 0), ("B", 6, 1), ("C", 7, 2)], [("A", 9, 0), ("B", 6, 1), ("D", 3, 3)])):
        path = write_file(
            tmp / f"v{version + 1}.gpkg",
            [shapes[i] for *_, i in rows],
            {"编号": [k for k, *_ in rows], "名称": [f"导入楼{k}" for k, *_ in rows], "层数": [f for _, f, _ in rows]},
        )
        run = import_file(platform, path, layer=IMPORTED, class_code="050101", mapping=mapping)
        assert run.state == "succeeded" and run.layer_version == version + 1, run
    platform.layers.update(SYSTEM, IMPORTED, LayerChanges(access="public"))
    lyr = platform.layers.get(SYSTEM, IMPORTED)
    return [o.id for o in platform.layers.features(lyr, SYSTEM, FeatureQuery(limit=100)).items]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[str, Platform, dict[str, list[int]]]]:
    data = tmp_path_factory.mktemp("ogc-server")
    db: dict[str, str] = {}
    if request.param not in request.config.getoption("--db").split(","):
        pytest.skip(f"--db leaves out {request.param}")
    if request.param == "postgis":  # the session's PostGIS database, emptied as the platform fixture does
        db["database_url"] = request.getfixturevalue("postgis_database")
        empty_postgis(db["database_url"])
    platform = Platform(load_settings(data_dir=data, job_workers=0, log_json=False, **db))
    platform.init(admin_password=ADMIN_PASSWORD)
    ids = seed_every_layer(platform)
    ids[IMPORTED] = import_dataset_layer(platform, data)
    port = _free_port()
    config = uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="ogc-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/ogc", platform, ids
    srv.should_exit = True
    thread.join(timeout=10)
    platform.store.dispose()


@pytest.mark.skipif(importlib.util.find_spec("ogctests") is None, reason="pip install ogctests")
def test_ogctests_features_core_passes_in_full(
    server: tuple[str, Platform, dict[str, list[int]]], tmp_path: Path
) -> None:
    url, platform, _ = server
    first = [lyr.name for lyr in platform.layers.list(ANONYMOUS)][:OGCTESTS_COLLECTIONS]
    assert IMPORTED in first, first  # so the suite checks the imported layer too
    done = subprocess.run(
        [sys.executable, "-m", "ogctests", "features/core", "-i", url],
        cwd=tmp_path,  # keep our pytest configuration (warnings are errors) away from the suite's own run
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout + done.stderr
    summary = re.search(r"=+ (.*) in [\d.]+s", out)
    assert summary, out
    # ogctests exits 0 whatever happens, so the summary line decides: all passed, nothing failed or skipped.
    assert re.fullmatch(r"\d+ passed", summary.group(1)), out
    assert int(summary.group(1).split()[0]) >= 29, out


# GDAL holds the GIL while it fetches pages, so it reads from another process, not beside the server thread.
_GDAL_READ = """
import json, sys
import pyogrio, pyogrio.raw
url, layer = sys.argv[1:]
meta, _, geometries, fields = pyogrio.raw.read(url, layer=layer)
names = list(meta["fields"])
print(json.dumps({
    "layers": [str(name) for name, _ in pyogrio.list_layers(url)],
    "crs": meta["crs"],
    "fields": names,
    "names": fields[names.index("name")].tolist(),
    "wkb": [bytes(g).hex() for g in geometries],
}))
"""


def gdal_read(url: str, layer: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _GDAL_READ, f"OAPIF:{url}", layer], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_gdal_oapif_driver_reads_a_collection(server: tuple[str, Platform, dict[str, list[int]]]) -> None:
    url, platform, ids = server
    got = gdal_read(url, "buildings")
    assert {"buildings", "roads", "street-lamps"} <= set(got["layers"])
    assert {"name", "code", "class_code", "floors"} <= set(got["fields"])
    # the class layer: every building, also those the imports made (the one the second import dropped too)
    assert sorted(got["names"]) == sorted([f"建筑物{i}" for i in range(4)] + [f"导入楼{k}" for k in "ABCD"])
    expected = {o.name: o.geometry for o in (platform.objects.get(i) for i in ids["050101"])}
    expected |= {o.name: o.geometry for o in platform.objects.search(ObjectQuery(class_code="050101")).items}
    for name, wkb in zip(got["names"], got["wkb"], strict=True):
        geom = shapely.from_wkb(bytes.fromhex(wkb))
        assert geom.geom_type == "Polygon"
        assert shapely.equals_exact(geom, expected[name], tolerance=1e-9), (name, geom, expected[name])
    roads = gdal_read(url, "roads")
    assert len(roads["wkb"]) == 4
    assert all(shapely.from_wkb(bytes.fromhex(g)).geom_type == "LineString" for g in roads["wkb"])


def test_gdal_oapif_driver_reads_an_imported_dataset_layer(server: tuple[str, Platform, dict[str, list[int]]]) -> None:
    url, platform, ids = server
    got = gdal_read(url, IMPORTED)
    assert IMPORTED in got["layers"]
    assert {"name", "code", "class_code", "floors"} <= set(got["fields"])
    # Only the layer's current members: not the class's other buildings, not the one the second import dropped.
    assert sorted(got["names"]) == ["导入楼A", "导入楼B", "导入楼D"]
    expected = {o.name: o for o in (platform.objects.get(i) for i in ids[IMPORTED])}
    for name, wkb in zip(got["names"], got["wkb"], strict=True):
        geom = shapely.from_wkb(bytes.fromhex(wkb))
        assert shapely.equals_exact(geom, expected[name].geometry, tolerance=1e-9), (name, geom)
    assert expected["导入楼A"].attributes["floors"] == 9
