"""Layer versions of imports: compare, rollback, mapping reuse, atomicity, rights, API and CLI (both databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from citybase.domains.access import SYSTEM
from citybase.domains.imports import versions as versions_module
from citybase.kernel.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from citybase.platform import Platform
from citybase.store.import_tables import layer_item, layer_version
from citybase.store.schema import city_object
from tests.helpers import Api, add_department, add_user
from tests.imports_helpers import footprints, import_file, layer_objects, write_file


def buildings(path: Path, rows: list[tuple[str, str, int, int]]) -> Path:
    """A GeoPackage of buildings: (key, name, floors, footprint index) per row."""
    shapes = footprints(10)
    return write_file(
        path,
        [shapes[i] for *_, i in rows],
        {"编号": [r[0] for r in rows], "名称": [r[1] for r in rows], "层数": [r[2] for r in rows]},
    )


MAPPING = {"编号": "key", "名称": "name", "层数": "floors"}


def names(platform: Platform, layer: str) -> dict[str, Any]:
    return {o.name: o for o in layer_objects(platform, layer)}


def test_reimport_compare_and_rollback(platform: Platform, tmp_path: Path) -> None:
    changed: list[dict[str, Any]] = []
    platform.subscribe("objects.changed", lambda _name, payload: changed.append(payload))
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1), ("C", "丙楼", 7, 2)])
    assert import_file(platform, v1, layer="zjj", class_code="050101", mapping=MAPPING).state == "succeeded"
    first = names(platform, "zjj")
    v2 = buildings(tmp_path / "v2.gpkg", [("A", "甲楼", 9, 0), ("B", "乙楼", 6, 1), ("D", "丁楼", 3, 3)])
    run = import_file(platform, v2, layer="zjj")  # the class comes from the layer, the mapping is reused
    assert run.state == "succeeded", run.report
    r = run.report or {}
    assert (r["layer_version"], r["added"], r["changed"], r["unchanged"], r["retired"]) == (2, 1, 1, 1, 1)
    assert r["mapping"]["source"] == "saved for the department and class"
    now = names(platform, "zjj")
    assert sorted(now) == ["丁楼", "乙楼", "甲楼"] and now["甲楼"].attributes["floors"] == 9
    assert now["甲楼"].id == first["甲楼"].id and now["甲楼"].version == 2  # the same object, a new version
    assert changed, "an import tells the services (objects.changed)"

    diff = platform.imports.compare(SYSTEM, "zjj", 1, 2)
    assert diff.added == [now["丁楼"].id] and diff.changed == [first["甲楼"].id]
    assert diff.retired == [first["丙楼"].id] and diff.unchanged == 1
    # The retired object left the layer, not the city: it is still an active city object.
    assert platform.objects.get(first["丙楼"].id).state == "active"

    changed.clear()
    back = platform.imports.rollback(SYSTEM, "zjj", 1)
    assert (back.version, back.change, back.rolled_back_to) == (3, "rollback", 1)
    assert (back.counts["added"], back.counts["changed"], back.counts["retired"]) == (1, 1, 1)
    restored = names(platform, "zjj")
    assert sorted(restored) == ["丙楼", "乙楼", "甲楼"]
    assert restored["甲楼"].attributes["floors"] == 5 and restored["甲楼"].version == 3  # history is kept
    assert [v.change for v in platform.objects.history(first["甲楼"].id)] == ["create", "import", "rollback"]
    assert changed, "a rollback tells the services too"
    assert platform.imports.compare(SYSTEM, "zjj", 1, 3).changed == [first["甲楼"].id]  # a new object version
    assert platform.imports.compare(SYSTEM, "zjj", 2, 3).retired == [now["丁楼"].id]
    listed = platform.imports.versions(SYSTEM, "zjj")
    assert [(v.version, v.change, v.current) for v in listed] == [
        (1, "import", False),
        (2, "import", False),
        (3, "rollback", True),
    ]


def test_version_errors(platform: Platform, tmp_path: Path) -> None:
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0)])
    import_file(platform, v1, layer="zjj", class_code="050101", mapping=MAPPING)
    with pytest.raises(NotFoundError):
        platform.imports.compare(SYSTEM, "zjj", 1, 7)
    with pytest.raises(InvalidInputError, match="nothing to roll back"):
        platform.imports.rollback(SYSTEM, "zjj", 1)
    with pytest.raises(InvalidInputError, match="class layer"):
        platform.imports.versions(SYSTEM, "buildings")
    with pytest.raises(InvalidInputError) as err:
        import_file(platform, v1, layer="buildings")  # a class layer shows every building: no imports into it
    assert "import into a dataset layer" in str(err.value)


def test_mapping_is_saved_per_department_and_class(platform: Platform, tmp_path: Path) -> None:
    add_department(platform, "zjj", "住房和城乡建设局")
    add_department(platform, "cgj", "城市管理局")
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0)])
    run = import_file(platform, v1, layer="zjj-b", class_code="050101", department="zjj", mapping=MAPPING)
    assert run.state == "succeeded"
    zjj = platform.access.department("zjj").id
    assert platform.imports.saved_mapping(zjj, "050101") == MAPPING
    again = import_file(platform, v1, layer="zjj-b2", class_code="050101", department="zjj")
    assert again.state == "succeeded" and (again.report or {})["mapping"]["attributes"] == {"层数": "floors"}
    other = import_file(platform, v1, layer="cgj-b", class_code="050101", department="cgj")  # no mapping saved
    assert other.state == "failed" and (other.report or {})["rejected"] == 1  # nothing loadable
    assert "attributes.floors" in json.dumps((other.report or {})["issues"])


def test_unknown_columns_kept_dropped_or_rejected(platform: Platform, tmp_path: Path) -> None:
    path = write_file(tmp_path / "l.gpkg", [shapely.Point(112.14, 32.01)], {"名称": ["灯"], "颜色": ["红"]})
    kept = import_file(platform, path, layer="k", class_code="010301", mapping={"名称": "name"})
    assert (kept.report or {})["mapping"]["unknown_kept"] == ["颜色"]
    with platform.store.read() as conn:
        assert conn.execute(layer_item.select().with_only_columns(layer_item.c.extra)).scalar() == {"颜色": "红"}
    dropped = import_file(platform, path, layer="d", class_code="010301", mapping={"名称": "name"}, unknown="drop")
    assert (dropped.report or {})["mapping"]["dropped"] == ["颜色"]
    refused = import_file(platform, path, layer="r", class_code="010301", mapping={"名称": "name"}, unknown="reject")
    assert refused.state == "failed" and (refused.report or {})["issues"][0]["field"] == "颜色"
    with pytest.raises(InvalidInputError, match="bad mapping"):
        import_file(platform, path, layer="x", class_code="010301", mapping={"名称": "no_such_attribute"})


class Killed(BaseException):
    """Stands for the process dying mid-import (not an Exception: the runner does not catch it)."""


def test_an_interrupted_import_leaves_nothing_and_resumes(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1)])

    def die(*_args: Any, **_kwargs: Any) -> None:
        raise Killed()

    monkeypatch.setattr(versions_module, "record", die)  # dies after objects and membership rows were written
    run = import_file(platform, path, layer="zjj", class_code="050101", mapping=MAPPING, run_jobs=False)
    with pytest.raises(Killed):
        platform.jobs.run_one()
    with platform.store.read() as conn:
        assert conn.execute(city_object.select()).first() is None
        assert conn.execute(layer_item.select()).first() is None
        assert conn.execute(layer_version.select()).first() is None
    assert layer_objects(platform, "zjj") == []
    assert platform.jobs.get(run.job_id or 0).state == "running"  # as a killed worker leaves it
    monkeypatch.undo()
    assert platform.jobs.requeue_stale(now=datetime.now(UTC) + timedelta(minutes=5)) == 1
    platform.jobs.run_pending()
    assert platform.imports.get(SYSTEM, run.id).state == "succeeded"
    assert sorted(names(platform, "zjj")) == ["乙楼", "甲楼"]


def test_only_admins_and_the_owner_department_import_and_roll_back(platform: Platform, tmp_path: Path) -> None:
    add_department(platform, "zjj", "住房和城乡建设局")
    add_department(platform, "cgj", "城市管理局")
    add_user(platform, "zjj_user", "department_user", "zjj")
    add_user(platform, "cgj_user", "department_user", "cgj")
    zjj = platform.access.actor_for_token(platform.access.login("zjj_user", "user-pass-123")[0])
    cgj = platform.access.actor_for_token(platform.access.login("cgj_user", "user-pass-123")[0])
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0)])
    assert (
        import_file(platform, v1, layer="zjj-b", class_code="050101", department="zjj", mapping=MAPPING).state
        == "succeeded"
    )
    v2 = buildings(tmp_path / "v2.gpkg", [("A", "甲楼", 8, 0)])
    assert import_file(platform, v2, layer="zjj-b", actor=zjj).state == "succeeded"
    with pytest.raises(PermissionDeniedError):
        import_file(platform, v2, layer="zjj-b", actor=cgj)
    with pytest.raises(PermissionDeniedError):
        platform.imports.rollback(cgj, "zjj-b", 1)
    assert platform.imports.rollback(zjj, "zjj-b", 1).version == 3
    with pytest.raises(PermissionDeniedError):  # creating a layer is for department admins
        import_file(platform, v2, layer="new-one", class_code="050101", actor=zjj)


def test_api_upload_report_versions_compare_rollback(platform: Platform, admin_api: Api, tmp_path: Path) -> None:
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1)])
    form = {"layer": "zjj", "class_code": "050101", "mapping": json.dumps(MAPPING, ensure_ascii=False)}
    r = admin_api.post("/api/imports", data=form, files={"file": ("v1.gpkg", v1.read_bytes())})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["state"] == "queued" and body["progress"]["job_id"]
    platform.jobs.run_pending()
    done = admin_api.get(f"/api/imports/{body['id']}").json()
    assert done["state"] == "succeeded" and done["report"]["loaded"] == 2 and done["progress"]["fraction"] == 1
    v2 = buildings(tmp_path / "v2.gpkg", [("A", "甲楼", 9, 0)])
    r = admin_api.post("/api/imports", data={"layer": "zjj"}, files={"file": ("v2.gpkg", v2.read_bytes())})
    platform.jobs.run_pending()
    assert admin_api.get(f"/api/imports/{r.json()['id']}").json()["layer_version"] == 2
    versions = admin_api.get("/api/layers/zjj/versions").json()["items"]
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]
    diff = admin_api.get("/api/layers/zjj/compare?from=1&to=2").json()
    assert (len(diff["added"]), len(diff["changed"]), len(diff["retired"])) == (0, 1, 1)
    back = admin_api.post("/api/layers/zjj/rollback", json={"version": 1})
    assert back.status_code == 200 and back.json()["version"] == 3
    items = admin_api.get("/ogc/collections/zjj/items").json()
    assert sorted(f["properties"]["floors"] for f in items["features"]) == [5, 6]


def test_api_bad_input_is_a_clear_error_never_a_500(platform: Platform, admin_api: Api, tmp_path: Path) -> None:
    r = admin_api.post("/api/imports", data={"layer": "x"}, files={"file": ("a.csv", b"a,b\n1,2\n")})
    assert r.status_code == 400 and "--class" in r.text
    r = admin_api.post(
        "/api/imports", data={"layer": "x", "class_code": "050101", "mapping": "{oops"}, files={"file": ("a.csv", b"")}
    )
    assert r.status_code == 400 and "not JSON" in r.text
    r = admin_api.post(
        "/api/imports", data={"layer": "x", "class_code": "050101"}, files={"file": ("a.gpkg", b"\x00" * 100)}
    )
    assert r.status_code == 202
    platform.jobs.run_pending()
    failed = admin_api.get(f"/api/imports/{r.json()['id']}").json()
    assert failed["state"] == "failed" and "GDAL cannot" in json.dumps(failed["report"])
    assert admin_api.get("/api/imports/999").status_code == 404
    assert admin_api.get("/api/layers/x/compare?from=1&to=2").status_code == 404
    admin_api.anonymous()
    r = admin_api.post("/api/imports", data={"layer": "y", "class_code": "050101"}, files={"file": ("a.csv", b"a\n")})
    assert r.status_code == 401


def test_cli_import_versions_compare_rollback(
    db_kind: str, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITYBASE_DATABASE_URL", database_url)
    monkeypatch.setattr(common.state, "_platform", None)
    wide = common.Console(width=200)
    for target in (
        "citybase.cli.common.console",
        "citybase.cli.common.err_console",
        "citybase.cli.imports.console",
        "citybase.cli.imports.err_console",
    ):
        monkeypatch.setattr(target, wide)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        common.state._platform = None
        assert result.exit_code == code, result.output + repr(result.exception)
        return result.output

    run("init")
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1)])
    out = run("import", str(v1), "--layer", "zjj", "--class", "050101", "--mapping", "编号=key,名称=name,层数=floors")
    assert "import 1 succeeded" in out and "loaded: 2" in out and "layer version: 1" in out
    v2 = buildings(tmp_path / "v2.gpkg", [("A", "甲楼", 9, 0)])
    assert "changed 1" in run("import", str(v2), "--layer", "zjj")
    assert "1 → 2: added 0, changed 1, retired 1" in run("layers", "compare", "zjj", "1", "2")
    assert "now at version 3" in run("layers", "rollback", "zjj", "1")
    assert "rollback to 1" in run("layers", "versions", "zjj")
    bad = tmp_path / "lamps.csv"
    bad.write_text("x,y\n112.1,32.0\n", encoding="utf-8")
    out = run("import", str(bad), "--layer", "lamps", "--class", "010301", code=1)
    assert "Import failed" in out and "--crs" in out
    assert '"state": "failed"' in run("imports", "show", "3", "--json")


def test_new_objects_can_be_coded_in_the_import_transaction(platform: Platform, tmp_path: Path) -> None:
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1)])
    run = import_file(platform, v1, layer="zjj", class_code="050101", mapping=MAPPING, assign_codes=True)
    assert run.state == "succeeded" and (run.report or {})["coded"] == 2, run.report
    codes = [o.code for o in layer_objects(platform, "zjj")]
    assert all(c is not None and len(c) == 21 and c[6:12] == "050101" for c in codes), codes


def test_api_takes_a_shapefile_as_its_parts(platform: Platform, admin_api: Api, tmp_path: Path) -> None:
    write_file(
        tmp_path / "b.shp", footprints(2), {"名称": ["襄阳一号楼", "樊城二号楼"], "floors": [5, 6]}, encoding="GBK"
    )
    parts = [("file", (p.name, p.read_bytes())) for p in sorted(tmp_path.glob("b.*"))]
    form = {"layer": "shp", "class_code": "050101", "mapping": json.dumps({"名称": "name"})}
    r = admin_api.post("/api/imports", data=form, files=parts)
    assert r.status_code == 202, r.text
    platform.jobs.run_pending()
    done = admin_api.get(f"/api/imports/{r.json()['id']}").json()
    assert (done["state"], done["file"], done["report"]["format"]) == ("succeeded", "b.shp", "shapefile")
    assert sorted(o.name for o in layer_objects(platform, "shp")) == ["樊城二号楼", "襄阳一号楼"]


def test_api_lists_imports_and_shows_saved_mappings(platform: Platform, admin_api: Api, tmp_path: Path) -> None:
    add_department(platform, "zjj", "住房和城乡建设局")
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0)])
    run = import_file(platform, v1, layer="zjj-b", class_code="050101", department="zjj", mapping=MAPPING)
    items = admin_api.get("/api/imports?layer=zjj-b").json()["items"]
    assert [(i["id"], i["state"]) for i in items] == [(run.id, "succeeded")]
    saved = admin_api.get("/api/imports/mappings/050101?department=zjj").json()
    assert saved["mapping"] == MAPPING
    assert admin_api.get("/api/imports/mappings/999999").status_code == 400  # no such class
    admin_api.anonymous()
    assert admin_api.get("/api/imports").status_code == 401


def test_where_filters_are_single_expressions(platform: Platform, tmp_path: Path) -> None:
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1)])
    run = import_file(platform, v1, layer="b", class_code="050101", mapping=MAPPING, where="层数 > 5")
    assert run.state == "succeeded" and [o.name for o in layer_objects(platform, "b")] == ["乙楼"]
    with pytest.raises(InvalidInputError, match="bad filter"):
        import_file(platform, v1, layer="c", class_code="050101", where="1=1; DROP TABLE gpkg_contents")
    bad = import_file(platform, v1, layer="d", class_code="050101", where="no_such_column = 1")
    assert bad.state == "failed" and "GDAL cannot" in json.dumps(bad.report)
