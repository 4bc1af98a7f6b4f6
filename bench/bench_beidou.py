"""Benchmark: BeiDou level-10 encoding, numpy batch path vs the plain per-point path.

Run:  .venv/bin/python bench/bench_beidou.py [N]

Draws N (default 1,000,000) uniform random points over China's extent (73.5–135.1°E, 18–53.6°N),
times :func:`encode_many` on all of them (best of 3) and the per-point :func:`encode` on a sample of
50,000 (scaled to N), and prints both rates and the ratio. It only prints; it asserts nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

try:
    from citybase.standards.beidou import encode, encode_many
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from citybase.standards.beidou import encode, encode_many

SAMPLE = 50_000


def main(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(20240601)
    lngs = rng.uniform(73.5, 135.1, n)
    lats = rng.uniform(18.0, 53.6, n)

    batch_best = float("inf")
    codes = encode_many(lngs[:1000], lats[:1000], 10)  # warm-up
    for _ in range(3):
        t0 = time.perf_counter()
        codes = encode_many(lngs, lats, 10)
        batch_best = min(batch_best, time.perf_counter() - t0)

    m = min(SAMPLE, n)
    sample_lng, sample_lat = lngs[:m].tolist(), lats[:m].tolist()
    t0 = time.perf_counter()
    scalar = [encode(a, b, 10) for a, b in zip(sample_lng, sample_lat, strict=True)]
    scalar_s = (time.perf_counter() - t0) * n / m

    mismatches = sum(1 for a, b in zip(scalar, codes[:m].tolist(), strict=True) if a != b)
    batch_rate, scalar_rate = n / batch_best, n / scalar_s
    print(f"points: {n:,} random in China, level 10")
    print(f"batch  encode_many: {batch_best:8.3f} s  {batch_rate:12,.0f} codes/s")
    print(f"scalar encode loop: {scalar_s:8.3f} s  {scalar_rate:12,.0f} codes/s  (timed on {m:,}, scaled)")
    print(f"ratio batch/scalar: {batch_rate / scalar_rate:.1f}x   mismatches in sample: {mismatches}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
