"""Actual population tables (migration 0008); identity numbers are stored encrypted plus a keyed hash."""

from __future__ import annotations
