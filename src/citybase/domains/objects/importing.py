"""The ``objects.import_geojson`` job: load a GeoJSON file of objects, resumable in chunks.

Every feature is validated first; if any is bad the job fails with a row-level report and writes
nothing. Valid files load in chunks, each chunk one transaction that also saves the checkpoint, so
an interrupted run resumes after the last committed chunk and never writes a feature twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from citybase.domains.access import Actor, Role
from citybase.domains.jobs import JobContext, JobFailed
from citybase.domains.objects.model import NewObject
from citybase.domains.objects.service import ObjectService
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import geometry_from_geojson

JOB_KIND = "objects.import_geojson"
CHUNK = 1000


def read_features(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            "file is not UTF-8", issues=[Issue("file", f"byte {exc.start}: {exc.reason}")]
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError("file is not JSON", issues=[Issue("file", f"line {exc.lineno}: {exc.msg}")]) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise InvalidInputError(
            "not a GeoJSON FeatureCollection", issues=[Issue("file", "expected a FeatureCollection")]
        )
    return doc["features"]


def feature_to_object(feature: Any, index: int, class_code: str | None, department_id: int | None) -> NewObject:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInputError("bad feature", issues=[Issue("feature", "expected a GeoJSON Feature", index)])
    props = dict(feature.get("properties") or {})
    name = props.pop("name", None)
    cls = props.pop("class_code", None) or class_code
    if not cls:
        raise InvalidInputError("bad feature", issues=[Issue("class_code", "give it in the job or per feature", index)])
    geometry = None if feature.get("geometry") is None else geometry_from_geojson(feature["geometry"], record=index)
    return NewObject(
        class_code=str(cls), name=str(name or ""), geometry=geometry, attributes=props, department_id=department_id
    )


def make_handler(objects: ObjectService) -> Any:
    def handle(ctx: JobContext) -> dict[str, Any]:
        params = ctx.params
        features = read_features(Path(params["path"]))
        actor = Actor(
            name=ctx.created_by, kind="user", role=Role(params["role"]), department_id=params.get("actor_department_id")
        )
        news: list[NewObject] = []
        issues: list[Issue] = []
        # Validate every feature before anything is written, so the report lists every bad row.
        with objects.store.read() as conn:
            depts = objects.departments(conn)
            for i, f in enumerate(features):
                try:
                    new = feature_to_object(f, i, params.get("class_code"), params.get("department_id"))
                    objects.check(conn, actor, new, i, depts)
                    news.append(new)
                except InvalidInputError as exc:
                    issues.extend(exc.issues)
        if issues:
            raise JobFailed(f"{len(issues)} problem(s) in {len(features)} features; nothing was written", issues=issues)
        start = int(ctx.checkpoint.get("next", 0))
        ctx.progress(start, len(news), "loading")
        for lo in range(start, len(news), CHUNK):
            hi = min(lo + CHUNK, len(news))
            with objects.store.write() as conn:
                objects.insert_batch(conn, actor, news[lo:hi], validate=False)
                ctx.save_checkpoint(conn, {"next": hi}, done=hi)
            ctx.progress(hi, len(news))
        return {"read": len(features), "loaded": len(news) - start, "resumed_at": start}

    return handle
