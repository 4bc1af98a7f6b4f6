"""The ``citybase`` command on the embedded default (SQLite in a data directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from citybase.store import head_revision


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITYBASE_DATABASE_URL", raising=False)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=200)
    monkeypatch.setattr(common, "console", wide)
    monkeypatch.setattr(common, "err_console", wide)
    for module in ("admin", "db", "objects"):
        monkeypatch.setattr(f"citybase.cli.{module}.console", wide)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0, stdin: str | None = None) -> str:
    result = cli.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output + repr(result.exception)
    common.state._platform = None  # each invocation builds its platform afresh, as a new process would
    return result.output


def test_init_creates_database_and_first_admin(cli: CliRunner, tmp_path: Path) -> None:
    out = run(cli, "init")
    assert "classes added: 24" in out and "admin-password.txt" in out
    assert (tmp_path / "data" / "citybase.db").exists()
    password = (tmp_path / "data" / "admin-password.txt").read_text().strip()
    assert len(password) >= 12
    assert "classes added: 0" in run(cli, "init")  # a second run changes nothing
    head = head_revision()
    assert f"database: {head}; newest: {head}" in run(cli, "db", "current")


def test_administration_commands(cli: CliRunner) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    assert "住建局" in run(cli, "departments", "add", "zjj", "住建局", "--division-code", "420600")
    assert "zjj" in run(cli, "departments", "list")
    out = run(cli, "users", "add", "wang", "--role", "department_user", "--department", "zjj",
              stdin="long-password\nlong-password\n")
    assert "wang" in out
    assert "department_user" in run(cli, "users", "list")
    out = run(cli, "api-keys", "issue", "zjj", "楼盘表系统")
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("cbk_")
    listing = run(cli, "api-keys", "list")
    assert "楼盘表系统" in listing and secret not in listing
    assert "revoked" in run(cli, "api-keys", "revoke", "1")


def test_errors_are_one_clear_message_and_exit_1(cli: CliRunner) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    out = run(cli, "departments", "add", "Bad Code!", "X", code=1)
    assert "bad department code" in out and "code" in out
    assert "no department 'nope'" in run(cli, "api-keys", "issue", "nope", "k", code=1)


def test_import_geojson_with_progress_and_report(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    run(cli, "departments", "add", "cgj", "城管局")
    features = [{"type": "Feature", "properties": {"name": f"路灯{i}", "lamp_type": "LED"},
                 "geometry": {"type": "Point", "coordinates": [112.14 + i * 1e-4, 32.01]}} for i in range(30)]
    good = tmp_path / "lamps.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    out = run(cli, "objects", "import", str(good), "--class", "010301", "--department", "cgj")
    assert "succeeded" in out and "'loaded': 30" in out
    assert "路灯29" in run(cli, "objects", "search", "--class", "010301", "--limit", "50")
    features[3]["properties"]["lamp_type"] = "火把"
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    out = run(cli, "objects", "import", str(bad), "--class", "010301", code=1)
    assert "failed" in out and "record 3" in out and "lamp_type" in out
    assert "failed" in run(cli, "jobs", "list")


def test_classes_list(cli: CliRunner) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    out = run(cli, "classes", "list")
    assert "050101" in out and "建筑物" in out
