"""Shared CLI plumbing: settings from global options, the platform, error printing, progress bars."""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from citybase.domains.access import SYSTEM, Actor
from citybase.domains.jobs import Job
from citybase.kernel.errors import CityBaseError
from citybase.kernel.settings import Settings, load_settings
from citybase.platform import Platform

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


class State:
    data_dir: Path | None = None
    database_url: str | None = None
    _platform: Platform | None = None

    def settings(self, **overrides: Any) -> Settings:
        return load_settings(data_dir=self.data_dir, database_url=self.database_url, **overrides)

    def platform(self, **overrides: Any) -> Platform:
        if self._platform is None:
            self._platform = Platform(self.settings(**overrides))
        return self._platform


state = State()


def cli_actor() -> Actor:
    """The CLI runs with the operator's shell access to the data directory: it acts as the system."""
    return SYSTEM


def handle_errors(fn: F) -> F:
    """Print domain errors as one clear message (plus their issues) and exit 1, instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CityBaseError as exc:
            err_console.print(f"[bold red]{exc.title}:[/] {exc.detail}")
            for issue in exc.issues[:50]:
                err_console.print(f"  - {issue}")
            if len(exc.issues) > 50:
                err_console.print(f"  … and {len(exc.issues) - 50} more")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not sys.stderr.isatty() and False,
    )


def _run_until_done(platform: Platform, job_id: int) -> None:
    """Run queued jobs in this process until ``job_id`` has finished.

    ``run_one`` takes the oldest queued job, which need not be ours: older ones run first (they were
    waiting anyway), and when the queue is empty but ours is still running, another worker (a running
    server) has it and we wait for it.
    """
    while platform.jobs.get(job_id).state in ("queued", "running"):
        if platform.jobs.run_one() is None:
            time.sleep(0.3)


def run_job(job_id: int, label: str, *, show_message: bool = False) -> Job:
    """Run job ``job_id`` here (see :func:`_run_until_done`) behind a progress bar; return it finished.

    ``show_message`` puts the job's own progress message in the bar instead of ``label``.
    """
    platform = state.platform()
    worker = threading.Thread(target=_run_until_done, args=(platform, job_id), daemon=True)
    worker.start()
    with progress_bar() as bar:
        task = bar.add_task(f"{label} (job {job_id})", total=None)
        while worker.is_alive():
            job = platform.jobs.get(job_id)
            if show_message:
                bar.update(task, description=job.message or label)
            bar.update(task, completed=job.done, total=job.total)
            worker.join(0.3)
        job = platform.jobs.get(job_id)
        bar.update(task, completed=job.done, total=job.total)
    return job


def exit_unless_succeeded(job: Job, *, record: str = "record", field: str = "field") -> None:
    """Print a failed job's message and first 50 errors (``record``/``field`` name their columns), exit 1."""
    if job.state == "succeeded":
        return
    console.print(f"[red]job {job.id} {job.state}:[/] {job.message}")
    for e in (job.errors or [])[:50]:
        where = f"{record} {e['record']}, " if e.get("record") is not None else ""
        console.print(f"  - {where}{field} {e.get('field')!r}: {e.get('reason')}", markup=False)
    raise typer.Exit(1)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), format="%(message)s")
