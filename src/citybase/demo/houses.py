"""Demo city: houses (filled in by issue 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def build_houses(platform: Any, seed: int, tell: Callable[[str, int, int | None], None]) -> dict[str, int]:
    return {}


def build_organisations(platform: Any, seed: int, tell: Callable[[str, int, int | None], None]) -> dict[str, int]:
    return {}
