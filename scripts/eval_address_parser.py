"""Element-level (chunk) precision/recall/F1 of the address parser on a labelled split.

    .venv/bin/python scripts/eval_address_parser.py [--split dev] [--corpus ../shared/data/address]
        [--model /tmp/exp/address_crf.npz] [--gazetteer /tmp/exp/gazetteer.tsv.gz]

Runs the whole parser (``citybase.domains.addresses.parse_many``: folding, tagger, rules) on the raw text of
each address and compares its element spans with the gold ones: a hit needs the exact span (start, end)
and the label, as in the CoNLL chunk F1. Prints a Markdown table per label and overall.
Tune on train only; dev is for reporting, and the test split is withheld for others' evaluation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from citybase.domains.addresses import ParsedAddress, crf, parse_many  # noqa: E402
from citybase.domains.addresses import gazetteer as gz  # noqa: E402
from citybase.domains.addresses.corpus import Score, read_bio  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "data" / "address"))
    ap.add_argument("--split", default="dev", choices=("train", "dev", "test"))
    ap.add_argument("--errors", type=int, default=0, help="print this many mis-parsed addresses")
    ap.add_argument("--model", default="", help="an address_crf.npz to use instead of the shipped one")
    ap.add_argument("--gazetteer", default="", help="a gazetteer.tsv.gz to use instead of the shipped one")
    args = ap.parse_args()
    if args.gazetteer:
        gz.use_file(args.gazetteer)
    if args.model:
        crf.use_model(args.model)
    examples = read_bio(os.path.join(args.corpus, f"naacl2019_{args.split}.txt"))
    score, shown = Score(), 0
    parse_many([examples[0].text])  # load the model and gazetteer before timing
    t0 = time.perf_counter()
    parsed = parse_many([ex.text for ex in examples])
    for ex, p in zip(examples, parsed, strict=True):
        pred = [(e.start, e.end, e.label) for e in p.elements] if isinstance(p, ParsedAddress) else []
        score.add(ex.spans, pred)
        if shown < args.errors and set(pred) != set(ex.spans):
            shown += 1
            print(ex.text)
            print("  gold:", [(ex.text[s:e], lab) for s, e, lab in ex.spans])
            print("  pred:", [(ex.text[s:e], lab) for s, e, lab in pred])
    dt = time.perf_counter() - t0
    rate = len(examples) / dt
    print(f"{args.split}: {len(examples)} addresses, {rate:,.0f} parses/s (one core, parse_many, incl. scoring)\n")
    print(score.table())


if __name__ == "__main__":
    main()
