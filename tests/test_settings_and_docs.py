"""Settings sources, the error table, and the reference pages that must not drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from citybase.kernel.errors import CityBaseError
from citybase.kernel.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_settings_come_from_env_then_toml_then_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CITYBASE_DATA_DIR", "CITYBASE_DATABASE_URL", "CITYBASE_PORT", "CITYBASE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    toml = tmp_path / "citybase.toml"
    toml.write_text('port = 9001\ndivision_code = "420602"\nlog_level = "DEBUG"\n', encoding="utf-8")
    monkeypatch.setenv("CITYBASE_CONFIG", str(toml))
    monkeypatch.setenv("CITYBASE_PORT", "9002")
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "d"))
    s = load_settings()
    assert (s.port, s.division_code, s.log_level) == (9002, "420602", "DEBUG")
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'd' / 'citybase.db').resolve()}"
    assert load_settings(port=9003).port == 9003
    with pytest.raises(ValueError, match="6-digit"):
        load_settings(division_code="4206")


def test_every_domain_error_has_a_status_in_the_one_table() -> None:
    from citybase.web.errors import ERROR_STATUS, status_for

    def subclasses(cls: type) -> list[type]:
        return [cls, *[s for sub in cls.__subclasses__() for s in subclasses(sub)]]

    import citybase.domains.jobs  # noqa: F401  (registers JobFailed)

    for cls in subclasses(CityBaseError):
        status, slug = status_for(cls("x"))
        assert 400 <= status < 600 and slug
    assert ERROR_STATUS[-1][0] is CityBaseError


@pytest.mark.parametrize("page", ["settings.md", "cli.md"])
def test_generated_reference_pages_are_current(page: str) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_docs
    finally:
        sys.path.pop(0)
    committed = (ROOT / "docs" / page).read_text(encoding="utf-8")
    assert committed == gen_docs.PAGES[page](), f"docs/{page} is stale: run python scripts/gen_docs.py"


def test_the_package_installs_a_citybase_command() -> None:
    exe = Path(sys.executable).parent / "citybase"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("init", "serve", "demo", "db", "departments", "users", "api-keys"):
        assert command in out
