"""Reader of char-level BIO address corpora (the NAACL 2019 format) and chunk-level scoring.

Used at build and evaluation time only (``scripts/train_address_model.py``,
``scripts/eval_address_parser.py``); no corpus data ships with the package.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

Span = tuple[int, int, str]  # start, end (character offsets), label


@dataclass(slots=True)
class Example:
    text: str
    spans: list[Span]


def read_bio(path: str) -> list[Example]:
    """Addresses of a ``token TAG`` file with blank lines between addresses; labels are case-folded."""
    out: list[Example] = []
    toks: list[tuple[str, str]] = []

    def flush() -> None:
        if toks:
            out.append(_example(toks))
            toks.clear()

    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                flush()
                continue
            tok, _, tag = line.rpartition(" ")
            if not tok:  # a lone token that is itself a space
                tok = " "
            toks.append((tok, tag))
    flush()
    return out


def _example(toks: list[tuple[str, str]]) -> Example:
    text, spans = "", []
    cur: list | None = None
    for tok, tag in toks:
        start = len(text)
        text += tok
        prefix, _, label = tag.partition("-")
        label = label.lower()
        if prefix == "I" and cur is not None and cur[2] == label:
            cur[1] = len(text)
            continue
        if cur is not None:
            spans.append((cur[0], cur[1], cur[2]))
            cur = None
        if prefix in ("B", "I") and label:
            cur = [start, len(text), label]
    if cur is not None:
        spans.append((cur[0], cur[1], cur[2]))
    return Example(text, spans)


@dataclass(slots=True)
class Score:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)

    def add(self, gold: list[Span], pred: list[Span]) -> None:
        g, p = set(gold), set(pred)
        for s in g & p:
            self.tp[s[2]] += 1
        for s in p - g:
            self.fp[s[2]] += 1
        for s in g - p:
            self.fn[s[2]] += 1

    def prf(self, label: str | None = None) -> tuple[float, float, float, int]:
        if label is None:
            tp, fp, fn = sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values())
        else:
            tp, fp, fn = self.tp[label], self.fp[label], self.fn[label]
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f, tp + fn

    def table(self) -> str:
        labels = sorted(set(self.tp) | set(self.fn) | set(self.fp), key=lambda x: -(self.tp[x] + self.fn[x]))
        lines = ["| label | precision | recall | F1 | gold |", "|---|---:|---:|---:|---:|"]
        for lab in labels:
            p, r, f, n = self.prf(lab)
            lines.append(f"| {lab} | {p:.3f} | {r:.3f} | {f:.3f} | {n} |")
        p, r, f, n = self.prf()
        lines.append(f"| **overall** | **{p:.3f}** | **{r:.3f}** | **{f:.3f}** | {n} |")
        return "\n".join(lines)
