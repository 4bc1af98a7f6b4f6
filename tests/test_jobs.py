"""Jobs: persisted progress, row-level error reports, resumption after an interrupted run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from citybase.domains.access import SYSTEM
from citybase.domains.jobs import JobContext
from citybase.domains.objects import IMPORT_GEOJSON_JOB, ObjectQuery
from citybase.domains.objects import importing as importing_module
from citybase.kernel.errors import ConflictError, InvalidInputError
from citybase.platform import Platform
from citybase.store.schema import job
from tests.helpers import ADMIN_PASSWORD, ORIGIN, Api


def lamps_file(path: Path, n: int, bad: dict[int, dict[str, Any]] | None = None) -> Path:
    features = []
    for i in range(n):
        props: dict[str, Any] = {"name": f"路灯{i:04d}", "lamp_type": "LED", "power_w": 100}
        geom: Any = {"type": "Point", "coordinates": [ORIGIN[0] + i * 1e-5, ORIGIN[1]]}
        if bad and i in bad:
            props.update(bad[i].get("properties", {}))
            geom = bad[i].get("geometry", geom)
        features.append({"type": "Feature", "properties": props, "geometry": geom})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def submit(platform: Platform, path: Path) -> int:
    params = {"path": str(path), "class_code": "010301", "role": "platform_admin"}
    return platform.jobs.submit(SYSTEM, IMPORT_GEOJSON_JOB, params).id


def test_import_job_loads_in_chunks_with_progress(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing_module, "CHUNK", 40)
    job_id = submit(platform, lamps_file(tmp_path / "lamps.geojson", 100))
    assert platform.jobs.get(job_id).state == "queued"
    finished = platform.jobs.run_one()
    assert finished is not None and finished.state == "succeeded", finished
    assert (finished.done, finished.total) == (100, 100)
    assert finished.result == {"read": 100, "loaded": 100, "resumed_at": 0}
    assert finished.checkpoint == {"next": 100}
    assert len(platform.objects.search(ObjectQuery(class_code="010301", limit=1000)).items) == 100


def test_a_bad_row_fails_the_job_with_a_report_and_writes_nothing(platform: Platform, tmp_path: Path) -> None:
    bad = {7: {"properties": {"power_w": "lots"}}, 42: {"geometry": {"type": "Point", "coordinates": [32.0, 112.1]}}}
    job_id = submit(platform, lamps_file(tmp_path / "lamps.geojson", 60, bad))
    finished = platform.jobs.run_one()
    assert finished is not None and finished.state == "failed"
    assert {(e["record"], e["field"]) for e in finished.errors or []} == {(7, "attributes.power_w"), (42, "geometry")}
    assert "nothing was written" in (finished.message or "")
    assert platform.objects.search(ObjectQuery()).items == []
    assert platform.jobs.get(job_id).state == "failed"


def test_an_interrupted_job_resumes_after_the_last_committed_chunk(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing_module, "CHUNK", 25)
    job_id = submit(platform, lamps_file(tmp_path / "lamps.geojson", 100))
    calls = {"n": 0}
    real_save = JobContext.save_checkpoint

    def crash_after_two_chunks(
        self: JobContext, conn: Any, checkpoint: dict[str, Any], done: int | None = None
    ) -> None:
        real_save(self, conn, checkpoint, done)
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("power cut")  # not an Exception: the runner does not catch it, like a killed process

    monkeypatch.setattr(JobContext, "save_checkpoint", crash_after_two_chunks)
    with pytest.raises(SystemExit):
        platform.jobs.run_one()
    # The second chunk's transaction was rolled back with its checkpoint: one chunk is in.
    assert len(platform.objects.search(ObjectQuery(limit=1000)).items) == 25
    assert platform.jobs.get(job_id).state == "running"
    monkeypatch.setattr(JobContext, "save_checkpoint", real_save)
    # A restarted process finds the job stale and resumes it.
    assert platform.jobs.requeue_stale() == 0
    with platform.store.write() as conn:
        conn.execute(update(job).where(job.c.id == job_id).values(heartbeat_at=datetime.now(UTC) - timedelta(hours=1)))
    assert platform.jobs.requeue_stale() == 1
    finished = platform.jobs.run_one()
    assert finished is not None and finished.state == "succeeded"
    assert finished.result == {"read": 100, "loaded": 75, "resumed_at": 25} and finished.attempts == 2
    names = sorted(o.name for o in platform.objects.search(ObjectQuery(limit=1000)).items)
    assert names == [f"路灯{i:04d}" for i in range(100)]


def test_cancel_and_unknown_kinds(platform: Platform, tmp_path: Path) -> None:
    job_id = submit(platform, lamps_file(tmp_path / "lamps.geojson", 3))
    assert platform.jobs.cancel(SYSTEM, job_id).state == "cancelled"
    with pytest.raises(ConflictError):
        platform.jobs.cancel(SYSTEM, job_id)
    assert platform.jobs.run_one() is None
    with pytest.raises(InvalidInputError, match="unknown job kind"):
        platform.jobs.submit(SYSTEM, "nope", {})


def test_import_over_http_is_a_visible_job(admin_api: Api, platform: Platform, tmp_path: Path) -> None:
    path = lamps_file(tmp_path / "lamps.geojson", 10)
    with path.open("rb") as f:
        r = admin_api.post(
            "/api/objects/import",
            params={"class_code": "010301"},
            files={"file": ("lamps.geojson", f, "application/geo+json")},
        )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert admin_api.get(f"/api/jobs/{job_id}").json()["state"] == "queued"
    platform.jobs.run_pending()
    body = admin_api.get(f"/api/jobs/{job_id}").json()
    assert body["state"] == "succeeded" and body["progress"] == 1.0
    assert [j["id"] for j in admin_api.get("/api/jobs").json()["items"]] == [job_id]
    r = admin_api.post("/api/objects/import", files={"file": ("x.geojson", "不是JSON".encode("gbk"), "text/plain")})
    assert r.status_code == 400 and r.json()["issues"][0]["field"] == "file"


def test_jobs_are_seen_by_their_owner_and_platform_admins_only(api: Api, platform: Platform, tmp_path: Path) -> None:
    from tests.helpers import add_department, add_user

    add_department(platform, "cgj", "城管局")
    add_user(platform, "lamp_user", "department_user", "cgj")
    add_user(platform, "other_user", "department_user", "cgj")
    assert api.get("/api/jobs").status_code == 401
    api.login("lamp_user", "user-pass-123")
    path = lamps_file(tmp_path / "lamps.geojson", 2)
    with path.open("rb") as f:
        job_id = api.post(
            "/api/objects/import",
            params={"class_code": "010301"},
            files={"file": ("l.geojson", f, "application/geo+json")},
        ).json()["id"]
    assert [j["id"] for j in api.get("/api/jobs").json()["items"]] == [job_id]
    api.login("other_user", "user-pass-123")
    assert api.get("/api/jobs").json()["items"] == []
    assert api.get(f"/api/jobs/{job_id}").status_code == 404
    assert api.post(f"/api/jobs/{job_id}/cancel").status_code == 404
    api.login("admin", ADMIN_PASSWORD)
    assert api.get(f"/api/jobs/{job_id}").json()["created_by"] == "lamp_user"
