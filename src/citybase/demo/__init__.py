"""The demo city: a deterministic Xiangyang (襄阳) built on its real divisions and boundaries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SCALES = ("tiny", "demo", "city")
Progress = Callable[[str, int, int | None], None]


def demo_status(platform: Any) -> str | None:
    raise NotImplementedError


def build_demo(platform: Any, scale: str, progress: Progress | None = None) -> Any:
    raise NotImplementedError
