"""Imports into dataset layers: submit (a job), load (one transaction per import), report, versions.

An import reads and checks the whole file first (reporting progress), then publishes in one write
transaction: new objects, changed objects (new object versions), membership of the new layer
version, the version record and the report. An interrupted import therefore leaves nothing behind;
the job runner restarts it from the file.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, or_, select, update

from citybase.domains.access import SYSTEM, Actor, Permission, Role, record_audit
from citybase.domains.codes import CodeService
from citybase.domains.imports import versions
from citybase.domains.imports.loading import Preparation, prepare
from citybase.domains.imports.mapping import check_mapping
from citybase.domains.imports.model import ImportOptions, ImportRun, LayerVersion, VersionDiff
from citybase.domains.imports.publishing import publish
from citybase.domains.imports.readers import read_source
from citybase.domains.jobs import JobContext, JobFailed, JobService
from citybase.domains.layers import Layer, LayerKind, LayerService, NewLayer
from citybase.domains.objects import ClassRegistry, ObjectClass, ObjectService
from citybase.domains.objects.service import ChangeHook
from citybase.kernel.errors import (
    AuthenticationError,
    CityBaseError,
    InvalidInputError,
    Issue,
    NotFoundError,
    PermissionDeniedError,
)
from citybase.store import Store
from citybase.store.import_tables import attribute_mapping, import_run
from citybase.store.schema import city_object, department

JOB_KIND = "imports.load"
MAX_UPLOAD_BYTES = 4 << 30  # one uploaded file; bigger datasets are split or loaded by an operator
MAX_WHERE_CHARS = 500


def _now() -> datetime:
    return datetime.now(UTC)


def may_import(actor: Actor, lyr: Layer) -> bool:
    """Platform admins, and users of the layer's owner department who may write its objects."""
    if actor.kind == "system" or actor.role == Role.PLATFORM_ADMIN:
        return True
    return (
        lyr.department_id is not None
        and actor.department_id == lyr.department_id
        and actor.can(Permission.WRITE_OWN_OBJECTS)
    )


def _run(m: Any) -> ImportRun:
    return ImportRun(**{k: m[k] for k in ImportRun.__dataclass_fields__})


class ImportService:
    def __init__(
        self,
        store: Store,
        objects: ObjectService,
        layers: LayerService,
        jobs: JobService,
        classes: ClassRegistry,
        codes: CodeService | None = None,
        on_change: ChangeHook | None = None,
        upload_dir: Path | None = None,
    ) -> None:
        self.codes = codes
        self.upload_dir = upload_dir or Path("imports")  # where files wait for their job (and a resume)
        self.store = store
        self.objects = objects
        self.layers = layers
        self.jobs = jobs
        self.classes = classes
        self.on_change = on_change  # told the bboxes of objects that joined or left a layer
        jobs.register(JOB_KIND, self.handle)

    # --- submit ----------------------------------------------------------------------------------
    def department_id(self, code: str | None) -> int | None:
        if code is None:
            return None
        with self.store.read() as conn:
            found = conn.execute(select(department.c.id).where(department.c.code == code)).scalar()
        if found is None:
            raise InvalidInputError("bad option", issues=[Issue("department", f"no department {code!r}")])
        return int(found)

    def target_layer(self, actor: Actor, opts: ImportOptions) -> Layer:
        """The dataset layer an import goes into, created (empty, internal) when it does not exist yet."""
        try:
            lyr = self.layers.get(actor, opts.layer)
        except NotFoundError:
            lyr = None
        dept = self.department_id(opts.department)
        if lyr is None:
            if not opts.class_code:
                raise InvalidInputError(
                    "no class", issues=[Issue("class_code", f"layer {opts.layer!r} is new: name its class (--class)")]
                )
            return self.layers.create(
                actor,
                NewLayer(
                    name=opts.layer,
                    title=opts.title or opts.layer,
                    class_code=opts.class_code,
                    description="imported dataset",
                    department_id=dept,
                    kind=LayerKind.DATASET.value,
                    access="internal",
                ),
            )
        if lyr.kind != LayerKind.DATASET:
            raise InvalidInputError(
                "not a dataset layer",
                issues=[Issue("layer", f"{lyr.name!r} shows every object of class {lyr.class_code}; "
                                       "import into a dataset layer (a new name creates one)")],
            )  # fmt: skip
        if opts.class_code and opts.class_code != lyr.class_code:
            raise InvalidInputError(
                "wrong class", issues=[Issue("class_code", f"layer {lyr.name!r} holds class {lyr.class_code}")]
            )
        if dept is not None and dept != lyr.department_id:
            raise InvalidInputError("wrong department", issues=[Issue("department", "the layer has another owner")])
        if not may_import(actor, lyr):
            raise PermissionDeniedError("imports go into layers of your own department (or by platform admins)")
        return lyr

    def submit(self, actor: Actor, path: Path, opts: ImportOptions, file_name: str | None = None) -> ImportRun:
        """Check the options, create the layer if new, record the import and queue its job."""
        actor.require(Permission.RUN_JOBS)
        if opts.where is not None and (len(opts.where) > MAX_WHERE_CHARS or ";" in opts.where):
            # GDAL hands the filter to the file's own engine (SQLite for GPKG): one expression, no statements.
            raise InvalidInputError(
                "bad filter", issues=[Issue("where", f"one attribute expression, at most {MAX_WHERE_CHARS} characters")]
            )
        lyr = self.target_layer(actor, opts)
        if opts.mapping is not None:
            check_mapping(opts.mapping, self.classes.get(lyr.class_code or ""))
        with self.store.write() as conn:
            run_id = conn.execute(
                import_run.insert().values(
                    layer_name=lyr.name,
                    file_name=file_name or path.name,
                    options=opts.as_dict(),
                    state="queued",
                    department_id=lyr.department_id,
                    created_by=actor.name,
                    created_at=_now(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        params = {
            "import_id": int(run_id),
            "path": str(path),
            "actor_kind": actor.kind,
            "role": actor.role.value if actor.role else None,
            "actor_department_id": actor.department_id,
        }
        job = self.jobs.submit(actor, JOB_KIND, params)
        with self.store.write() as conn:
            conn.execute(update(import_run).where(import_run.c.id == run_id).values(job_id=job.id))
        return self.get(actor, int(run_id))

    def stage(self, files: list[tuple[str, BinaryIO]]) -> Path:
        """Copy uploaded files (a file and its sidecars, e.g. .shp .dbf .shx .prj .cpg) to a fresh folder.

        Returns the path of the main file: the .shp when there is one, else the first file.
        """
        folder = self.upload_dir / uuid.uuid4().hex
        folder.mkdir(parents=True)
        paths = []
        for name, stream in files:
            safe = Path(name).name
            if not safe or safe.startswith("."):
                raise InvalidInputError("bad file name", issues=[Issue("file", f"{name!r} is not a file name")])
            target = folder / safe
            with target.open("wb") as out:
                size = 0
                while chunk := stream.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        shutil.rmtree(folder, ignore_errors=True)
                        raise InvalidInputError(
                            "file too large", issues=[Issue("file", f"{safe}: more than {MAX_UPLOAD_BYTES >> 30} GiB")]
                        )
                    out.write(chunk)
            paths.append(target)
        if not paths:
            raise InvalidInputError("no file", issues=[Issue("file", "upload one file (or a Shapefile's parts)")])
        return next((p for p in paths if p.suffix.lower() == ".shp"), paths[0])

    # --- reads -----------------------------------------------------------------------------------
    def get(self, actor: Actor, import_id: int) -> ImportRun:
        """An import as its caller may see it: platform admins all, others their own or their department's."""
        with self.store.read() as conn:
            row = conn.execute(select(import_run).where(import_run.c.id == import_id)).mappings().first()
        run = _run(row) if row is not None else None
        if run is None or not (
            actor.kind == "system"
            or actor.role == Role.PLATFORM_ADMIN
            or run.created_by == actor.name
            or (actor.department_id is not None and actor.department_id == run.department_id)
        ):
            raise NotFoundError(f"no import {import_id}")
        return run

    def recent(self, actor: Actor, *, layer: str | None = None, limit: int = 50) -> list[ImportRun]:
        """Recent imports the caller may see (newest first), optionally of one layer."""
        if actor.kind == "anonymous":
            raise AuthenticationError("log in to see imports")
        q = select(import_run).order_by(import_run.c.id.desc()).limit(max(1, min(limit, 500)))
        if layer is not None:
            q = q.where(import_run.c.layer_name == layer)
        if not (actor.kind == "system" or actor.role == Role.PLATFORM_ADMIN):
            mine = import_run.c.created_by == actor.name
            q = q.where(or_(mine, import_run.c.department_id == actor.department_id) if actor.department_id else mine)
        with self.store.read() as conn:
            return [_run(r) for r in conn.execute(q).mappings()]

    # --- mapping ---------------------------------------------------------------------------------
    def saved_mapping(self, department_id: int | None, class_code: str) -> dict[str, str] | None:
        m = attribute_mapping
        with self.store.read() as conn:
            found = conn.execute(
                select(m.c.mapping).where(m.c.department_id == (department_id or 0), m.c.class_code == class_code)
            ).scalar()
        return dict(found) if found else None

    def _save_mapping(
        self, conn: Connection, actor: Actor, department_id: int | None, class_code: str, mapping: dict[str, str]
    ) -> None:
        m = attribute_mapping
        key = (m.c.department_id == (department_id or 0), m.c.class_code == class_code)
        values = {"mapping": mapping, "updated_at": _now(), "updated_by": actor.name}
        if conn.execute(update(m).where(*key).values(**values)).rowcount == 0:
            conn.execute(m.insert().values(department_id=department_id or 0, class_code=class_code, **values))

    # --- the job ---------------------------------------------------------------------------------
    @staticmethod
    def _actor(ctx: JobContext) -> Actor:
        p = ctx.params
        if p.get("actor_kind") == "system":
            return SYSTEM
        return Actor(
            name=ctx.created_by,
            kind=p.get("actor_kind") or "user",
            role=Role(p["role"]) if p.get("role") else None,
            department_id=p.get("actor_department_id"),
        )

    def _finish(self, import_id: int, state: str, report: dict[str, Any], conn: Connection | None = None) -> None:
        stmt = (
            update(import_run)
            .where(import_run.c.id == import_id)
            .values(state=state, report=report, finished_at=_now(), layer_version=report.get("layer_version"))
        )
        if conn is not None:
            conn.execute(stmt)
            return
        with self.store.write() as c:
            c.execute(stmt)

    def handle(self, ctx: JobContext) -> dict[str, Any]:
        import_id = int(ctx.params["import_id"])
        actor = self._actor(ctx)
        run = self.get(SYSTEM, import_id)
        opts = ImportOptions(**run.options)
        try:
            return self._load(ctx, actor, run, opts)
        except JobFailed:
            raise  # the report is saved already
        except CityBaseError as exc:
            report = {"error": exc.detail, "issues": [i.as_dict() for i in exc.issues], "file": run.file_name}
            self._finish(import_id, "failed", report)
            raise JobFailed(exc.detail, issues=exc.issues) from None

    def _load(self, ctx: JobContext, actor: Actor, run: ImportRun, opts: ImportOptions) -> dict[str, Any]:
        lyr = self.layers.get(SYSTEM, run.layer_name)
        cls = self.classes.get(lyr.class_code or "")
        ctx.progress(0, None, "reading the file")
        table = read_source(
            Path(ctx.params["path"]), source_layer=opts.source_layer, geometry_type=cls.geometry_type, where=opts.where
        )
        saved = self.saved_mapping(lyr.department_id, cls.code)
        mapping = {**(saved or {}), **(opts.mapping or {})}
        source = "given" if opts.mapping else ("saved for the department and class" if saved else "same names")
        if opts.mapping and saved:
            source = "given, merged over the saved one"

        def progress(done: int, total: int) -> None:
            ctx.progress(done, total, "checking rows")

        with self.store.read() as conn:
            prep = prepare(conn, self.objects, actor, table, cls, opts, mapping, source, lyr.department_id, progress)
        prep.report["file"] = run.file_name
        if not prep.rows or (opts.all_or_nothing and prep.rejected):
            why = "no row could be loaded" if not prep.rows else "rows were rejected and all_or_nothing is set"
            prep.report["error"] = f"{why}; nothing was written"
            self._finish(run.id, "failed", prep.report)
            issues = [Issue(i["field"], i["reason"], i.get("row")) for i in prep.rejected[:1000]]
            raise JobFailed(f"{prep.report['rejected']} of {len(table.rows)} rows rejected; {why}", issues=issues)
        ctx.progress(len(table.rows), len(table.rows), "publishing the layer version")
        with self.store.write() as conn:
            version, counts, new_ids = self._publish(conn, actor, lyr, cls, prep, run.id)
            prep.report |= {"layer_version": version, **counts}
            if opts.assign_codes and new_ids:
                if self.codes is None:
                    raise JobFailed("code assignment is not available here")
                prep.report["coded"] = len(self.codes.assign_in(conn, actor, new_ids))
            if opts.mapping:
                self._save_mapping(conn, actor, lyr.department_id, cls.code, mapping)
            self._finish(run.id, "succeeded", prep.report, conn)
            record_audit(conn, actor, "layer.import", "layer", lyr.name, detail={"version": version, **counts})
        return {"import_id": run.id, **{k: prep.report[k] for k in ("rows_read", "loaded", "rejected", "repaired")},
                "layer_version": version, **counts}  # fmt: skip

    def _publish(
        self, conn: Connection, actor: Actor, lyr: Layer, cls: ObjectClass, prep: Preparation, import_id: int
    ) -> tuple[int, dict[str, int], list[int]]:
        """Write the new layer version; returns it, its counts and the ids of the objects it created."""
        done = publish(conn, self.objects, actor, lyr.id, prep.rows, import_id)
        self._notify(conn, done.left, cls.code)
        return done.version, done.counts, done.new_ids

    def _notify(self, conn: Connection, geoms: list[Any], class_code: str) -> None:
        """Objects that left a layer change its services too (tile caches listen to objects.changed)."""
        boxes = [tuple(g.bounds) for g in geoms if g is not None and not g.is_empty]
        if self.on_change is not None and boxes:
            self.on_change(conn, boxes, {class_code})

    # --- versions --------------------------------------------------------------------------------
    def _dataset(self, actor: Actor, name: str) -> Layer:
        lyr = self.layers.get(actor, name)
        if lyr.kind != LayerKind.DATASET:
            raise InvalidInputError(
                "not a dataset layer", issues=[Issue("layer", f"{name!r} is a class layer; it has no versions")]
            )
        return lyr

    def versions(self, actor: Actor, name: str) -> list[LayerVersion]:
        lyr = self._dataset(actor, name)
        with self.store.read() as conn:
            return versions.list_versions(conn, lyr.id, lyr.name)

    def compare(self, actor: Actor, name: str, v1: int, v2: int) -> VersionDiff:
        lyr = self._dataset(actor, name)
        with self.store.read() as conn:
            return versions.diff(conn, lyr.id, lyr.name, v1, v2)

    def rollback(self, actor: Actor, name: str, version: int) -> LayerVersion:
        """A new version with the objects of ``version``, each back at its object version then."""
        lyr = self._dataset(actor, name)
        if not may_import(actor, lyr):
            raise PermissionDeniedError("layers are rolled back by platform admins and their own department")
        with self.store.write() as conn:
            before = versions.members_at(conn, lyr.id, versions.current_version(conn, lyr.id))
            new_v, counts, skipped = versions.rollback(conn, self.objects, actor, lyr.id, lyr.name, version)
            after = versions.members_at(conn, lyr.id, new_v)
            # Objects that left, and objects back in the layer unchanged (no object write, so no event of
            # their own): the layer's services change where they are.
            moved = [oid for oid in before if oid not in after] + [oid for oid in after if oid not in before]
            geoms = conn.execute(select(city_object.c.geom).where(city_object.c.id.in_(moved))).scalars().all()
            self._notify(conn, list(geoms), lyr.class_code or "")
            record_audit(
                conn, actor, "layer.rollback", "layer", lyr.name, detail={"to": version, "version": new_v, **counts}
            )
        # Objects retired since cannot return (retired is final); they are counted as "skipped".
        del skipped
        return self.versions(actor, name)[-1]
