"""Build the address parser's model files in src/citybase/domains/addresses/data/.

    .venv/bin/python scripts/train_address_model.py [--corpus ../shared/data/address] [--c1 0.15 --c2 0.01]
        [--iterations 100] [--unlabelled cpca.csv --min-prob 0.9] [--out /tmp/exp/address_crf.bin]

Reads the NAACL 2019 labelled corpus (train split only) at build time; the corpus itself is never
copied into the package (its licence forbids it). Writes:

- ``gazetteer.tsv.gz``: division names from citybase.standards.divisions (MCA/NBS official data);
- ``address_crf.bin``: a linear-chain CRF (python-crfsuite, the ``train`` extra) over the features of
  ``citybase.domains.addresses.model``;
- ``address_crf.npz``: the same model's weights for the numpy inference the parser runs
  (``citybase.domains.addresses.crf``; ``--out`` writes both beside the given path instead).

Prints chunk F1 of the bare tagger on dev (scripts/eval_address_parser.py scores the whole parser).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pycrfsuite  # noqa: E402

from citybase.domains.addresses import crf, model  # noqa: E402
from citybase.domains.addresses import gazetteer as gz  # noqa: E402
from citybase.domains.addresses.corpus import Example, Score, read_bio  # noqa: E402
from citybase.domains.addresses.normalise import fold  # noqa: E402

DATA = ROOT / "src" / "citybase" / "domains" / "addresses" / "data"


def token_labels(ex: Example, tokens: list[model.Token]) -> list[str]:
    """BIO tags of our tokens from the gold character spans."""
    chars = ["O"] * len(ex.text)
    for s, e, lab in ex.spans:
        chars[s] = "B-" + lab
        for i in range(s + 1, e):
            chars[i] = "I-" + lab
    return [chars[s] for s, _, _ in tokens]


def spans_of(tokens: list[model.Token], tags: list[str]) -> list[tuple[int, int, str]]:
    out, cur = [], None
    for (s, e, _), t in zip(tokens, tags, strict=True):
        p, _, lab = t.partition("-")
        if p == "I" and cur and cur[2] == lab:
            cur[1] = e
            continue
        if cur:
            out.append(tuple(cur))
        cur = [s, e, lab] if p in ("B", "I") else None
    if cur:
        out.append(tuple(cur))
    return out


def self_train(trainer: pycrfsuite.Trainer, path: str, teacher: str, min_prob: float) -> int:
    """Append the unlabelled addresses the teacher tags with sequence probability >= ``min_prob``."""
    tagger = pycrfsuite.Tagger()
    tagger.open(teacher)
    added = 0
    with open(path, encoding="utf-8") as fh:
        for row in csv.reader(fh):
            text = row[0].strip() if row else ""
            folded = fold(text) if text and text != "原始地址" else ""
            toks = model.tokenize(folded)
            if not toks:
                continue
            feats = model.features(folded, toks)
            tagger.set(feats)
            tags = tagger.tag()
            if tagger.probability(tags) >= min_prob:
                trainer.append(feats, tags)
                added += 1
    return added


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "data" / "address"))
    ap.add_argument("--c1", type=float, default=0.15)
    ap.add_argument("--c2", type=float, default=0.01)
    ap.add_argument("--iterations", type=int, default=100)  # L-BFGS stopped early: dev F1 0.885 (150: 0.883)
    ap.add_argument("--algorithm", default="lbfgs", choices=("lbfgs", "l2sgd", "ap", "pa", "arow"))
    ap.add_argument("--min-freq", type=float, default=1)
    ap.add_argument("--possible-states", action="store_true", help="CRFsuite feature.possible_states")
    ap.add_argument("--out", default="")
    ap.add_argument("--unlabelled", default="", help="CSV of raw addresses (first column) for self-training")
    ap.add_argument("--teacher", default="", help="CRFsuite model that tags them (default: the shipped one)")
    ap.add_argument("--min-prob", type=float, default=0.9, help="keep a tagged address from this probability")
    ap.add_argument("--gazetteer", default="", help="write the gazetteer here and use it (not in data/)")
    ap.add_argument("--no-gazetteer", action="store_true", help="reuse the shipped gazetteer file")
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    if args.gazetteer:  # an experiment's gazetteer, beside the model (eval_address_parser.py --gazetteer)
        n = gz.write(args.gazetteer)
        print(f"gazetteer: {n} rows in {args.gazetteer}")
        gz.use_file(args.gazetteer)
    elif not args.no_gazetteer:
        t0 = time.time()
        n = gz.write(str(DATA / gz.DATA_FILE))
        print(f"gazetteer: {n} rows in {time.time() - t0:.1f}s")
        gz.gazetteer.cache_clear()
    train = read_bio(os.path.join(args.corpus, "naacl2019_train.txt"))
    dev = read_bio(os.path.join(args.corpus, "naacl2019_dev.txt"))
    trainer = pycrfsuite.Trainer(algorithm=args.algorithm, verbose=False)
    for ex in train:
        folded = fold(ex.text)
        toks = model.tokenize(folded)
        trainer.append(model.features(folded, toks), token_labels(ex, toks))
    if args.unlabelled:
        n_self = self_train(trainer, args.unlabelled, args.teacher or str(DATA / model.MODEL_FILE), args.min_prob)
        print(f"self-training: {n_self} confident unlabelled addresses added")
    params = {"max_iterations": args.iterations, "feature.possible_transitions": True,
              "feature.minfreq": args.min_freq, "feature.possible_states": args.possible_states}
    if args.algorithm == "lbfgs":
        params.update(c1=args.c1, c2=args.c2)
    elif args.algorithm == "l2sgd":
        params.update(c2=args.c2)
    trainer.set_params(params)
    t0 = time.time()
    out = Path(args.out) if args.out else DATA / model.MODEL_FILE
    trainer.train(str(out))
    print(f"trained on {len(train)} addresses in {time.time() - t0:.0f}s: {out} {out.stat().st_size / 1e6:.2f} MB")
    npz = out.with_suffix(".npz") if args.out else DATA / crf.NPZ_FILE
    n = crf.export(str(out), str(npz))
    print(f"numpy model: {n} state weights, {npz} {npz.stat().st_size / 1e6:.2f} MB")
    tagger = pycrfsuite.Tagger()
    tagger.open(str(out))
    score = Score()
    for ex in dev:
        folded = fold(ex.text)
        toks = model.tokenize(folded)
        pred = spans_of(toks, tagger.tag(model.features(folded, toks))) if toks else []
        score.add(ex.spans, pred)
    p, r, f, _ = score.prf()
    print(f"dev (bare tagger): P {p:.4f} R {r:.4f} F1 {f:.4f}")
    print(score.table())


if __name__ == "__main__":
    main()
