"""The layering rules of docs/architecture.md, enforced."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "citybase"
# Database-specific SQL: PostGIS functions, R*Tree / FTS5 tables, SQLite internals, PostgreSQL casts.
DB_SPECIFIC = re.compile(
    r"\bST_[A-Za-z]+\s*\(|_rtree\b|\brtree\b|\bfts5\b|sqlite_master|PRAGMA|::geography|::geometry|"
    r"\bgin_trgm_ops\b|\bCOPY\s+\w+\s*\("
)


def test_import_layers_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is not installed"
    result = subprocess.run([lint], capture_output=True, text=True, cwd=SRC.parents[1])
    assert result.returncode == 0, result.stdout + result.stderr


def test_database_specific_sql_stays_in_store() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if "store" in path.relative_to(SRC).parts[:1]:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DB_SPECIFIC.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert not offenders, "database-specific SQL outside store/:\n" + "\n".join(offenders)


def test_the_sql_check_can_fail(tmp_path: Path) -> None:
    assert DB_SPECIFIC.search("select ST_Intersects(a, b)")
    assert DB_SPECIFIC.search("select id from city_object_rtree")
    assert not DB_SPECIFIC.search("select name from city_object")
