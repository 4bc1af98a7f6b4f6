"""``citybase objects import`` runs and reports its own job, even when older jobs wait in the queue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from citybase.domains.access import SYSTEM
from citybase.domains.objects import IMPORT_GEOJSON_JOB, ObjectQuery


def _lamps(path: Path, names: list[str]) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"name": name, "lamp_type": "LED"},
            "geometry": {"type": "Point", "coordinates": [112.14 + i * 1e-4, 32.01]},
        }
        for i, name in enumerate(names)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def test_objects_import_waits_for_its_own_job_not_the_oldest(
    db_kind: str, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITYBASE_DATABASE_URL", database_url)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=200)
    for target in ("citybase.cli.common.console", "citybase.cli.objects.console"):
        monkeypatch.setattr(target, wide)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        common.state._platform = None
        assert result.exit_code == code, result.output + repr(result.exception)
        return result.output

    run("init")
    # An older job waits in the queue (submitted by a server with no worker running, say).
    platform = common.state.platform()
    older = platform.jobs.submit(
        SYSTEM,
        IMPORT_GEOJSON_JOB,
        {
            "path": str(_lamps(tmp_path / "older.geojson", ["旧灯1", "旧灯2"])),
            "class_code": "010301",
            "role": "platform_admin",
        },
    )
    common.state._platform = None

    mine = _lamps(tmp_path / "mine.geojson", [f"路灯{i}" for i in range(5)])
    out = run("objects", "import", str(mine), "--class", "010301")
    assert f"job {older.id + 1} succeeded" in out and "'loaded': 5" in out

    platform = common.state.platform()
    assert platform.jobs.get(older.id).state == "succeeded"  # it ran first, in the same process
    names = {o.name for o in platform.objects.search(ObjectQuery(class_code="010301", limit=50)).items}
    assert names == {"旧灯1", "旧灯2", *(f"路灯{i}" for i in range(5))}
    common.state._platform = None
