"""The address parser's compiled kernels (numba): the CRF's features, emission sums and Viterbi.

:mod:`.inference` prepares a batch with numpy (tokens, shape codes) and calls these for the loops numpy
could only express as many small calls per position: the template features of every token and their
attribute rows (:func:`template_rows`, :func:`attribute_rows`), gazetteer hits (:func:`gazetteer_hits`),
repeat marks (:func:`repeat_marks`), and the tagging itself (:func:`tag_batch`: per token about 26
weight rows of 42 labels to add, then a 42 × 42 Viterbi step). Each is one call per batch.

The order of the floating-point additions is fixed (the bias, then the template rows in template order,
then the extra rows in their given order) and the Viterbi keeps the first best previous label on ties, as
CRFsuite does, so the tags equal CRFsuite's on the same model (``tests/test_address_parser.py``).

numba compiles on first use and caches the machine code beside this module (or in NUMBA_CACHE_DIR or
numba's user cache directory; :func:`_jit`), so only the first process of an installation pays the
compile time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

_log = logging.getLogger(__name__)


def _jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """numba.njit that caches the machine code on disk where numba finds a writable directory (beside
    this module, NUMBA_CACHE_DIR or the user's cache) and otherwise compiles once per process: a read-only
    install run by a user without a home directory still parses, only its first parse is slower."""

    def wrap(fn: Callable[..., Any]) -> Any:
        try:
            return njit(cache=True, nogil=True, **options)(fn)
        except RuntimeError as exc:  # numba: "cannot cache function …: no locator available"
            _log.info("address kernels compile per process: %s", exc)
            return njit(nogil=True, **options)(fn)

    return wrap


@_jit(inline="always")
def _emit(em, i, t, rows, ex_ptr, ex_row, weights, bias):  # pragma: no cover
    """em[i] = the emission scores of token t: bias + template rows in order + extra rows in order."""
    nl = weights.shape[1]
    row = rows[t, 0]
    for j in range(nl):
        em[i, j] = weights[row, j] + bias[j]
    for c in range(1, rows.shape[1]):
        row = rows[t, c]
        for j in range(nl):
            em[i, j] += weights[row, j]
    for k in range(ex_ptr[t], ex_ptr[t + 1]):
        row = ex_row[k]
        for j in range(nl):
            em[i, j] += weights[row, j]


@_jit(inline="always")
def _step(prev, cur, trans):  # pragma: no cover
    """cur[j] = max over p of prev[p] + trans[p, j].

    Only the maxima, no back-pointers: the backtrace finds the first best p again from the same sums
    (the same float additions give the same maxima). Pruning previous labels with bounds was tried and
    was slower than this branch-free full pass.
    """
    nl = trans.shape[0]
    s = prev[0]
    for j in range(nl):
        cur[j] = s + trans[0, j]
    for p in range(1, nl):
        s = prev[p]
        for j in range(nl):
            cur[j] = max(cur[j], s + trans[p, j])


@_jit()
def emissions(  # pragma: no cover - compiled; compared with the string features in the tests
    rows: np.ndarray, ex_ptr: np.ndarray, ex_row: np.ndarray, weights: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    """Emission scores (tokens × labels) of every token."""
    em = np.empty((rows.shape[0], weights.shape[1]))
    for t in range(rows.shape[0]):
        _emit(em, t, t, rows, ex_ptr, ex_row, weights, bias)
    return em


@_jit()
def tag_batch(  # pragma: no cover - compiled; exercised through inference.tag_ids
    rows: np.ndarray,  # tokens × templates: attribute row of each template (int64)
    ex_ptr: np.ndarray,  # tokens + 1: extra rows of token t are ex_row[ex_ptr[t]:ex_ptr[t + 1]]
    ex_row: np.ndarray,  # the gazetteer and repeat attribute rows, grouped by token
    weights: np.ndarray,  # attributes × labels (float64)
    bias: np.ndarray,  # labels
    trans: np.ndarray,  # previous label × label
    first: np.ndarray,  # per address: its first token
    count: np.ndarray,  # per address: its number of tokens
) -> np.ndarray:
    """Best label id of every token (each address is its own sequence)."""
    nl = weights.shape[1]
    out = np.zeros(rows.shape[0], np.int64)
    longest = _longest(count)
    em = np.empty((longest, nl))
    score = np.empty((longest, nl))  # best path score ending in each label, per position
    for a in range(len(count)):
        n, f = count[a], first[a]
        if n == 0:
            continue
        for i in range(n):
            _emit(em, i, f + i, rows, ex_ptr, ex_row, weights, bias)
        for j in range(nl):
            score[0, j] = em[0, j]
        for i in range(1, n):  # Viterbi
            _step(score[i - 1], score[i], trans)
            for j in range(nl):
                score[i, j] += em[i, j]
        best = 0
        for j in range(1, nl):
            if score[n - 1, j] > score[n - 1, best]:
                best = j
        out[f + n - 1] = best
        for i in range(n - 1, 0, -1):  # the first previous label reaching the best sum (CRFsuite's tie rule)
            p = 0
            v = score[i - 1, 0] + trans[0, best]
            for q in range(1, nl):
                w = score[i - 1, q] + trans[q, best]
                if w > v:
                    v = w
                    p = q
            best = p
            out[f + i - 1] = best
    return out


@_jit(inline="always")
def _occurs(cps, lo, hi, at, m):  # pragma: no cover
    """Whether cps[at:at + m] occurs whole inside cps[lo:hi]."""
    for s in range(lo, hi - m + 1):
        k = 0
        while k < m and cps[s + k] == cps[at + k]:
            k += 1
        if k == m:
            return True
    return False


@_jit()
def repeat_marks(  # pragma: no cover - compiled; compared with model.repeat_marks in the tests
    cps: np.ndarray,  # code points of the batch text
    base: np.ndarray,  # per address: offset of its first character
    length: np.ndarray,  # per address: its number of characters
    first: np.ndarray,  # per address: its first token
    count: np.ndarray,  # per address: its number of tokens
    start: np.ndarray,  # per token: start offset
    end: np.ndarray,  # per token: end offset
    addrs: np.ndarray,  # the addresses to mark (the others have no marks)
) -> np.ndarray:
    """:func:`.model.repeat_marks` of every token as a code: 0 none, 1 ``inrep``, k ≥ 2 ``rep=k``."""
    out = np.zeros(len(start), np.int64)
    for a in addrs:
        lo, stop, f = base[a], base[a] + length[a], first[a]
        for i in range(1, count[a]):
            s0 = start[f + i]
            if not _occurs(cps, lo, s0, s0, min(2, stop - s0)):
                continue
            n = 2
            while n < 6 and s0 + n < stop and _occurs(cps, lo, s0, s0, n + 1):
                n += 1
            out[f + i] = n
            for k in range(i + 1, count[a]):
                if end[f + k] > s0 + n:
                    break
                if out[f + k] == 0:
                    out[f + k] = 1
    return out


# ---------------------------------------------------------------- hash tables

_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing
_EMPTY = -1


@_jit()
def hash_table(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Open-addressing table (linear probing, at most a quarter full) of uint64 keys → int64 values ≥ 0:
    the model's n-gram attributes (crf) and the gazetteer's names and prefixes (tokens)."""
    size = 1 << _bits(max(1024, 4 * len(keys)))
    slot_keys = np.zeros(size, np.uint64)
    slot_values = np.full(size, _EMPTY, np.int64)
    shift = np.uint64(64 - _bits(size))
    for i in range(len(keys)):
        h = np.int64((keys[i] * _MULT) >> shift)
        while slot_values[h] != _EMPTY and slot_keys[h] != keys[i]:
            h = (h + 1) & (size - 1)
        slot_keys[h] = keys[i]
        slot_values[h] = values[i]
    return slot_keys, slot_values


@_jit(inline="always")
def _get(slot_keys, slot_values, key):  # pragma: no cover
    mask = len(slot_keys) - 1
    h = np.int64((key * _MULT) >> np.uint64(64 - _bits(len(slot_keys))))
    while slot_values[h] != _EMPTY:
        if slot_keys[h] == key:
            return slot_values[h]
        h = (h + 1) & mask
    return _EMPTY


@_jit(inline="always")
def _bits(size):  # pragma: no cover
    """log2 of a power of two (the least n with 2**n >= size)."""
    n = 0
    while (1 << n) < size:
        n += 1
    return n


@_jit()
def attribute_rows(  # pragma: no cover - compiled; equal to crf._rows (tests)
    keys: np.ndarray,  # tokens × templates: integer feature keys
    dense_cols: np.ndarray,  # templates whose keys index dense_rows directly
    dense_rows: np.ndarray,
    hash_cols: np.ndarray,  # templates looked up in the hash table (hash_table's slot keys and rows)
    table_keys: np.ndarray,
    table_rows: np.ndarray,
    zero: int,  # the zero row (the model has no such attribute)
) -> np.ndarray:
    """Attribute row of every key: :func:`.crf._rows` in one pass."""
    out = np.empty_like(keys)
    for t in range(keys.shape[0]):
        for c in dense_cols:
            out[t, c] = dense_rows[keys[t, c]]
        for c in hash_cols:
            row = _get(table_keys, table_rows, np.uint64(keys[t, c]))
            out[t, c] = zero if row == _EMPTY else row
    return out


# ---------------------------------------------------------------- gazetteer


@_jit()
def gazetteer_hits(  # pragma: no cover - compiled; compared with Gazetteer.raw in the tests
    cps: np.ndarray,  # code points of the batch text (uint64)
    base: np.uint64,  # the polynomial hash's base
    prefix_keys: np.ndarray,  # hash_table of every name prefix (two characters or more)
    prefix_values: np.ndarray,
    name_keys: np.ndarray,  # hash_table of the names → their index
    name_values: np.ndarray,
    longest: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, end, name index) of every substring of two characters or more that is a name.

    From each position the hash grows one character at a time while it is still a prefix of a name.
    """
    n = len(cps)
    starts = []
    ends = []
    names = []
    for s in range(n - 1):
        h = cps[s]
        for e in range(s + 2, min(n, s + longest) + 1):
            h = h * base + cps[e - 1]
            if _get(prefix_keys, prefix_values, h) == _EMPTY:
                break
            k = _get(name_keys, name_values, h)
            if k != _EMPTY:
                starts.append(s)
                ends.append(e)
                names.append(k)
    return np.array(starts, np.int64), np.array(ends, np.int64), np.array(names, np.int64)


# ---------------------------------------------------------------- template features

# The components template_rows computes per token, in this order (crf._COMPONENTS must equal it)
COMPONENTS = ("s-3", "s-2", "s-1", "s0", "s1", "s2", "s3", "c-1", "c0", "c1", "n", "n2", "nd", "p", "p2", "pd")


@_jit()
def template_rows(  # pragma: no cover - compiled; equal to the numpy features (tests)
    codes: np.ndarray,  # per token: shape id × 8 + character class
    first: np.ndarray,  # per address: its first token
    count: np.ndarray,  # per address: its number of tokens
    pads: np.ndarray,  # the codes of the pads before (0) and after (1) an address
    kw_of: np.ndarray,  # per shape id: its keyword id, or -1
    caret: int,  # the keyword ids of "no keyword before" and
    dollar: int,  # "no keyword after"
    mult: np.ndarray,  # components × templates (int64): key = components @ mult + offset
    offset: np.ndarray,  # per template
    dense_cols: np.ndarray,  # as attribute_rows
    dense_rows: np.ndarray,
    hash_cols: np.ndarray,
    table_keys: np.ndarray,
    table_rows: np.ndarray,
    zero: int,
    quarter: np.ndarray,  # attribute rows of q=0 … q=3; empty when the model has no such feature
) -> np.ndarray:
    """Attribute row of every template of every token (and its quarter feature): the features of
    ``inference.features`` in one pass. Components, in crf._COMPONENTS order: the shapes at offsets
    -3 … 3, the classes at -1 … 1, then the next keyword, the one after it, the distance to it (at most
    6), the previous keyword, the one before it and the distance to it."""
    ntpl = mult.shape[1]
    nq = 1 if len(quarter) else 0
    keys = np.empty((len(codes), ntpl), np.int64)
    comp = np.empty(16, np.int64)
    nxt = np.empty((max(1, _longest(count)), 3), np.int64)
    for a in range(len(count)):
        f, n = first[a], count[a]
        last, last2, dist = dollar, dollar, 0
        for i in range(n - 1, -1, -1):  # the nearest keywords after each token
            nxt[i, 0], nxt[i, 1], nxt[i, 2] = last, last2, min(dist, 6)
            k = kw_of[codes[f + i] >> 3]
            if k >= 0:
                last, last2, dist = k, last, 0
            dist += 1
        last, last2, dist = caret, caret, 0
        for i in range(n):
            for o in range(-3, 4):
                j = i + o
                code = pads[0] if j < 0 else pads[1] if j >= n else codes[f + j]
                comp[o + 3] = code >> 3
                if -1 <= o <= 1:
                    comp[o + 8] = code & 7
            comp[10], comp[11], comp[12] = nxt[i, 0], nxt[i, 1], nxt[i, 2]
            comp[13], comp[14], comp[15] = last, last2, min(dist, 6)
            for t in range(ntpl):
                key = offset[t]
                for c in range(16):
                    key += comp[c] * mult[c, t]
                keys[f + i, t] = key
            k = kw_of[codes[f + i] >> 3]
            if k >= 0:
                last, last2, dist = k, last, 0
            dist += 1
    rows = attribute_rows(keys, dense_cols, dense_rows, hash_cols, table_keys, table_rows, zero)
    if nq == 0:
        return rows
    out = np.empty((len(codes), ntpl + 1), np.int64)
    out[:, :ntpl] = rows
    for a in range(len(count)):
        for i in range(count[a]):
            out[first[a] + i, ntpl] = quarter[i * 4 // count[a]]
    return out


@_jit(inline="always")
def _longest(count):  # pragma: no cover
    m = 0
    for c in count:
        m = max(m, c)
    return m
