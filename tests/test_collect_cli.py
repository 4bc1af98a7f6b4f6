"""``citybase tasks list|rules|gaps`` on the embedded default (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from citybase.domains.access import SYSTEM
from tests.address_tree_helpers import small_tree


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITYBASE_DATABASE_URL", raising=False)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=300)
    monkeypatch.setattr(common, "console", wide)
    monkeypatch.setattr(common, "err_console", wide)
    monkeypatch.setattr("citybase.cli.collect.console", wide)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    common.state._platform = None
    return result.output


def test_rules_list_and_gaps(cli: CliRunner) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    platform = common.state.platform()
    tree = small_tree(platform)
    platform.addresses.create(SYSTEM, tree.compound, "building", "5栋")  # a building with no rooms
    common.state._platform = None
    assert "building_without_rooms: 1 found, 1 new tasks" in run(cli, "tasks", "rules")
    assert "1 found, 0 new tasks" in run(cli, "tasks", "rules")  # idempotent
    out = run(cli, "tasks", "list", "--kind", "house.no_rooms")
    assert "楼栋缺少房间：5栋" in out and "open" in out
    assert '"state": "open"' in run(cli, "tasks", "list", "--json")
    gaps = run(cli, "tasks", "gaps")
    assert "house.no_rooms 1" in gaps
    assert "Invalid input" in run(cli, "tasks", "gaps", "--by", "street", code=1)
    assert "Invalid input" in run(cli, "tasks", "rules", "--rule", "nope", code=1)


def test_reassign_from_the_cli(cli: CliRunner) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    platform = common.state.platform()
    tree = small_tree(platform)
    platform.addresses.create(SYSTEM, tree.compound, "building", "5栋")
    platform.access.create_department(SYSTEM, "zwsjd", "真武山街道")
    platform.access.create_user(SYSTEM, "worker_x", "password-123", "grid_worker", "zwsjd", "网格员")
    common.state._platform = None
    run(cli, "tasks", "rules")
    task_id = common.state.platform().collect.list_tasks(SYSTEM)[0][0].id
    common.state._platform = None
    out = run(cli, "tasks", "reassign", str(task_id), "--to", "worker_x", "--reason", "改派给网格员")
    assert f"task {task_id} (open, version 2) is now with worker_x" in out
    assert "is now with the grid pool" in run(cli, "tasks", "reassign", str(task_id), "--pool", "--reason", "回池")
    assert "give either --to USERNAME or --pool" in run(cli, "tasks", "reassign", str(task_id), "--reason", "x", code=2)
    assert "no user 'nobody'" in run(cli, "tasks", "reassign", str(task_id), "--to", "nobody", "--reason", "x", code=1)
