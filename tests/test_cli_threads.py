"""CLI processes run numpy with one BLAS thread unless the operator chose a number."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SHOW = "import citybase.cli, os; print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])"


@pytest.mark.parametrize(("given", "expected"), [(None, "1 1"), ("4", "4 1")])
def test_blas_threads_default_to_one(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    out = subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == expected.split()
