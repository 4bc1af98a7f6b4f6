"""The platform facade: domain events are delivered after commit, never after a rollback."""

from __future__ import annotations

from typing import Any

import pytest

from citybase.platform import Platform


def test_events_are_delivered_only_after_the_transaction_commits(platform: Platform) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    platform.subscribe("thing.changed", lambda name, payload: seen.append((name, payload)))
    with platform.store.write() as conn:
        platform.publish(conn, "thing.changed", {"id": 1})
        assert seen == []  # not yet: the transaction is still open
    assert seen == [("thing.changed", {"id": 1})]
    with pytest.raises(RuntimeError), platform.store.write() as conn:
        platform.publish(conn, "thing.changed", {"id": 2})
        raise RuntimeError("roll back")
    assert seen == [("thing.changed", {"id": 1})]


def test_a_failing_subscriber_does_not_break_the_writer(platform: Platform) -> None:
    def broken(name: str, payload: dict[str, Any]) -> None:
        raise ValueError("subscriber bug")

    got: list[int] = []
    platform.subscribe("x", broken)
    platform.subscribe("x", lambda n, p: got.append(p["n"]))
    with platform.store.write() as conn:
        platform.publish(conn, "x", {"n": 5})
    assert got == [5]


def test_init_is_idempotent_and_start_stop_run_background_work(platform: Platform) -> None:
    report = platform.init()
    assert report.classes_added == 0 and not report.admin_created
    platform.settings.job_workers = 1
    platform.start()
    platform.meter.record(api_key_id=None, department_id=None, route="/api/x", method="GET", ms=1.0, error=False)
    platform.stop()
    from citybase.domains.access import SYSTEM

    assert [r.calls for r in platform.meter.daily(SYSTEM)] == [1]
