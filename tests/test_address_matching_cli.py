"""``citybase addresses parse|match|geocode|reverse|suggest|review`` on the embedded default (SQLite)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from tests.test_address_matching_api import load_registry


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITYBASE_DATABASE_URL", raising=False)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=300)
    monkeypatch.setattr(common, "console", wide)
    monkeypatch.setattr(common, "err_console", wide)
    monkeypatch.setattr("citybase.cli.addresses.console", wide)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    common.state._platform = None  # each invocation builds its platform afresh, as a new process would
    return result.output


@pytest.fixture
def city(cli: CliRunner) -> CliRunner:
    run(cli, "init", "--admin-password", "admin-pass-123")
    load_registry(common.state.platform())
    common.state._platform = None
    return cli


def test_parse_command(cli: CliRunner) -> None:
    out = json.loads(run(cli, "addresses", "parse", "襄阳市樊城区人民路十二号3号楼2单元502室"))
    assert out["levels"]["door_number"] == "12号" and out["levels"]["building"] == "3栋"
    assert "Invalid input" in run(cli, "addresses", "parse", "   ", code=1)


def test_match_a_gbk_text_file(city: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes("樊城区人民路12号2栋1单元502室\n\n人民路99号\n长征路7号\n".encode("gbk"))
    out = tmp_path / "out.csv"
    printed = run(city, "addresses", "match", str(src), "--out", str(out))
    assert "4 row(s) (gbk)" in printed and "row 2:" in printed
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["status"] for r in rows] == ["matched", "error", "partial", "ambiguous"]
    assert rows[0]["matched_id"].startswith("SRC-") and rows[0]["level"] == "room" and rows[0]["lon"]
    assert "ambiguous" in rows[3]["explanation"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,x\n", encoding="utf-8")
    assert "address" in run(city, "addresses", "match", str(bad), "--out", str(out), code=1)


def test_geocode_reverse_suggest_and_review(city: CliRunner) -> None:
    out = run(city, "addresses", "geocode", "襄州区人民路14号1栋")
    assert "matched" in out and "人民路14号1栋" in out and "襄州区" in out
    assert "檀溪路88号" in run(city, "addresses", "reverse", "112.12", "32.0", "--k", "1")
    assert "人民路12号" in run(city, "addresses", "suggest", "人民路1")
    sent = run(city, "addresses", "review", "send", "人民路99号", "长征路7号", "人民路12号", "   ")
    assert "queued 2 of 4" in sent and "not queued: '   '" in sent  # a bad text does not stop the others
    listing = run(city, "addresses", "review", "list")
    assert "2 open" in listing and "人民路99号" in listing
    assert "dismissed" in run(city, "addresses", "review", "close", "1")
    assert "Conflict" in run(city, "addresses", "review", "close", "1", code=1)
