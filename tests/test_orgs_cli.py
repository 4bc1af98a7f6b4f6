"""``citybase houses ...`` and ``citybase orgs ...`` on the embedded default (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from citybase.demo.houses import make_uscc

CSV = (
    "id,province,city,district,town,community,road,door_number,compound,building,unit,floor,room,lon,lat\n"
    "A1,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,57号,檀溪花园,3栋,1单元,,502室,112.141,32.011\n"
)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITYBASE_DATABASE_URL", raising=False)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=200)
    monkeypatch.setattr(common, "console", wide)
    monkeypatch.setattr(common, "err_console", wide)
    monkeypatch.setattr("citybase.cli.registry.console", wide)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    if common.state._platform is not None:
        common.state._platform.store.dispose()
    common.state._platform = None
    return result.output


def test_houses_and_orgs_commands(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    src = tmp_path / "addresses.csv"
    src.write_text(CSV, encoding="utf-8")
    run(cli, "addresses", "import", str(src))
    platform = common.state.platform()
    [building] = platform.addresses.search("3栋", level="building")
    [room] = platform.addresses.search("502室", level="room")
    platform.store.dispose()
    common.state._platform = None
    out = run(cli, "houses", "set", str(room.id), "use=residential", code=1)
    assert "building" in out and "address_node_id" in out
    run(cli, "houses", "set", str(building.id), "use=residential", "year_built=1998", "structure=砖混")
    out = run(cli, "houses", "set", str(building.id), "rental_status=出租", "--version", "7", code=1)
    assert "version" in out
    assert '"rental_status": "出租"' in run(cli, "houses", "set", str(building.id), "rental_status=出租")
    assert '"grade": "D"' in run(
        cli, "houses", "inspect", "1", "--grade", "D", "--on", "2025-01-02", "--inspector", "王工"
    )
    card = run(cli, "houses", "card", "--node", str(building.id))
    assert '"safety_grade": "D"' in card and "檀溪花园3栋" in card
    rows = [
        f"{make_uscc(n)},襄阳{n}号公司,enterprise,张三,湖北省襄阳市襄城区真武山街道长虹路57号檀溪花园3栋"
        for n in range(7)
    ]
    csv_path = tmp_path / "orgs.csv"
    csv_path.write_bytes(
        (
            "uscc,name,type,legal_rep,registered_address\n"
            + "\n".join(rows)
            + "\n91420600BADBADBAD1,坏,enterprise,,x\n"
        ).encode("gbk")
    )
    out = run(cli, "orgs", "import", str(csv_path), code=1)
    assert "registered 7, failed rows 1" in out and "row 9, field 'uscc'" in out
    assert make_uscc(3) in run(cli, "orgs", "search", "襄阳3号")
    out = run(cli, "orgs", "cross-checks", "--max", "5")
    assert "7 registrations at" in out and "not commercial (residential)" in out
    run(cli, "orgs", "register", make_uscc(3), "--name", "x", "--type", "enterprise", "--address", "y", code=1)
