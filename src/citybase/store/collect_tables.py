"""Collection task tables (migration 0010)."""

from __future__ import annotations
