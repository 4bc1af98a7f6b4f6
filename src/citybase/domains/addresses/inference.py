"""Emission scores and Viterbi of the address CRF over a whole :class:`.tokens.Batch`, in numpy.

Every token's shape code comes from a per-character table (digit and Latin runs from their length),
the templates of :mod:`.crf` become integer keys with one matrix product, the gazetteer and repeat
features are added per (token, attribute row), and a Viterbi over blocks of addresses of similar length
gives the label ids. The forward pass keeps, per address and position, only the few best previous
labels when that provably cannot change the maximum (see :func:`_step`), so it returns exactly the
scores of the full 42 × 42 pass; ties go to the lowest label id, as in CRFsuite.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from citybase.domains.addresses import model
from citybase.domains.addresses import tokens as tk
from citybase.domains.addresses.crf import _CARET, _CLS, _DOLLAR, _GAZ_TAGS, _OFFSETS, Compiled, _rows, compiled

BATCH = 512  # addresses per Viterbi block
_BLOCK = 4096  # tokens per block when summing weight rows
_TOP = 4  # best previous labels kept per address and position (see _step)
_PRED = 4  # previous labels kept per label: those with the largest transitions into it
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
    trans: np.ndarray  # transition weights, previous label × label
    pred: np.ndarray  # _PRED × labels: the previous labels with the largest transitions into each label
    pred_w: np.ndarray  # their transition weights
    other_max: np.ndarray  # per label: the largest transition into it from any other previous label
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
    trans = m.trans
    pred = np.argsort(-trans, axis=0, kind="stable")[:_PRED]
    other = np.sort(trans, axis=0)[-_PRED - 1] if len(trans) > _PRED else np.full(len(trans), -np.inf)
    quarter = np.array([m.vocab.get(f"q={k}", zero) for k in range(4)], np.int64)
    return Tables(char, digits, _code(m, "ab"), gaz, rows, trans, pred, trans[pred, np.arange(len(trans))], other,
                  quarter if (quarter != zero).any() else None)


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


def emissions_one(folded: str, toks: list[model.Token]) -> np.ndarray:
    """:func:`emissions` of one address from its Python tokens: fewer numpy calls for one ``parse``."""
    m, t = compiled(), tables()
    n = len(toks)
    if not n:
        return np.zeros((0, len(m.labels)))
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
    rows = _rows(m, keys)
    if t.quarter is not None:
        rows = np.hstack([rows, t.quarter[np.arange(n) * 4 // n, None]])
    em = m.weights[rows].sum(axis=1)
    em += m.bias
    et: list[int] = []
    er: list[int] = []
    _gazetteer_py(m, folded, toks, 0, et, er)
    for i, mark in enumerate(model.repeat_marks(folded, toks)):
        r = m.vocab.get(mark) if mark else None
        if r is not None:
            et.append(i)
            er.append(r)
    if et:
        np.add.at(em, np.array(et, np.int64), m.weights[np.array(er, np.int64)])
    return em


def emissions(b: tk.Batch, folded: list[str]) -> np.ndarray:
    """Emission scores (tokens × labels) of every token of the batch; the features of model.features."""
    m, t = compiled(), tables()
    total, na = len(b.start), len(b.base)
    if not total:
        return np.zeros((0, len(m.labels)))
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
    rows = _rows(m, keys)
    w = m.weights
    et, er = _extras(m, t, b, folded, small)
    if t.quarter is not None:  # the quarter of the address a token is in (model.features "q=")
        rows = np.hstack([rows, t.quarter[idx * 4 // b.count[b.addr], None]])
    if small:
        em = w[rows].sum(axis=1)
        em += m.bias
        _add_rows(em, w, et, er)
        return em
    em = np.empty((total, len(m.labels)))
    tmp = np.empty((min(total, _BLOCK), len(m.labels)))
    for k in range(0, total, _BLOCK):  # one template at a time over blocks of tokens: stays in cache
        r = rows[k : k + _BLOCK]
        acc, part = em[k : k + _BLOCK], tmp[: len(r)]
        np.add(w[r[:, 0]], m.bias, out=acc)
        for c in range(1, r.shape[1]):
            np.take(w, r[:, c], axis=0, out=part)
            acc += part
    _add_rows(em, w, et, er)
    return em


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
    rep_tok: list[int] = []
    rep_row: list[int] = []
    for a in tk.repeat_candidates(b).tolist():
        first = int(b.first[a])
        for i, mark in enumerate(model.repeat_marks(folded[a], b.tokens(a))):
            r = m.vocab.get(mark) if mark else None
            if r is not None:
                rep_tok.append(first + i)
                rep_row.append(r)
    tok_parts.append(np.array(rep_tok, np.int64))
    row_parts.append(np.array(rep_row, np.int64))
    return np.concatenate(tok_parts), np.concatenate(row_parts)


def _add_rows(em: np.ndarray, w: np.ndarray, et: np.ndarray, er: np.ndarray) -> None:
    """em[et[k]] += w[er[k]] for every k (a token may appear several times)."""
    if not len(et):
        return
    if len(et) <= 256:
        np.add.at(em, et, w[er])
        return
    order = np.argsort(et, kind="stable")  # the k-th feature of each token in round k: no repeated index
    et, er = et[order], er[order]
    rank = np.arange(len(et)) - np.searchsorted(et, et)
    for k in range(int(rank.max()) + 1):
        sel = rank == k
        em[et[sel]] += w[er[sel]]


def _step(d: np.ndarray, t: Tables) -> np.ndarray:
    """max over previous labels i of d[:, i] + trans[i, j] (d: addresses × labels), exactly.

    Candidates per label j: the _TOP best previous labels of the address and the _PRED labels with the
    largest transition into j. Any other i scores at most the (_TOP+1)-th best d plus the largest
    transition into j from outside those _PRED; an address where that bound reaches the candidates' best
    is recomputed in full (a few per cent). The maximum of the same sums is the same number.
    """
    nb, nl = d.shape
    if nl <= _TOP + _PRED:
        return (d[:, :, None] + t.trans[None]).max(axis=1)
    part = np.argpartition(d, nl - _TOP - 1, axis=1)
    top = part[:, nl - _TOP :]
    rest = d[np.arange(nb), part[:, nl - _TOP - 1]]
    best = (np.take_along_axis(d, top, 1)[:, :, None] + t.trans[top]).max(axis=1)
    np.maximum(best, (d[:, t.pred] + t.pred_w).max(axis=1), out=best)
    bad = np.flatnonzero((best < rest[:, None] + t.other_max).any(axis=1))
    if len(bad):
        best[bad] = (d[bad][:, :, None] + t.trans[None]).max(axis=1)
    return best


def _viterbi_one(em: np.ndarray, trans_t: np.ndarray) -> list[int]:
    """One address (``trans_t``: transitions to × from); few numpy calls per token, back-pointers kept."""
    length, nl = em.shape
    d = em[0].copy()
    buf = np.empty((nl, nl))
    flat = np.arange(nl) * nl
    bps = np.empty((length, nl), np.int64)
    for t in range(1, length):
        np.add(trans_t, d, out=buf)  # buf[to, from]
        bp = bps[t]
        np.argmax(buf, axis=1, out=bp)  # the first best previous label, as CRFsuite
        d = buf.ravel()[flat + bp] + em[t]
    y = [int(d.argmax())]
    back = bps.tolist()
    for t in range(length - 1, 0, -1):
        y.append(back[t][y[-1]])
    return y[::-1]


def viterbi(em: np.ndarray, b: tk.Batch) -> np.ndarray:
    """Best label id of every token of the batch.

    Addresses go in blocks, longest first, so at each position the addresses still running are a
    prefix of the block: no padding is computed.
    """
    t = tables()
    trans = t.trans
    if len(b.base) == 1:
        return np.array(_viterbi_one(em, compiled().trans_t) if len(em) else [], np.int64)
    out = np.zeros(len(em), np.int64)
    order = np.argsort(-b.count, kind="stable")
    order = order[b.count[order] > 0]
    for b0 in range(0, len(order), BATCH):
        block = order[b0 : b0 + BATCH]
        lens, first = b.count[block], b.first[block]
        live = np.searchsorted(-lens, -np.arange(int(lens[0])), side="left")  # per position: running addresses
        deltas = [em[first]]
        for i in range(1, len(live)):
            n = int(live[i])
            d = _step(deltas[-1][:n], t)
            d += em[first[:n] + i]
            deltas.append(d)
        y = np.empty(len(block), np.int64)
        for i in range(len(live) - 1, -1, -1):
            n = int(live[i])
            ends = np.flatnonzero(lens[:n] == i + 1)  # addresses whose last position is i
            y[ends] = deltas[i][ends].argmax(axis=1)
            if i + 1 < len(live):
                k = int(live[i + 1])  # the addresses that go on to position i + 1
                y[:k] = (deltas[i][:k] + trans[:, y[:k]].T).argmax(axis=1)  # the first best, as CRFsuite
            out[first[:n] + i] = y[:n]
    return out


def tag_one(folded: str, toks: list[model.Token]) -> list[int]:
    """Label ids of the tokens of one address (one ``parse`` call)."""
    em = emissions_one(folded, toks)
    return _viterbi_one(em, compiled().trans_t) if len(em) else []


def tag_ids(folded: list[str], joined: str | None = None) -> tuple[tk.Batch, np.ndarray]:
    """The batch's tokens and the label id of each token (``joined``: as for :func:`.tokens.tokenize`)."""
    b = tk.tokenize(folded, joined)
    return b, viterbi(emissions(b, folded), b)
