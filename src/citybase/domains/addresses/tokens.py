"""Tokens, gazetteer matches and repeat marks of a whole batch of folded addresses, in numpy.

The batch is one string: the folded addresses joined by a space (spaces end tokens and no gazetteer
name contains one, so nothing spans two addresses). Its code points become one integer array; token
boundaries, the shape code of each token, the gazetteer matches (a polynomial hash of every substring,
grown one character at a time while it is still a prefix of some name) and the candidates for repeat
marks are computed over that array with a handful of numpy calls per batch instead of a Python loop per
character. The results equal :func:`.model.tokenize`, :meth:`.gazetteer.Gazetteer.raw` (restricted to
token-aligned matches, the only ones the model uses) and :func:`.model.repeat_marks`;
``tests/test_address_parser.py`` compares them on generated and corpus-like addresses.

Hashes are 64-bit (uint64 arithmetic wraps): two different strings of a batch and the gazetteer would
have to collide for a wrong match, about one chance in 10**13 per substring looked up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from citybase.domains.addresses import kernels, model
from citybase.domains.addresses.gazetteer import Gazetteer

SEP = " "
_B = np.uint64(0x100000001B3)  # hash base (odd; code points are below 2**21)
_SPACE, _DIGIT, _LATIN, _OTHER = 0, 1, 2, 3


@cache
def _kinds() -> np.ndarray:
    """Character kind of every BMP code point: space (dropped), ASCII digit, ASCII letter, other."""
    kinds = np.full(0x10000, _OTHER, np.int8)
    kinds[[c for c in range(0x10000) if chr(c).isspace()]] = _SPACE
    kinds[ord("0") : ord("9") + 1] = _DIGIT
    kinds[ord("A") : ord("Z") + 1] = _LATIN
    kinds[ord("a") : ord("z") + 1] = _LATIN
    return kinds


@dataclass(slots=True)
class Batch:
    """Tokens of folded addresses joined by :data:`SEP` (all offsets are into ``text``)."""

    text: str
    cps: np.ndarray  # code point of every character (int64)
    base: np.ndarray  # per address: offset of its first character
    length: np.ndarray  # per address: number of characters
    first: np.ndarray  # per address: index of its first token
    count: np.ndarray  # per address: number of tokens
    start: np.ndarray  # per token: start offset
    end: np.ndarray  # per token: end offset
    kind: np.ndarray  # per token: _DIGIT, _LATIN or _OTHER
    addr: np.ndarray  # per token: address index

    def tokens(self, a: int) -> list[model.Token]:
        """The tokens of address ``a`` as :func:`.model.tokenize` gives them (offsets into that address)."""
        b, f = int(self.base[a]), int(self.first[a])
        text = self.text
        return [
            (s - b, e - b, text[s:e])
            for s, e in zip(
                self.start[f : f + int(self.count[a])].tolist(),
                self.end[f : f + int(self.count[a])].tolist(),
                strict=True,
            )
        ]


def tokenize(folded: list[str], joined: str | None = None) -> Batch:
    """Tokens of the folded addresses (``joined``: ``SEP.join(folded)`` when the caller has it)."""
    text = SEP.join(folded) if joined is None else joined
    cps = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.int64)
    n = len(cps)
    length = np.array([len(f) for f in folded], np.int64)
    base = np.cumsum(length + 1) - (length + 1)
    kinds = _kinds()
    k = np.where(cps < 0x10000, kinds[np.minimum(cps, 0xFFFF)], _OTHER)
    prev = np.empty_like(k)
    prev[0] = _SPACE
    prev[1:] = k[:-1]
    is_start = (k != _SPACE) & ((k == _OTHER) | (k != prev))
    start = np.flatnonzero(is_start)
    stops = np.append(np.flatnonzero((k == _SPACE) | is_start), n)
    end = stops[np.searchsorted(stops, start, side="right")]
    addr = np.searchsorted(base, start, side="right") - 1
    count = np.bincount(addr, minlength=len(folded))
    first = np.cumsum(count) - count
    return Batch(text, cps, base, length, first, count, start, end, k[start], addr)


# ---------------------------------------------------------------- gazetteer


@dataclass(slots=True)
class GazIndex:
    prefixes: tuple[np.ndarray, np.ndarray]  # hash table (kernels.hash_table) of every prefix of every name
    names: tuple[np.ndarray, np.ndarray]  # hash table: hash of a name → its index in the tag arrays
    tag_first: np.ndarray  # per sorted name: its first entry in ``tags``
    tag_count: np.ndarray
    tags: np.ndarray  # tag strings' indexes into ``tag_names``, in the gazetteer's order per name
    tag_names: tuple[str, ...]
    longest: int


def _hash_rows(names: list[str], longest: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash of every prefix of each name (names × longest, uint64) and the names' lengths."""
    lens = np.array([len(x) for x in names], np.int64)
    flat = np.frombuffer("".join(names).encode("utf-32-le"), np.uint32).astype(np.uint64)
    rows = np.repeat(np.arange(len(names)), lens)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lens) - lens, lens)
    cp = np.zeros((len(names), longest), np.uint64)
    cp[rows, cols] = flat
    out = np.zeros((len(names), longest), np.uint64)
    h = np.zeros(len(names), np.uint64)
    for c in range(longest):
        h = h * _B + cp[:, c]
        out[:, c] = h
    return out, lens


def gaz_index(g: Gazetteer) -> GazIndex:
    names = [x for x in g.names if len(x) >= 2]
    tag_names = tuple(sorted({t for x in names for t in g.names[x]}))
    hashes, lens = _hash_rows(names, g.longest)
    cols = np.arange(g.longest)
    prefixes = np.unique(hashes[(cols[None, :] >= 1) & (cols[None, :] < lens[:, None])])
    name_hash = hashes[np.arange(len(names)), lens - 1]
    order = np.argsort(name_hash, kind="stable")
    counts = np.array([len(g.names[names[i]]) for i in order.tolist()], np.int64)
    tag_id = {t: i for i, t in enumerate(tag_names)}
    tags = np.array([tag_id[t] for i in order.tolist() for t in g.names[names[i]]], np.int64)
    return GazIndex(
        kernels.hash_table(prefixes, np.zeros(len(prefixes), np.int64)),
        kernels.hash_table(name_hash[order], np.arange(len(order), dtype=np.int64)),
        np.cumsum(counts) - counts,
        counts,
        tags,
        tag_names,
        g.longest,
    )


def gaz_matches(gz: GazIndex, b: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first token, last token, tag index) of every gazetteer match that starts and ends on token bounds."""
    n = len(b.cps)
    s, e, name = kernels.gazetteer_hits(b.cps.astype(np.uint64), _B, *gz.prefixes, *gz.names, gz.longest)
    tok_at_start = np.full(n + 1, -1, np.int64)
    tok_at_start[b.start] = np.arange(len(b.start))
    tok_at_end = np.full(n + 1, -1, np.int64)
    tok_at_end[b.end] = np.arange(len(b.end))
    ta, tb = tok_at_start[s], tok_at_end[e]
    ok = (ta >= 0) & (tb >= 0)
    ta, tb, name = ta[ok], tb[ok], name[ok]
    reps = gz.tag_count[name]
    ta, tb = np.repeat(ta, reps), np.repeat(tb, reps)
    within = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    return ta, tb, gz.tags[np.repeat(gz.tag_first[name], reps) + within]


# ---------------------------------------------------------------- repeats


def repeat_candidates(b: Batch) -> np.ndarray:
    """Indexes of the addresses with at least one repeat mark (:func:`.model.repeat_marks`).

    A token (not the first of its address) is marked when the two characters from its start (one at
    the address's end) already occur, whole, before it in the same address.
    """
    n = len(b.cps)
    if n < 2 or not len(b.start):
        return np.zeros(0, np.int64)
    char_addr = np.repeat(np.arange(len(b.base)), b.length + 1)[:n]
    pair = (b.cps[:-1] << 21) | b.cps[1:]
    first_pair = _first_seen((char_addr[:-1] << 42) | pair)
    first_char = _first_seen((char_addr << 21) | b.cps)
    later = np.arange(len(b.start)) != b.first[b.addr]
    s0 = b.start
    last = s0 == b.base[b.addr] + b.length[b.addr] - 1
    pair_hit = ~last & (first_pair[np.minimum(s0, n - 2)] + 2 <= s0)
    char_hit = last & (first_char[s0] < s0)
    return np.unique(b.addr[later & (pair_hit | char_hit)])


def _first_seen(keys: np.ndarray) -> np.ndarray:
    """Per position: the first position holding the same key."""
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    new = np.empty(len(ks), bool)
    new[:1] = True
    new[1:] = ks[1:] != ks[:-1]
    group_first = order[np.flatnonzero(new)]
    out = np.empty(len(keys), np.int64)
    out[order] = np.repeat(group_first, np.diff(np.append(np.flatnonzero(new), len(ks))))
    return out
