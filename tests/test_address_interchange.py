"""The interchange CSV: UTF-8 (with BOM) and GBK, per-row errors that never stop the batch, idempotent
re-import, export, the import job over the API and the CLI commands. Both databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybase.domains.access import SYSTEM, Actor, Role, audit_entries
from citybase.domains.addresses import IMPORT_ADDRESSES_JOB, export_file, job_params
from citybase.domains.jobs import Job
from citybase.platform import Platform
from tests.helpers import Api

HEADER = "id,province,city,district,town,community,road,door_number,compound,building,unit,floor,room,lon,lat"
GOOD = [
    "A1,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,57号,檀溪花园,3栋,1单元,,502室,,",
    "A2,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,57号,檀溪花园,3栋,,,,112.1412,32.0112",
    "A3,,,襄城区,真武山街道,檀溪社区,长虹路,59号,,,,,,112.1415,32.0110",
    "A4,湖北省,襄阳市,樊城区,,,,,,,,,,,",
]


def _csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _import(platform: Platform, tmp_path: Path, data: bytes, actor: Actor = SYSTEM) -> Job:
    path = tmp_path / f"in-{len(list(tmp_path.iterdir()))}.csv"
    path.write_bytes(data)
    job = platform.jobs.submit(actor, IMPORT_ADDRESSES_JOB, job_params(actor, path))
    platform.jobs.run_one()
    return platform.jobs.get(job.id)


def test_utf8_with_bom_imports_the_tree(platform: Platform, tmp_path: Path) -> None:
    job = _import(platform, tmp_path, b"\xef\xbb\xbf" + _csv(*GOOD).encode("utf-8"))
    assert job.state == "succeeded", job.errors
    result = job.result or {}
    assert (result["rows"], result["failed"], result["encoding"]) == (4, 0, "utf-8")
    # A1 makes town, community, road, plate, compound, building, unit, room; A3 one more plate; A2 gives
    # the building its id and point, A4 its id to the district that exists already
    assert (result["created"], result["updated"], result["unchanged"]) == (9, 2, 0)
    room = next(platform.addresses.iter_records(levels=["room"]))
    assert room.source_id == "A1" and room.parts["town"] == "真武山街道"
    assert room.full_address == "湖北省襄阳市襄城区真武山街道檀溪社区长虹路57号檀溪花园3栋1单元502室"
    assert (room.lon, room.lat) == (112.1412, 32.0112)
    # town and community were found among the NBS divisions (檀溪社区 = 檀溪社区居委会), so the room's
    # display code starts with the community's 12-digit code
    path = {n.level: n for n in platform.addresses.path(room.id)}
    assert (path["town"].division_code, path["community"].division_code) == ("420602001000", "420602001008")
    assert room.display_code is not None and room.display_code.startswith("42060200100890")


def test_gbk_files_are_detected(platform: Platform, tmp_path: Path) -> None:
    job = _import(platform, tmp_path, _csv(*GOOD).encode("gbk"))
    assert job.state == "succeeded" and (job.result or {})["encoding"] == "gbk"
    assert {r.source_id for r in platform.addresses.iter_records(levels=["room", "door_number"])} == {"A1", "A3", None}
    bad = _import(platform, tmp_path, b"\xff\xfe\xfa,x\n" + _csv(GOOD[0]).encode("gbk"))
    assert bad.state == "failed" and "neither UTF-8 nor GBK" in (bad.message or "")


def test_mixed_and_broken_lines_fail_alone(platform: Platform, tmp_path: Path) -> None:
    # two exports pasted together (GBK, then UTF-8) and one line of broken bytes
    data = _csv(GOOD[0]).encode("gbk") + (GOOD[2] + "\n").encode("utf-8") + b"C1,\xff\xfe\xfa,\x81\n"
    job = _import(platform, tmp_path, data)
    assert job.state == "succeeded" and job.result is not None
    assert (job.result["encoding"], job.result["rows"], job.result["failed"]) == ("mixed", 3, 1)
    assert {(e["record"], e["field"]) for e in job.result["errors"]} == {(1, "file"), (4, "row")}
    assert {r.source_id for r in platform.addresses.iter_records(levels=["room", "door_number"])} == {"A1", "A3", None}
    broken = _import(platform, tmp_path, _csv(GOOD[0]).encode("gbk") + b"C2,\xff\xfe\n")
    assert broken.result is not None and (broken.result["encoding"], broken.result["failed"]) == ("gbk", 1)


def test_bad_rows_are_reported_and_never_stop_the_batch(platform: Platform, tmp_path: Path) -> None:
    rows = [
        GOOD[0],
        "B1,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,57号,檀溪花园,,1单元,,101室,,",  # room without building
        "B2,湖北省,襄阳市,火星区,真武山街道,檀溪社区,长虹路,1号,,,,,,,",  # unknown district
        "B3,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,3号,,,,,,2.35,48.85",  # outside China
        "B4,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,5号,,,,,,abc,32",  # not a number
        "B5,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,7号,,,,,,,,extra",  # extra cell
        "B6,湖北省,襄阳市,襄城区",  # missing cells
        "B7,湖北省,武汉市,江岸区,,,,,,,,,,,",  # another city
        "B8,,,,,,,,,,,,,,",  # nothing
        "B9,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,9号,,,,,,112.15,",  # lat missing
        "C9,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,11号" + "号" * 200_000 + ",,,,,,,",  # absurdly long
        "D9,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,13号,,,,,,,",
        GOOD[2],
    ]
    job = _import(platform, tmp_path, _csv(*rows).encode("utf-8"))
    assert job.state == "succeeded"
    result = job.result or {}
    assert (result["rows"], result["failed"]) == (13, 10)
    errors = {(e["record"], e["field"]) for e in result["errors"]}
    assert {
        (3, "room"),
        (4, "district"),
        (5, "lon"),
        (6, "lon"),
        (7, "row"),
        (8, "row"),
        (9, "city"),
        (10, "row"),
        (11, "lat"),
    } <= errors
    reasons = {e["record"]: e["reason"] for e in result["errors"]}
    assert "needs its building" in reasons[3] and "unknown district '火星区'" in reasons[4]
    assert "outside China" in reasons[5] and "extra columns" in reasons[7]
    assert {r.source_id for r in platform.addresses.iter_records(levels=["room", "door_number"])} == {
        "A1",
        "A3",
        "D9",
        None,
    }


def test_a_header_without_the_columns_fails_the_job(platform: Platform, tmp_path: Path) -> None:
    job = _import(platform, tmp_path, "id,province,city,street\n1,湖北省,襄阳市,x\n".encode())
    assert job.state == "failed"
    missing = {e["field"] for e in job.errors or []}
    assert {"district", "room", "lon", "lat"} <= missing
    extra = _import(
        platform,
        tmp_path,
        _csv(GOOD[3], header=HEADER + ",note")
        .replace("\n", ",x\n", 2)
        .replace(HEADER + ",note,x", HEADER + ",note")
        .encode(),
    )
    assert extra.state == "succeeded"
    assert {(e["record"], e["field"]) for e in (extra.result or {})["errors"]} == {(1, "note")}


def test_reimport_is_idempotent_and_follows_the_source_id(platform: Platform, tmp_path: Path) -> None:
    data = _csv(*GOOD).encode()
    _import(platform, tmp_path, data)
    ids = {r.source_id: r.id for r in platform.addresses.iter_records() if r.source_id}
    revision = platform.addresses.revision()
    again = _import(platform, tmp_path, data)
    assert again.result is not None
    assert (again.result["created"], again.result["updated"], again.result["unchanged"]) == (0, 0, 4)
    assert platform.addresses.revision() == revision  # nothing written (but the import is audited)
    audit = audit_entries(platform.store, SYSTEM, action="address.import")
    assert [e.detail["unchanged"] for e in audit if e.detail] == [4, 0]
    assert {r.source_id: r.id for r in platform.addresses.iter_records() if r.source_id} == ids
    # the source system renamed its room and moved the plate: same nodes, new versions, the old name kept
    changed = _csv(GOOD[0].replace("502室", "503室"), GOOD[2].replace("112.1415", "112.1416"))
    third = _import(platform, tmp_path, changed.encode())
    assert third.result is not None and (third.result["created"], third.result["updated"]) == (0, 2)
    room = platform.addresses.record(ids["A1"])
    assert room.parts["room"] == "503室" and room.aliases["room"] == ("502室",)
    assert platform.addresses.record(ids["A3"]).lon == 112.1416
    # an id cannot move an address elsewhere in the tree
    moved = _import(platform, tmp_path, _csv(GOOD[2].replace("59号", "61号").replace("A3", "A1")).encode())
    assert moved.result is not None and moved.result["failed"] == 1
    assert moved.result["errors"][0]["field"] == "id"


def test_export_writes_every_node_in_utf8_or_gbk(platform: Platform, tmp_path: Path) -> None:
    _import(platform, tmp_path, _csv(*GOOD).encode())
    out = tmp_path / "out.csv"
    count = export_file(platform.addresses, out, "gbk")
    text = out.read_bytes().decode("gbk")
    lines = text.splitlines()
    assert lines[0] == HEADER and len(lines) == count + 1
    assert "A1,湖北省,襄阳市,襄城区,真武山街道,檀溪社区,长虹路,57号,檀溪花园,3栋,1单元,,502室,," in lines
    assert any(line.startswith("A2,") and line.endswith(",112.1412,32.0112") for line in lines)
    platform.addresses.rename(SYSTEM, next(platform.addresses.iter_records(levels=["room"])).id, "𠀋室")
    with pytest.raises(Exception, match="GBK"):
        export_file(platform.addresses, out, "gbk")  # a character GBK has no code for
    assert export_file(platform.addresses, out, "utf-8") == count


def test_import_and_export_over_the_api(admin_api: Api, platform: Platform) -> None:
    r = admin_api.post("/api/addresses/imports", files={"file": ("a.csv", _csv(*GOOD).encode("gbk"), "text/csv")})
    assert r.status_code == 202, r.text
    platform.jobs.run_one()
    job = admin_api.get(f"/api/jobs/{r.json()['id']}").json()
    assert job["state"] == "succeeded" and job["result"]["created"] == 9
    out = admin_api.get("/api/addresses/export", params={"encoding": "gbk"})
    assert out.status_code == 200 and "502室" in out.content.decode("gbk")
    assert admin_api.anonymous().get("/api/addresses/export").status_code == 401


def test_only_recorders_may_import(platform: Platform, tmp_path: Path) -> None:
    from tests.helpers import add_department

    zjj = add_department(platform, "zjj", "住建局")
    job = _import(platform, tmp_path, _csv(*GOOD).encode(), Actor("zjj_user", "user", Role.DEPARTMENT_USER, zjj.id))
    assert job.state == "failed" and "civil-affairs" in (job.message or "")


def test_an_interrupted_import_resumes_after_the_last_chunk(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from citybase.domains.addresses import interchange
    from citybase.store.schema import job as job_table

    monkeypatch.setattr(interchange, "CHUNK", 1)
    original = interchange.Loader.load
    seen: list[int] = []

    def crash_on_third(self: interchange.Loader, conn: object, row: interchange.Row) -> None:
        seen.append(row.number)
        if len(seen) == 3:
            raise RuntimeError("power cut")
        original(self, conn, row)  # type: ignore[arg-type]

    monkeypatch.setattr(interchange.Loader, "load", crash_on_third)
    failed = _import(platform, tmp_path, _csv(*GOOD).encode())
    assert failed.state == "failed" and failed.checkpoint is not None and failed.checkpoint["next"] == 2
    with platform.store.write() as conn:  # the worker died mid-run: the runner finds it stale and requeues it
        conn.execute(
            update(job_table)
            .where(job_table.c.id == failed.id)
            .values(state="running", heartbeat_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    assert platform.jobs.requeue_stale() == 1
    platform.jobs.run_one()
    done = platform.jobs.get(failed.id)
    assert done.state == "succeeded" and done.result is not None
    assert seen == [2, 3, 4, 4, 5]  # lines 2 and 3 were loaded once; line 4 (cut) again, then 5
    assert (done.result["created"], done.result["updated"], done.result["failed"]) == (9, 2, 0)
