"""``citybase people import`` (GBK CSV, row-level report) and ``citybase people stats``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from citybase.demo.people import fake_citizen_id
from tests.address_tree_helpers import small_tree


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITYBASE_DATABASE_URL", raising=False)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=200)
    monkeypatch.setattr(common, "console", wide)
    monkeypatch.setattr(common, "err_console", wide)
    monkeypatch.setattr("citybase.cli.people.console", wide)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    return result.output


def test_import_gbk_csv_with_row_report_and_stats(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    tree = small_tree(common.state.platform())
    good = fake_citizen_id("420602", date(1970, 5, 6), 999)
    child = fake_citizen_id("420602", date(2015, 2, 3), 998)
    bad = good[:-1] + ("1" if good[-1] == "0" else "0")
    lines = [
        "身份证号,姓名,电话,人口类型,地址节点,户号,与户主关系,迁入日期",
        f"{good},周建国,13600001111,registered,{tree.room},H-1,户主,2019-04-01",
        f"{bad},吴错号,,registered,{tree.room},,,",
        f"{good},周重复,,registered,{tree.room},,,",
        f"{child},周小雨,,temporary,{tree.room},H-1,子女,2019-04-01",
        f"{fake_citizen_id('420606', date(1990, 1, 1), 996)},郑无房,,resident,987654,,,",
    ]
    src = tmp_path / "people.csv"
    src.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    report = tmp_path / "report.csv"
    out = run(cli, "people", "import", str(src), "--report", str(report))
    assert "5 row(s): 2 registered, 3 rejected" in out
    assert "check character" in out and "already registered" in out and "no address node 987654" in out
    rejected = report.read_text("utf-8").splitlines()
    assert [r.split(",")[0] for r in rejected[1:]] == ["3", "4", "6"]
    stats = run(cli, "people", "stats", "--at", "2024-09-01", "--json")
    assert '"residents": 2' in stats and '"temporary": 1' in stats
    assert "周建国" not in stats and good not in stats


def test_import_resumes_from_a_row_and_says_where_after_an_interruption(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(cli, "init", "--admin-password", "admin-pass-123")
    tree = small_tree(common.state.platform())
    ids = [fake_citizen_id("420602", date(1980 + i, 1, 2), 996) for i in range(4)]
    src = tmp_path / "people.csv"
    src.write_text(
        "id_number,name,address_node_id\n"
        + "".join(f"{n},续{c},{tree.room}\n" for c, n in zip("甲乙丙丁", ids, strict=True))
    )
    from citybase.cli import people as people_cli

    real = people_cli.import_people

    def interrupted(*args, progress, **kwargs):  # type: ignore[no-untyped-def]
        def stop(report):  # type: ignore[no-untyped-def]
            progress(report)
            raise KeyboardInterrupt

        return real(*args, progress=stop, **kwargs)

    monkeypatch.setattr(people_cli, "import_people", interrupted)
    result = cli.invoke(app, ["people", "import", str(src), "--chunk", "1", "--from-row", "3"])
    assert result.exit_code != 0 and "lines 3–3 are committed; resume with --from-row 4" in result.output
    monkeypatch.setattr(people_cli, "import_people", real)
    assert "2 row(s): 2 registered, 0 rejected" in run(cli, "people", "import", str(src), "--from-row", "4")
    out = run(cli, "people", "import", str(src), code=0)  # from the top: lines 3-5 are in already
    assert "4 row(s): 1 registered, 3 rejected" in out and "already registered" in out
