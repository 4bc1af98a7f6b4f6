"""The people CSV import as a job (``POST /api/people/imports``, the portal's upload): progress while it
runs, a checkpoint in every chunk's transaction (a restarted server resumes where the last chunk
committed, nothing twice), and the uploaded file, which holds personal data, removed when the job ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from citybase.domains.access import Actor
from citybase.domains.jobs import Handler, JobContext, actor_params, job_actor
from citybase.domains.registry.people import PeopleService
from citybase.domains.registry.people_import import ImportReport, import_people, read_rows, read_text
from citybase.kernel.errors import Issue

JOB_KIND = "people.import"
MAX_ERRORS_KEPT = 10_000  # rejected rows listed in the job (the CLI's --report writes them all)


def job_params(actor: Actor, path: Path) -> dict[str, Any]:
    return {"path": str(path), **actor_params(actor)}


def as_dict(report: ImportReport) -> dict[str, Any]:
    return {
        "rows": report.rows,
        "registered": report.registered,
        "rejected": report.rows - report.registered,
        "committed": report.committed,
        "errors": [i.as_dict() for i in report.errors[:MAX_ERRORS_KEPT]],
    }


def _report(saved: dict[str, Any]) -> ImportReport:
    errors = [Issue(e["field"], e["reason"], e.get("record")) for e in saved["errors"]]
    return ImportReport(rows=saved["rows"], registered=saved["registered"], errors=errors, committed=saved["committed"])


def make_handler(people: PeopleService) -> Handler:
    def handle(ctx: JobContext) -> dict[str, Any]:
        actor = job_actor(ctx)
        path = Path(ctx.params["path"])
        try:
            rows = read_rows(read_text(path))
            resume = _report(ctx.checkpoint) if ctx.checkpoint else None
            ctx.progress(resume.rows if resume else 0, len(rows), "registering people")
            report = import_people(
                people,
                actor,
                rows,
                resume=resume,
                checkpoint=lambda conn, r: ctx.save_checkpoint(conn, as_dict(r), done=r.rows),
                progress=lambda r: ctx.progress(r.rows, len(rows)),
            )
        except Exception:  # the job ends failed or cancelled: the file goes (a dying process keeps it to resume)
            path.unlink(missing_ok=True)
            raise
        path.unlink(missing_ok=True)  # personal data: not kept once the job has ended
        return as_dict(report)

    return handle
