"""The address CRF's features over a whole :class:`.tokens.Batch`, in numpy, and its tags.

Every token's shape code comes from a per-character table (digit and Latin runs from their length),
the templates of :mod:`.crf` become integer keys with one matrix product and attribute rows with one
look-up, and the gazetteer and repeat features become extra (token, attribute row) pairs. The sums of
those rows and the Viterbi run compiled (:mod:`.kernels`), one call per batch; ties go to the lowest label
id, as in CRFsuite.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from citybase.domains.addresses import kernels, model
from citybase.domains.addresses import tokens as tk
from citybase.domains.addresses.crf import _CARET, _CLS, _DOLLAR, _GAZ_TAGS, _OFFSETS, Compiled, compiled


@dataclass(slots=True)
class Features:
    """Every token's attribute rows: one per template, plus the gazetteer and repeat rows."""

    rows: np.ndarray  # tokens × templates (the zero row where the model has no such attribute)
    ex_ptr: np.ndarray  # tokens + 1: the extra rows of token t are ex_row[ex_ptr[t]:ex_ptr[t + 1]]
    ex_row: np.ndarray


_EMPTY = Features(np.zeros((0, 1), np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64))
_ZERO = np.zeros(1, np.int64)
_SMALL = 256  # at most this many tokens: keyword, gazetteer and repeat features in Python (fewer calls)
_LEFT = 0 * 8 + _CLS.index("^")  # shape ids 0 and 1 are the pads ^ and $
_RIGHT = 1 * 8 + _CLS.index("$")


@dataclass(slots=True)
class Tables:
    char: np.ndarray  # BMP code point → code (shape id × 8 + class) of that character as a token
    digits: np.ndarray  # [leading zero, min(length, 5)] → code of a run of digits
    latin: int  # code of a run of two Latin letters or more (shape LL)
    gaz: tk.GazIndex
    gaz_rows: np.ndarray  # gazetteer tag index × (B, I, E, S) → attribute row
    quarter: np.ndarray | None  # attribute rows of q=0 … q=3 (None when the model has none)


def _code(m: Compiled, tok: str) -> int:
    shape = model._shape.__wrapped__(tok)  # uncached: 65,536 one-offs at load
    return m.shape_id.get(shape, m.unk) * 8 + _CLS.index(model._klass.__wrapped__(shape))


@cache
def tables() -> Tables:
    m = compiled()
    char = np.array([_code(m, chr(c)) for c in range(0x10000)], np.int64)
    digits = np.zeros((2, 6), np.int64)
    for n in range(1, 6):
        digits[0, n] = _code(m, "1" * n)
        digits[1, n] = _code(m, "0" * n) if n > 1 else _code(m, "0")
    gaz = tk.gaz_index(m.gazetteer)
    zero = len(m.weights) - 1
    rows = np.array([m.gaz_rows.get(t, (zero,) * 4) for t in gaz.tag_names], np.int64).reshape(-1, 4)
    assert set(gaz.tag_names) <= set(_GAZ_TAGS)
    quarter = np.array([m.vocab.get(f"q={k}", zero) for k in range(4)], np.int64)
    return Tables(char, digits, _code(m, "ab"), gaz, rows, quarter if (quarter != zero).any() else None)


def _codes(m: Compiled, t: Tables, b: tk.Batch) -> np.ndarray:
    """Shape code of every token (as :func:`.model._shape` and :func:`.model._klass`)."""
    cp = b.cps[b.start]
    size = b.end - b.start
    code = t.char[np.minimum(cp, 0xFFFF)]
    wide = np.flatnonzero(cp > 0xFFFF)
    for i in wide.tolist():
        code[i] = _code(m, chr(int(cp[i])))
    digit = b.kind == tk._DIGIT
    code[digit] = t.digits[((cp[digit] == 48) & (size[digit] > 1)).astype(np.int64), np.minimum(size[digit], 5)]
    code[(b.kind == tk._LATIN) & (size > 1)] = t.latin
    return code


_CODES: dict[str, int] = {}  # token text → code, for one-address calls


def features_one(folded: str, toks: list[model.Token]) -> Features:
    """:func:`features` of one address from its Python tokens: fewer numpy calls for one ``parse``."""
    m, t = compiled(), tables()
    n = len(toks)
    if not n:
        return _EMPTY
    codes = [_LEFT] * 3
    for tok in toks:
        code = _CODES.get(tok[2])
        if code is None:
            code = _code(m, tok[2])
            if len(_CODES) < 200_000:
                _CODES[tok[2]] = code
        codes.append(code)
    codes += [_RIGHT] * 3
    kw_rows: list[list[int]] = []
    _keywords_py(m, [c >> 3 for c in codes[3:-3]], kw_rows)
    padded = np.array(codes, np.int64)
    s, cls = padded >> 3, padded & 7
    window = np.arange(3, n + 3)[:, None] + _OFFSETS
    comp = np.hstack([s[window], cls[window[:, 2:5]], np.array(kw_rows, np.int64)])
    keys = (comp.astype(np.float64) @ m.mult).astype(np.int64)
    keys += m.offset
    rows = _attribute_rows(m, keys)
    if t.quarter is not None:
        rows = np.hstack([rows, t.quarter[np.arange(n) * 4 // n, None]])
    et: list[int] = []
    er: list[int] = []
    _gazetteer_py(m, folded, toks, 0, et, er)
    for i, mark in enumerate(model.repeat_marks(folded, toks)):
        r = m.vocab.get(mark) if mark else None
        if r is not None:
            et.append(i)
            er.append(r)
    return _grouped(rows, np.array(et, np.int64), np.array(er, np.int64))


def features(b: tk.Batch, folded: list[str]) -> Features:
    """The attribute rows of every token of the batch: the features of model.features as integers."""
    m, t = compiled(), tables()
    total, na = len(b.start), len(b.base)
    if not total:
        return _EMPTY
    idx = np.arange(total) - b.first[b.addr]  # index within the address
    pos = np.arange(total) + 3 + 6 * b.addr  # index in the padded sequence (3 pads each side)
    padded = np.full(total + 6 * na, _RIGHT, np.int64)
    padded[((b.first + 6 * np.arange(na))[:, None] + np.arange(3)).ravel()] = _LEFT
    padded[pos] = _codes(m, t, b)
    s, cls = padded >> 3, padded & 7
    window = pos[:, None] + _OFFSETS
    small = total <= _SMALL
    if small:
        kw_rows: list[list[int]] = []
        for a in range(na):
            f = int(b.first[a])
            _keywords_py(m, s[pos[f:f + int(b.count[a])]].tolist(), kw_rows)
        kws = np.array(kw_rows, np.int64)
    else:
        kws = _keywords_np(m, s, pos, idx, b.count)
    comp = np.hstack([s[window], cls[window[:, 2:5]], kws])  # columns in crf._COMPONENTS order
    keys = (comp.astype(np.float64) @ m.mult).astype(np.int64)  # exact: every key is below 2**53
    keys += m.offset
    rows = _attribute_rows(m, keys)
    et, er = _extras(m, t, b, folded, small)
    if t.quarter is not None:  # the quarter of the address a token is in (model.features "q=")
        rows = np.hstack([rows, t.quarter[idx * 4 // b.count[b.addr], None]])
    return _grouped(rows, et, er)


def _keywords_np(m: Compiled, s: np.ndarray, pos: np.ndarray, idx: np.ndarray, ln: np.ndarray) -> np.ndarray:
    """Keyword components (n, n2, nd, p, p2, pd) of every token of a batch, vectorised."""
    total = len(pos)
    end = pos - idx + np.repeat(ln, ln)  # flat index after the address's last token
    begin = pos - idx
    kwpos = np.flatnonzero(m.is_kw[s])
    if not len(kwpos):
        kwpos = np.array([-10], np.int64)  # a sentinel outside every address
    kwid = m.kw_of[s]
    nk = len(kwpos)
    j = np.searchsorted(kwpos, pos, side="right")
    k1, k2 = kwpos[np.minimum(j, nk - 1)], kwpos[np.minimum(j + 1, nk - 1)]
    has1, has2 = (j < nk) & (k1 < end), (j + 1 < nk) & (k2 < end)
    out = np.empty((total, 6), np.int64)
    out[:, 0] = np.where(has1, kwid[k1], _DOLLAR)
    out[:, 1] = np.where(has2, kwid[k2], _DOLLAR)
    out[:, 2] = np.minimum(np.where(has1, k1 - pos, np.repeat(ln, ln) - 1 - idx), 6)
    j = np.searchsorted(kwpos, pos, side="left") - 1
    k1, k2 = kwpos[np.maximum(j, 0)], kwpos[np.maximum(j - 1, 0)]
    has1, has2 = (j >= 0) & (k1 >= begin), (j >= 1) & (k2 >= begin)
    out[:, 3] = np.where(has1, kwid[k1], _CARET)
    out[:, 4] = np.where(has2, kwid[k2], _CARET)
    out[:, 5] = np.minimum(np.where(has1, pos - k1, idx), 6)
    return out


def _keywords_py(m: Compiled, shapes: list[int], out: list[list[int]]) -> None:
    """Keyword components (n, n2, nd, p, p2, pd) of one address's tokens (shape ids), appended to ``out``."""
    kw = [m.kw_list[c] for c in shapes]
    n = len(kw)
    nxt: list[tuple[int, int, int]] = [(0, 0, 0)] * n
    last, last2, dist = _DOLLAR, _DOLLAR, 0
    for i in range(n - 1, -1, -1):
        nxt[i] = (last, last2, min(dist, 6))
        if kw[i] >= 0:
            last, last2, dist = kw[i], last, 0
        dist += 1
    last, last2, dist = _CARET, _CARET, 0
    for i in range(n):
        a, b, c = nxt[i]
        out.append([a, b, c, last, last2, min(dist, 6)])
        if kw[i] >= 0:
            last, last2, dist = kw[i], last, 0
        dist += 1


def _gazetteer_py(
    m: Compiled, folded: str, tokens: list[model.Token], first: int, tok: list[int], rows: list[int]
) -> None:
    """(token, attribute row) of the gazetteer features of one address, appended to ``tok``/``rows``.

    A match counts when it starts and ends on token boundaries, as in :func:`.model.features`.
    """
    found = m.gazetteer.raw(folded)
    if not found:
        return
    starts = {t[0]: k for k, t in enumerate(tokens)}
    ends = {t[1]: k for k, t in enumerate(tokens)}
    zero = len(m.weights) - 1
    for s0, e0, tag in found:
        ta = starts.get(s0)
        tb = ends.get(e0)
        if ta is None or tb is None:
            continue
        row = m.gaz_rows[tag]
        for k in range(ta, tb + 1):
            r = row[3] if ta == tb else row[0] if k == ta else row[2] if k == tb else row[1]
            if r != zero:
                tok.append(first + k)
                rows.append(r)


def _extras(m: Compiled, t: Tables, b: tk.Batch, folded: list[str], small: bool) -> tuple[np.ndarray, np.ndarray]:
    """(token, attribute row) of the gazetteer and repeat features (in Python for small batches)."""
    if small:
        et: list[int] = []
        er: list[int] = []
        for a, f in enumerate(folded):
            toks, first = b.tokens(a), int(b.first[a])
            _gazetteer_py(m, f, toks, first, et, er)
            for i, mark in enumerate(model.repeat_marks(f, toks)):
                r = m.vocab.get(mark) if mark else None
                if r is not None:
                    et.append(first + i)
                    er.append(r)
        return np.array(et, np.int64), np.array(er, np.int64)
    ta, tb, tag = tk.gaz_matches(t.gaz, b)
    span = tb - ta + 1
    tok = np.repeat(ta, span) + (np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span))
    part = np.where(tok == np.repeat(ta, span), 0, np.where(tok == np.repeat(tb, span), 2, 1))  # B I E
    part[np.repeat(span == 1, span)] = 3  # S
    row = t.gaz_rows[np.repeat(tag, span), part]
    keep = row != len(m.weights) - 1
    tok_parts, row_parts = [tok[keep]], [row[keep]]
    marks = kernels.repeat_marks(b.cps, b.base, b.length, b.first, b.count, b.start, b.end, tk.repeat_candidates(b))
    rep_row = _repeat_rows()[marks]
    rep_tok = np.flatnonzero(rep_row != len(m.weights) - 1)
    tok_parts.append(rep_tok)
    row_parts.append(rep_row[rep_tok])
    return np.concatenate(tok_parts), np.concatenate(row_parts)


@cache
def _repeat_rows() -> np.ndarray:
    """Attribute row of each repeat-mark code of :func:`.kernels.repeat_marks` (the zero row if none)."""
    m = compiled()
    zero = len(m.weights) - 1
    marks = ["", "inrep", *(f"rep={k}" for k in range(2, 7))]
    return np.array([m.vocab.get(k, zero) if k else zero for k in marks], np.int64)


def _grouped(rows: np.ndarray, et: np.ndarray, er: np.ndarray) -> Features:
    """Features with the extra rows grouped by token, each token's in their given order."""
    order = np.argsort(et, kind="stable")
    ptr = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(np.bincount(et, minlength=len(rows)), out=ptr[1:])
    return Features(np.ascontiguousarray(rows), ptr, er[order])


def emissions(b: tk.Batch, folded: list[str]) -> np.ndarray:
    """Emission scores (tokens × labels) of every token of the batch (for tests and inspection)."""
    m, f = compiled(), features(b, folded)
    return kernels.emissions(f.rows, f.ex_ptr, f.ex_row, m.weights, m.bias)


def emissions_one(folded: str, toks: list[model.Token]) -> np.ndarray:
    """:func:`emissions` of one address from its Python tokens (the ``parse`` path)."""
    m, f = compiled(), features_one(folded, toks)
    return kernels.emissions(f.rows, f.ex_ptr, f.ex_row, m.weights, m.bias)


def _attribute_rows(m: Compiled, keys: np.ndarray) -> np.ndarray:
    """crf._rows, compiled (one pass instead of a probing loop of numpy calls)."""
    return kernels.attribute_rows(keys, m.dense_cols, m.dense_rows, m.hash_cols, m.table_keys, m.table_rows,
                                  len(m.weights) - 1)


def _tag(f: Features, first: np.ndarray, count: np.ndarray) -> np.ndarray:
    m = compiled()
    return kernels.tag_batch(f.rows, f.ex_ptr, f.ex_row, m.weights, m.bias, m.trans, first, count)


def tag_one(folded: str, toks: list[model.Token]) -> list[int]:
    """Label ids of the tokens of one address (one ``parse`` call)."""
    if not toks:
        return []
    return _tag(features_one(folded, toks), _ZERO, np.array([len(toks)], np.int64)).tolist()


def tag_ids(folded: list[str], joined: str | None = None) -> tuple[tk.Batch, np.ndarray]:
    """The batch's tokens and the label id of each token (``joined``: as for :func:`.tokens.tokenize`)."""
    b = tk.tokenize(folded, joined)
    if not len(b.start):
        return b, np.zeros(0, np.int64)
    return b, _tag(features(b, folded), b.first.astype(np.int64), b.count.astype(np.int64))
