"""``citybase codes ...`` on the embedded default (SQLite in a data directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from citybase.standards.unified_code import validate_code


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITYBASE_DATABASE_URL", raising=False)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=200)
    monkeypatch.setattr(common, "console", wide)
    monkeypatch.setattr(common, "err_console", wide)
    for module in ("objects", "codes"):
        monkeypatch.setattr(f"citybase.cli.{module}.console", wide)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    common.state._platform = None  # each invocation builds its platform afresh, as a new process would
    return result.output


def lamps(path: Path, n: int, legacy: list[str] | None = None) -> Path:
    features = [
        {"type": "Feature", "properties": {"name": f"路灯{i}", "lamp_type": "LED"},
         "geometry": {"type": "Point", "coordinates": [112.14 + i * 1e-4, 32.01]}}
        for i in range(n)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def test_assign_resolve_label_and_health(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    run(cli, "departments", "add", "cgj", "城管局")
    run(cli, "objects", "import", str(lamps(tmp_path / "lamps.geojson", 12)), "--class", "010301",
        "--department", "cgj")
    assert "uncoded" in run(cli, "codes", "health", "--department", "cgj")
    out = run(cli, "codes", "assign", "--class", "010301", "--department", "cgj")
    assert "coded 12 object(s)" in out
    listing = run(cli, "objects", "search", "--class", "010301", "--limit", "1")
    code = next(w for w in listing.split() if len(w) == 21 and w[:6] == "420600")
    validate_code(code)
    card = json.loads(run(cli, "codes", "resolve", code))
    assert card["code"] == code and card["department"]["code"] == "cgj" and card["beidou"]["code2d"]
    out = run(cli, "codes", "resolve", code[:20] + "Z", code=1)
    assert "Invalid input" in out and "check character" in out
    svg, png = tmp_path / "label.svg", tmp_path / "label.png"
    run(cli, "codes", "label", code, "--out", str(svg))
    run(cli, "codes", "label", code, "-o", str(png))
    assert svg.read_text(encoding="utf-8").startswith("<svg") and png.read_bytes()[:4] == b"\x89PNG"
    health = run(cli, "codes", "health", "--department", "cgj")
    assert "uncoded" in health and "objects: 12, coded: 12" in health
    assert "coded 0 object(s)" in run(cli, "codes", "assign")


def test_beidou_command(cli: CliRunner) -> None:
    lng, lat = str(116 + 18 / 60 + 45.37 / 3600), str(39 + 59 / 60 + 35.38 / 3600)
    assert run(cli, "codes", "beidou", lng, lat, "--level", "8").strip() == "N50J47539B825534"
    two, three = run(cli, "codes", "beidou", lng, lat, "--height", "50").split()
    assert two.startswith("N50J47539B8255") and three == "N050J0047050390B8020556344611524"
    out = run(cli, "codes", "beidou", "112", "89", code=1)
    assert "Invalid input" in out


def test_a_failing_bulk_run_reports_rows(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    run(cli, "objects", "import", str(lamps(tmp_path / "lamps.geojson", 3)), "--class", "010301")
    out = run(cli, "codes", "assign", "--legacy-attribute", "lamp_type", code=1)
    assert "failed" in out and "no owning department" in out
