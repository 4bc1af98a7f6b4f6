"""Shared CLI plumbing: settings from global options, the platform, error printing, progress bars."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from citybase.domains.access import SYSTEM, Actor
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


def configure_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), format="%(message)s")
