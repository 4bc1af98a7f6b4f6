"""The demo city: a deterministic Xiangyang (襄阳) built on its real divisions and boundaries.

``build_demo(platform, "tiny" | "demo" | "city")`` writes the city once (a second call raises
ConflictError); ``demo_status(platform)`` says whether and what was built. See docs/demo.md.
"""

from __future__ import annotations

from citybase.demo.build import DEMO_PASSWORD, MARKER_KEY, DemoReport, Progress, build_demo, demo_status, demo_users
from citybase.demo.profiles import PROFILES, SCALES, SEED, ScaleProfile
from citybase.demo.records import DEPARTMENTS, OWNER

__all__ = [
    "DEMO_PASSWORD",
    "DEPARTMENTS",
    "MARKER_KEY",
    "OWNER",
    "PROFILES",
    "SCALES",
    "SEED",
    "DemoReport",
    "Progress",
    "ScaleProfile",
    "build_demo",
    "demo_status",
    "demo_users",
]
