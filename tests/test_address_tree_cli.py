"""``citybase addresses import/export/tree/show/find/rename/retire/workflows`` on the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app

CSV = (
    "id,province,city,district,town,community,road,door_number,compound,building,unit,floor,room,lon,lat\n"
    "A1,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,57号,檀溪花园,3栋,1单元,,502室,,\n"
    "A2,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,57号,,,,,,112.141,32.011\n"
    "B1,湖北省,襄阳市,火星区,,,,,,,,,,,\n"
)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITYBASE_DATABASE_URL", raising=False)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=200)
    monkeypatch.setattr(common, "console", wide)
    monkeypatch.setattr(common, "err_console", wide)
    monkeypatch.setattr("citybase.cli.address_tree.console", wide)
    monkeypatch.setattr("citybase.cli.admin.console", wide)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    common.state._platform = None
    return result.output


def test_import_browse_export_and_workflows(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    src = tmp_path / "in.csv"
    src.write_bytes(CSV.encode("gbk"))
    out = run(cli, "addresses", "import", str(src))
    assert "3 rows (gbk)" in out and "1 failed" in out and "row 4, column 'district'" in out
    assert "火星区" in out
    assert "湖北省" in run(cli, "addresses", "tree")
    found = run(cli, "addresses", "find", "502")
    assert "湖北省襄阳市襄城区真武山街道檀溪社区长虹路57号檀溪花园3栋1单元502室" in found
    room = found.split("│")[1].strip() if "│" in found else found.split()[0]
    assert "502室" in run(cli, "addresses", "show", room)
    target = tmp_path / "out.csv"
    assert "written" in run(cli, "addresses", "export", str(target), "--encoding", "gbk")
    assert "A1,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,57号,檀溪花园,3栋,1单元,,502室,," in target.read_text(
        "gbk"
    )
    assert "encoding" in run(cli, "addresses", "export", str(target), "--encoding", "latin-1", code=1)

    run(cli, "departments", "add", "mzj", "民政局")
    run(cli, "departments", "add", "zjj", "住建局")
    run(
        cli, "users", "add", "mzj_user", "--role", "department_user", "--department", "mzj", "--password", "pass-123456"
    )
    run(
        cli, "users", "add", "zjj_user", "--role", "department_user", "--department", "zjj", "--password", "pass-123456"
    )
    community = next(
        line.split("│")[1].strip()
        for line in run(cli, "addresses", "find", "檀溪社区", "--level", "community").splitlines()
        if "community" in line
    )
    out = run(
        cli, "addresses", "workflows", "propose", "road_name", community, "--name", "檀溪东路", "--as", "zjj_user"
    )
    assert "proposed" in out and "next: approve by civil" in out
    assert "only 民政" in run(cli, "addresses", "workflows", "approve", "1", "--as", "zjj_user", code=1)
    assert "recorded" in run(cli, "addresses", "workflows", "approve", "1", "--as", "mzj_user")
    assert "檀溪东路" in run(cli, "addresses", "find", "檀溪东路")
    assert "recorded" in run(cli, "addresses", "workflows", "list")
