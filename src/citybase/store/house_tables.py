"""Actual house and organisation tables (migration 0009)."""

from __future__ import annotations
