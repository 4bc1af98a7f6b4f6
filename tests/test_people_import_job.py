"""``POST /api/people/imports`` on both databases: the CSV import as a job with progress, its row errors
in the result, the upload removed when it ends, permissions, and a resume after a killed process."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from citybase.demo.people import fake_citizen_id
from citybase.domains.jobs import JobContext
from citybase.domains.registry import people_import
from citybase.platform import Platform
from citybase.store.people_tables import person
from citybase.store.schema import job
from tests.address_tree_helpers import small_tree
from tests.helpers import Api


def _csv(room: int, n: int, bad: tuple[int, ...] = ()) -> bytes:
    lines = ["身份证号,姓名,地址节点,户号,与户主关系"]
    for i in range(n):
        cid = fake_citizen_id("420602", date(1950, 1, 1) + timedelta(days=i), 996)
        name = "坏名1" if i in bad else "居民"
        lines.append(f"{cid},{name},{room},J{i // 4},{'户主' if i % 4 == 0 else '子女'}")
    return ("\n".join(lines) + "\n").encode("gbk")


def _people(platform: Platform) -> int:
    with platform.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(person)).scalar_one())


def _uploads(platform: Platform) -> list[str]:
    folder = platform.settings.data_dir / "uploads"
    return sorted(p.name for p in folder.glob("people-*")) if folder.exists() else []


def test_a_people_csv_is_imported_as_a_job_with_its_row_errors(admin_api: Api, platform: Platform) -> None:
    tree = small_tree(platform)
    r = admin_api.post("/api/people/imports", files={"file": ("p.csv", _csv(tree.room, 9, bad=(2, 7)), "text/csv")})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert len(_uploads(platform)) == 1
    finished = platform.jobs.run_one()
    assert finished is not None and finished.state == "succeeded", finished
    result: dict[str, Any] = finished.result or {}
    assert (result["rows"], result["registered"], result["rejected"], result["committed"]) == (9, 7, 2, 10)
    assert [(e["record"], e["field"]) for e in result["errors"]] == [(4, "name"), (9, "name")]
    assert (finished.done, finished.total) == (9, 9)
    assert _people(platform) == 7 and _uploads(platform) == []  # the personal data file is gone
    assert admin_api.get(f"/api/jobs/{job_id}").json()["result"]["registered"] == 7


def test_uploads_need_the_registry_and_jobs_permissions_and_bytes(api: Api, admin_api: Api) -> None:
    empty = admin_api.post("/api/people/imports", files={"file": ("p.csv", b"", "text/csv")})
    assert empty.status_code == 400 and empty.json()["issues"][0]["field"] == "file"
    api.anonymous()
    assert api.post("/api/people/imports", files={"file": ("p.csv", b"x", "text/csv")}).status_code == 401


def test_a_killed_import_job_resumes_after_its_last_chunk(
    admin_api: Api, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(people_import, "CHUNK", 4)
    tree = small_tree(platform)
    r = admin_api.post("/api/people/imports", files={"file": ("p.csv", _csv(tree.room, 10, bad=(5,)), "text/csv")})
    job_id = r.json()["id"]
    real_save, calls = JobContext.save_checkpoint, {"n": 0}

    def killed_after_two(self: JobContext, conn: Any, checkpoint: dict[str, Any], done: int | None = None) -> None:
        real_save(self, conn, checkpoint, done)
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("power cut")  # like a killed process: the second chunk rolls back

    monkeypatch.setattr(JobContext, "save_checkpoint", killed_after_two)
    with pytest.raises(SystemExit):
        platform.jobs.run_one()
    assert _people(platform) == 4 and len(_uploads(platform)) == 1  # kept to resume
    monkeypatch.setattr(JobContext, "save_checkpoint", real_save)
    with platform.store.write() as conn:
        conn.execute(update(job).where(job.c.id == job_id).values(heartbeat_at=datetime.now(UTC) - timedelta(hours=1)))
    assert platform.jobs.requeue_stale() == 1
    finished = platform.jobs.run_one()
    assert finished is not None and finished.state == "succeeded" and finished.attempts == 2
    result = finished.result or {}
    assert (result["rows"], result["registered"], result["committed"]) == (10, 9, 11)
    assert [e["record"] for e in result["errors"]] == [7]
    assert _people(platform) == 9 and _uploads(platform) == []
