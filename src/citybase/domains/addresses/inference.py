"""The address CRF's features over a whole :class:`.tokens.Batch`, and its tags.

numpy prepares the batch (every token's shape code from a per-character table; digit and Latin runs from
their length); the compiled kernels (:mod:`.kernels`) turn it into attribute rows (the templates of
:mod:`.crf` as integer keys, looked up), add the gazetteer and repeat features as extra (token, attribute
row) pairs, and sum and decode the rows, one call per batch; ties go to the lowest label id, as in CRFsuite.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from citybase.domains.addresses import kernels, model
from citybase.domains.addresses import tokens as tk
from citybase.domains.addresses.crf import _CARET, _CLS, _COMPONENTS, _DOLLAR, _GAZ_TAGS, Compiled, compiled
from citybase.kernel.errors import ConfigurationError


@dataclass(slots=True)
class Features:
    """Every token's attribute rows: one per template, plus the gazetteer and repeat rows."""

    rows: np.ndarray  # tokens × templates (the zero row where the model has no such attribute)
    ex_ptr: np.ndarray  # tokens + 1: the extra rows of token t are ex_row[ex_ptr[t]:ex_ptr[t + 1]]
    ex_row: np.ndarray


_EMPTY = Features(np.zeros((0, 1), np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64))
_ZERO = np.zeros(1, np.int64)
_NONE = np.zeros(0, np.int64)
_SMALL = 256  # at most this many tokens: gazetteer and repeat features in Python (fewer calls)
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
    codes = []
    for tok in toks:
        code = _CODES.get(tok[2])
        if code is None:
            code = _code(m, tok[2])
            if len(_CODES) < 200_000:
                _CODES[tok[2]] = code
        codes.append(code)
    rows = _template_rows(m, t, np.array(codes, np.int64), _ZERO, np.array([n], np.int64))
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
    total = len(b.start)
    if not total:
        return _EMPTY
    rows = _template_rows(m, t, _codes(m, t, b), b.first.astype(np.int64), b.count.astype(np.int64))
    et, er = _extras(m, t, b, folded, total <= _SMALL)
    return _grouped(rows, et, er)


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


@cache
def _kernel_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's tables as the kernels take them: keyword id per shape (-1: none), the pads' codes and
    the template multipliers."""
    m = compiled()
    if _COMPONENTS != kernels.COMPONENTS:  # a new component must be computed by the kernel too
        raise ConfigurationError(f"crf._COMPONENTS {_COMPONENTS} differ from kernels.COMPONENTS")
    return m.kw_of, np.array([_LEFT, _RIGHT], np.int64), m.mult


def _template_rows(m: Compiled, t: Tables, codes: np.ndarray, first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Attribute row of every template of every token, plus its quarter (kernels.template_rows)."""
    kw, pads, mult = _kernel_model()
    quarter = t.quarter if t.quarter is not None else _NONE
    return kernels.template_rows(
        codes,
        first,
        count,
        pads,
        kw,
        _CARET,
        _DOLLAR,
        mult,
        m.offset,
        m.dense_cols,
        m.dense_rows,
        m.hash_cols,
        m.table_keys,
        m.table_rows,
        len(m.weights) - 1,
        quarter,
    )


def _attribute_rows(m: Compiled, keys: np.ndarray) -> np.ndarray:
    """crf._rows, compiled (one pass instead of a probing loop of numpy calls)."""
    return kernels.attribute_rows(
        keys, m.dense_cols, m.dense_rows, m.hash_cols, m.table_keys, m.table_rows, len(m.weights) - 1
    )


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
