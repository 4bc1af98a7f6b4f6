"""Real clients against a real server: the OGC black-box suite ``ogctests`` and GDAL's OAPIF driver (SQLite)."""

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

from citybase.domains.access import SYSTEM
from citybase.domains.objects import NewObject, ObjectClass
from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app
from tests.helpers import ADMIN_PASSWORD, ORIGIN, point_at

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Platform, dict[str, list[int]]]]:
    data = tmp_path_factory.mktemp("ogc-server")
    platform = Platform(load_settings(data_dir=data, job_workers=0, log_json=False))
    platform.init(admin_password=ADMIN_PASSWORD)
    ids = seed_every_layer(platform)
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


@pytest.mark.skipif(importlib.util.find_spec("ogctests") is None, reason="pip install ogctests")
def test_ogctests_features_core_passes_in_full(
    server: tuple[str, Platform, dict[str, list[int]]], tmp_path: Path
) -> None:
    url, _, _ = server
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
    assert sorted(got["names"]) == [f"建筑物{i}" for i in range(4)]
    expected = {o.name: o.geometry for o in (platform.objects.get(i) for i in ids["050101"])}
    for name, wkb in zip(got["names"], got["wkb"], strict=True):
        geom = shapely.from_wkb(bytes.fromhex(wkb))
        assert geom.geom_type == "Polygon"
        assert shapely.equals_exact(geom, expected[name], tolerance=1e-9), (name, geom, expected[name])
    roads = gdal_read(url, "roads")
    assert len(roads["wkb"]) == 4
    assert all(shapely.from_wkb(bytes.fromhex(g)).geom_type == "LineString" for g in roads["wkb"])
