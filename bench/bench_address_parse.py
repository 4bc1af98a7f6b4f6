"""Benchmark: address parses per second per core, beside cpca on the same inputs in the same run.

Run:
    .venv/bin/python bench/bench_address_parse.py                       # dev texts of the labelled corpus
    .venv/bin/python bench/bench_address_parse.py --input cpca --json /tmp/addr.json

Inputs: the raw texts of ``naacl2019_dev.txt`` (``--input dev``, 2,985 addresses) or the
``原始地址`` column of ``cpca_company_addresses.csv`` (``--input cpca``, 18,367 messy addresses), from
``../shared/data/address/``. Each parser runs ``--rounds`` passes over all inputs after one warm-up
pass (model and gazetteer loaded, so load time is not counted), once with one ``parse`` call per
address and once with ``parse_many`` over batches of ``--batch``. Throughput is reported two ways:
per CPU second of this process (``time.process_time``: the figure per core, robust when the machine is
shared) and per wall-clock second. The element-value caches (``canonical``, the parser's values) are
cleared before every pass, so a pass gets no help from having seen the same texts before; there is no
cache of whole texts. cpca (``pip install cpca``) is measured with ``cpca.transform`` on
the same list, in chunks of 1,000 (its normal batch use), if it is installed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from citybase.domains.addresses import canonical, parse, parse_many  # noqa: E402
from citybase.domains.addresses import parser as address_parser  # noqa: E402
from citybase.domains.addresses.corpus import read_bio  # noqa: E402


def load(which: str, corpus: str) -> list[str]:
    if which == "dev":
        return [ex.text for ex in read_bio(os.path.join(corpus, "naacl2019_dev.txt"))]
    with open(os.path.join(corpus, "cpca_company_addresses.csv"), encoding="utf-8") as fh:
        return [row["原始地址"] for row in csv.DictReader(fh) if row["原始地址"].strip()]


def timed(fn, rounds: int) -> tuple[float, float]:
    fn()  # warm-up
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        fn()
    return time.process_time() - c0, time.perf_counter() - w0


def cold() -> None:
    """Forget the element-value caches, so no pass reuses the values of an earlier pass of the same texts."""
    canonical.cache_clear()
    address_parser._VALUES.clear()


def ours(texts: list[str]) -> None:
    """One ``parse`` call per address (interactive use: web, CLI)."""
    cold()
    for t in texts:
        try:
            parse(t)
        except Exception:
            continue


def ours_batch(texts: list[str], size: int) -> None:
    """``parse_many`` over chunks of ``size`` addresses (bulk use: imports, matching)."""
    cold()
    for i in range(0, len(texts), size):
        parse_many(texts[i:i + size])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", choices=("dev", "cpca"), default="dev")
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "data" / "address"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default="")
    ap.add_argument("--batch", type=int, default=1000, help="addresses per parse_many call")
    args = ap.parse_args()
    texts = load(args.input, args.corpus)
    n = len(texts) * args.rounds
    cpu, wall = timed(lambda: ours(texts), args.rounds)
    b_cpu, b_wall = timed(lambda: ours_batch(texts, args.batch), args.rounds)
    result = {"input": args.input, "addresses": len(texts), "rounds": args.rounds,
              "citybase": {"per_cpu_s": n / cpu, "per_wall_s": n / wall},
              "citybase_batch": {"per_cpu_s": n / b_cpu, "per_wall_s": n / b_wall, "batch": args.batch},
              "python": platform.python_version(), "machine": platform.machine()}
    try:
        import cpca  # type: ignore[import-not-found]
    except ImportError:
        cpca = None
    if cpca is not None:
        import warnings

        def theirs() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for i in range(0, len(texts), 1000):
                    cpca.transform(texts[i:i + 1000])

        c_cpu, c_wall = timed(theirs, args.rounds)
        result["cpca"] = {"per_cpu_s": n / c_cpu, "per_wall_s": n / c_wall,
                          "version": getattr(cpca, "__version__", "?")}
        result["ratio_citybase_over_cpca"] = (n / cpu) / (n / c_cpu)
        result["ratio_citybase_batch_over_cpca"] = (n / b_cpu) / (n / c_cpu)
    print(f"| parser | parses/s per CPU second | parses/s wall | inputs ({args.input}) |")
    print("|---|---:|---:|---:|")
    runs = f"{len(texts)} × {args.rounds}"
    print(f"| citybase parse (one call per address) | {n / cpu:,.0f} | {n / wall:,.0f} | {runs} |")
    print(f"| citybase parse_many (batches of {args.batch}) | {n / b_cpu:,.0f} | {n / b_wall:,.0f} | same |")
    if "cpca" in result:
        print(f"| cpca | {result['cpca']['per_cpu_s']:,.0f} | {result['cpca']['per_wall_s']:,.0f} | same |")
        print(f"\nratio citybase / cpca (CPU): parse {result['ratio_citybase_over_cpca']:.2f}, "
              f"parse_many {result['ratio_citybase_batch_over_cpca']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
