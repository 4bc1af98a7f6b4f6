"""Batched numpy inference of the address CRF (the tagger behind :func:`.model.tag_many`).

CRFsuite trains the model; :func:`export` dumps its weights into ``data/address_crf.npz``: the
attribute strings, the non-zero state weights (attribute × label) and the transition matrix. At run
time no feature string is built: each token's shape (:func:`.model._shape`) becomes an integer id,
every template of :func:`.model.features` becomes an integer key over those ids (mixed radix, one matrix
product for a whole batch), and a dense table (small templates) or a vectorised hash table (n-grams) gives
the weight row of each key. Emission scores are the sum of the gathered rows; a length-bucketed Viterbi in
float64 (CRFsuite's precision, label order and tie rule: the first best label wins) gives the tags.
``tests/test_address_parser.py`` checks the tags equal CRFsuite's.

Attribute strings are decoded back into id tuples once at load: a string such as ``lw=N3号`` is split
into every sequence of valid parts (a shape is one character or ``N1``–``N5``, ``Z2``–``Z5``, ``LL``),
so string collisions of the templates are reproduced exactly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from citybase.domains.addresses import model
from citybase.domains.addresses.gazetteer import Gazetteer, gazetteer
from citybase.kernel.errors import ConfigurationError

NPZ_FILE = "address_crf.npz"
BATCH = 128  # addresses per Viterbi block: keeps the [labels, labels, batch] block in cache
_BLOCK = 4096  # tokens per block when summing weight rows
_DENSE_MAX = 200_000  # templates with at most this many possible keys get a dense lookup table

_TWO = frozenset([f"N{k}" for k in range(1, 6)] + [f"Z{k}" for k in range(2, 6)] + ["LL"])
_KW = "".join(sorted(model._KEYWORDS)) + "^$"
_CLS = "^$DCLHP"
_GAZ_TAGS = tuple(k + f for k in "PCDTV" for f in "fs")
_COMPONENTS = ("s-3", "s-2", "s-1", "s0", "s1", "s2", "s3", "c-1", "c0", "c1", "n", "n2", "nd", "p", "p2", "pd")
_OFFSETS = np.arange(-3, 4)
_DOLLAR, _CARET = _KW.index("$"), _KW.index("^")
# template prefix → component kinds; "s<o>" a shape at offset o, "n"/"p" the next/previous keyword,
# "n2"/"p2" the second one, "nd"/"pd" their distance, "c<o>" the class of the shape at offset o
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "w=": ("s0",),
    "l=": ("s-1",),
    "r=": ("s1",),
    "ll=": ("s-2",),
    "rr=": ("s2",),
    "l3=": ("s-3",),
    "r3=": ("s3",),
    "lw=": ("s-1", "s0"),
    "wr=": ("s0", "s1"),
    "lwr=": ("s-1", "s0", "s1"),
    "llw=": ("s-2", "s-1", "s0"),
    "wrr=": ("s0", "s1", "s2"),
    "nk=": ("n", "nd"),
    "pk=": ("p", "pd"),
    "nkw=": ("n", "s0"),
    "k=": ("c-1", "c0", "c1"),
    "kn=": ("c0", "n"),
    "kp=": ("p", "c0"),
    "n2=": ("n", "n2"),
    "p2=": ("p2", "p"),
}


@dataclass(slots=True)
class Compiled:
    labels: tuple[str, ...]
    weights: np.ndarray  # (attributes + 1) × labels, float64; the last row is zeros
    trans: np.ndarray  # labels × labels (from, to)
    trans_t: np.ndarray  # the transpose, contiguous (to, from)
    vocab: dict[str, int]  # attribute string → row (bias, rep, gazetteer features)
    shape_id: dict[str, int]  # shape string → id; unknown shapes get ``unk``
    unk: int
    radix: dict[str, int]  # component kind → number of values
    mult: np.ndarray  # components × templates: key = components @ mult + template offset (mixed radix)
    offset: np.ndarray  # per template: base in ``dense_rows``, or template index << 44 for hashed keys
    dense_cols: np.ndarray  # templates looked up in ``dense_rows``
    hash_cols: np.ndarray  # templates looked up in the hash table
    dense_rows: np.ndarray  # attribute row of every key of the dense templates
    sorted_keys: np.ndarray  # the same keys sorted, for small batches (one searchsorted call)
    sorted_rows: np.ndarray
    table_keys: np.ndarray  # open-addressing hash table of int64 keys (template index in the high bits)
    table_rows: np.ndarray  # attribute row of each slot; the zero row where empty
    gazetteer: Gazetteer
    gaz_rows: dict[str, tuple[int, int, int, int]]  # gazetteer tag → attribute rows of "g<tag>" + B, I, E, S
    kw_list: list[int]  # per shape id: keyword id, -1 when not a keyword
    is_kw: np.ndarray  # per shape id
    kw_of: np.ndarray  # per shape id: keyword id
    bias: np.ndarray  # emission row of the bias feature


def export(crf_path: str, npz_path: str) -> int:
    """Write the npz of a CRFsuite model file; the number of state features."""
    import pycrfsuite

    tagger = pycrfsuite.Tagger()
    tagger.open(crf_path)
    info = tagger.info()
    labels = list(tagger.labels())  # CRFsuite's own label order: its ties go to the lower label id
    lab = {x: i for i, x in enumerate(labels)}
    attrs = sorted({a for a, _ in info.state_features})
    att = {x: i for i, x in enumerate(attrs)}
    items = sorted(info.state_features.items())
    trans = np.zeros((len(labels), len(labels)), np.float64)
    for (a, b), w in info.transitions.items():
        trans[lab[a], lab[b]] = w
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        labels=np.array(labels),
        attrs=np.array(attrs),
        f_attr=np.array([att[a] for (a, _), _ in items], np.int32),
        f_label=np.array([lab[b] for (_, b), _ in items], np.int8),
        f_weight=np.array([w for _, w in items], np.float64),
        trans=trans,
    )
    with open(npz_path, "wb") as fh:
        fh.write(buf.getvalue())
    return len(items)


def _shape_parts(s: str) -> list[tuple[str, str]]:
    """(first shape, rest) for every valid first shape of ``s``."""
    out = [(s[:1], s[1:])] if s else []
    if s[:2] in _TWO:
        out.append((s[:2], s[2:]))
    return out


def _splits(s: str, kinds: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every way to read ``s`` as one value per component kind."""
    if not kinds:
        return [()] if not s else []
    kind, rest_kinds = kinds[0], kinds[1:]
    if kind[0] == "s":
        heads = _shape_parts(s)
    elif kind in ("nd", "pd"):
        heads = [(s[:1], s[1:])] if s[:1].isdigit() else []
    elif kind[0] == "c":
        heads = [(s[:1], s[1:])] if s[:1] and s[:1] in _CLS else []
    else:
        heads = [(s[:1], s[1:])] if s[:1] and s[:1] in _KW else []
    return [(h, *tail) for h, rest in heads for tail in _splits(rest, rest_kinds)]


def _compile(data: dict[str, np.ndarray]) -> Compiled:
    labels = tuple(str(x) for x in data["labels"])
    attrs = [str(x) for x in data["attrs"]]
    weights = np.zeros((len(attrs) + 1, len(labels)), np.float64)
    weights[data["f_attr"], data["f_label"]] = data["f_weight"]
    shape_id: dict[str, int] = {"^": 0, "$": 1}
    decoded: list[tuple[int, str, tuple[str, ...]]] = []
    vocab: dict[str, int] = {}
    names = list(_TEMPLATES)
    for row, a in enumerate(attrs):
        pre, eq, body = a.partition("=")
        kinds = _TEMPLATES.get(pre + eq) if eq else None
        if kinds is None:
            vocab[a] = row
            continue
        for parts in _splits(body, kinds):
            for k, part in zip(kinds, parts, strict=True):
                if k[0] == "s" and part not in shape_id:
                    shape_id[part] = len(shape_id)
            decoded.append((row, pre + eq, parts))
    unk = len(shape_id)
    radix = {
        "s": unk + 1,
        "n": len(_KW),
        "p": len(_KW),
        "n2": len(_KW),
        "p2": len(_KW),
        "nd": 7,
        "pd": 7,
        "c": len(_CLS),
    }

    def code(kind: str, part: str) -> int:
        if kind[0] == "s":
            return shape_id[part]
        if kind in ("nd", "pd"):
            return int(part)
        if kind[0] == "c":
            return _CLS.index(part)
        return _KW.index(part)

    # templates with a small key space (unigrams, keyword templates) use a dense table; n-grams a hash
    sizes = [int(np.prod([radix[_kind(k)] for k in kinds])) for kinds in _TEMPLATES.values()]
    dense = np.array([size <= _DENSE_MAX for size in sizes])
    base = np.cumsum([0] + [size if d else 0 for size, d in zip(sizes, dense, strict=True)])
    offset = np.array([base[t] if dense[t] else t << 44 for t in range(len(sizes))], np.int64)
    dense_rows = np.full(int(base[-1]), len(attrs), np.int64)
    keys, rows = [], []
    for row, name, parts in decoded:
        t = names.index(name)
        key = 0
        for k, part in zip(_TEMPLATES[name], parts, strict=True):
            key = key * radix[_kind(k)] + code(k, part)
        if dense[t]:
            dense_rows[offset[t] + key] = row
        else:
            keys.append(int(offset[t]) | key)
            rows.append(row)
    table_keys, table_rows = _hash_table(keys, rows, len(attrs))
    mult = np.zeros((len(_COMPONENTS), len(_TEMPLATES)), np.float64)
    for t, kinds in enumerate(_TEMPLATES.values()):
        factor = 1
        for k in reversed(kinds):
            mult[_COMPONENTS.index(k), t] = factor
            factor *= radix[_kind(k)]
    order = np.argsort(np.array(keys, np.int64))
    shapes = [*sorted(shape_id, key=shape_id.__getitem__), "\x00"]
    is_kw = np.array([s in model._KEYWORDS for s in shapes])
    kw_of = np.array([_KW.index(s) if s in model._KEYWORDS else 0 for s in shapes], np.int64)
    bias = weights[vocab["b"]] if "b" in vocab else np.zeros(len(labels))
    gz = gazetteer()
    gaz_rows = {t: tuple(vocab.get(f"g{t}{p}", len(attrs)) for p in "BIES") for t in _GAZ_TAGS}
    return Compiled(
        labels,
        weights,
        np.asarray(data["trans"], np.float64),
        np.ascontiguousarray(np.asarray(data["trans"], np.float64).T),
        vocab,
        shape_id,
        unk,
        radix,
        mult,
        offset,
        np.flatnonzero(dense),
        np.flatnonzero(~dense),
        dense_rows,
        np.array(keys, np.int64)[order],
        np.array(rows, np.int64)[order],
        table_keys,
        table_rows,
        gz,
        gaz_rows,  # type: ignore[arg-type]  # tuples of four
        np.where(is_kw, kw_of, -1).tolist(),
        is_kw,
        kw_of,
        bias,
    )


_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing


def _slot(keys: np.ndarray, bits: int) -> np.ndarray:
    return ((keys.astype(np.uint64) * _MULT) >> np.uint64(64 - bits)).astype(np.int64)


def _hash_table(keys: list[int], rows: list[int], zero_row: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear-probing table at most a quarter full: vectorised look-ups cost one or two probes."""
    bits = max(10, (4 * len(keys)).bit_length())
    size = 1 << bits
    tk = np.full(size, -1, np.int64)
    tr = np.full(size, zero_row, np.int64)
    mask = size - 1
    for key, row, h in zip(keys, rows, _slot(np.array(keys, np.int64), bits).tolist(), strict=True):
        while tk[h] != -1 and tk[h] != key:
            h = (h + 1) & mask
        tk[h], tr[h] = key, row
    return tk, tr


def _rows(m: Compiled, keys: np.ndarray) -> np.ndarray:
    """Attribute row of each key (tokens × templates; the zero row when the model has no such attribute)."""
    rows = np.empty_like(keys)
    rows[:, m.dense_cols] = m.dense_rows[keys[:, m.dense_cols]]
    rows[:, m.hash_cols] = _lookup(m, keys[:, m.hash_cols])
    return rows


def _lookup(m: Compiled, keys: np.ndarray) -> np.ndarray:
    """Attribute row of each hashed key (the zero row when the model has no such attribute)."""
    if keys.size < 4096:  # small batch: one binary search beats the probing loop's calls
        at = np.searchsorted(m.sorted_keys, keys)
        np.minimum(at, len(m.sorted_keys) - 1, out=at)
        return np.where(m.sorted_keys[at] == keys, m.sorted_rows[at], len(m.weights) - 1)
    mask = len(m.table_keys) - 1
    h = _slot(keys, mask.bit_length())
    out = np.full(keys.shape, len(m.weights) - 1, np.int64)
    todo = np.arange(keys.size)
    flat_keys, flat_out = keys.ravel(), out.ravel()
    h = h.ravel()
    while todo.size:
        hk = m.table_keys[h[todo]]
        hit = hk == flat_keys[todo]
        flat_out[todo[hit]] = m.table_rows[h[todo[hit]]]
        todo = todo[~hit & (hk != -1)]
        h[todo] = (h[todo] + 1) & mask
    return out


def _kind(k: str) -> str:
    return k if k in ("n", "p", "n2", "p2", "nd", "pd") else k[0]


@cache
def compiled() -> Compiled:
    """The model, read once from package data (no network)."""
    ref = resources.files("citybase.domains.addresses").joinpath("data", NPZ_FILE)
    if not ref.is_file():
        raise ConfigurationError(
            f"address model {NPZ_FILE} missing from package data; run scripts/train_address_model.py"
        )
    with np.load(io.BytesIO(ref.read_bytes())) as npz:
        return _compile({k: npz[k] for k in npz.files})


_SID_CACHE: dict[str, int] = {}
_LEFT = (0 * 8 + _CLS.index("^"),) * 3  # shape ids 0 and 1 are the pads ^ and $
_RIGHT = (1 * 8 + _CLS.index("$"),) * 3


def _code(m: Compiled, tok: str) -> int:
    """Shape id × 8 + class id of a token (the class of shapes the model never saw is still needed)."""
    code = _SID_CACHE.get(tok)
    if code is None:
        shape = model._shape(tok)
        code = m.shape_id.get(shape, m.unk) * 8 + _CLS.index(model._klass(shape))
        if len(_SID_CACHE) < 200_000:
            _SID_CACHE[tok] = code
    return code


def _repeats(folded: str, tokens: list[model.Token]) -> list[tuple[int, str]]:
    """(token index, attribute) of the repeat features (as in :func:`.model.features`)."""
    return [(i, r) for i, r in enumerate(model.repeat_marks(folded, tokens)) if r]


_SMALL = 256  # at most this many tokens: keyword features in Python (fewer numpy calls)


def _keywords_py(m: Compiled, codes: list[int], out: list[list[int]]) -> None:
    """Keyword components (n, n2, nd, p, p2, pd) of one address's tokens, appended to ``out``."""
    kw = [m.kw_list[c >> 3] for c in codes[3:-3]]
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


def emissions(items: list[tuple[str, list[model.Token]]]) -> list[np.ndarray]:
    """Emission scores (tokens × labels) of each (folded text, tokens); the features of model.features."""
    m = compiled()
    small = sum(len(t) for _, t in items) <= _SMALL
    codes: list[int] = []
    starts: list[int] = []
    lengths: list[int] = []
    kw_rows: list[list[int]] = []
    extra_tok: list[int] = []
    extra_row: list[int] = []
    total = 0
    for folded, tokens in items:
        mine = [*_LEFT, *(_code(m, t[2]) for t in tokens), *_RIGHT]
        starts.append(len(codes) + 3)
        codes += mine
        lengths.append(len(tokens))
        for i, attr in _repeats(folded, tokens):
            row = m.vocab.get(attr)
            if row is not None:
                extra_tok.append(total + i)
                extra_row.append(row)
        _gazetteer_py(m, folded, tokens, total, extra_tok, extra_row)
        if small:
            _keywords_py(m, mine, kw_rows)
        total += len(tokens)
    if not total:
        return [np.zeros((0, len(m.labels)))] * len(items)
    s = np.array(codes, np.int64)
    cls = s & 7
    s >>= 3
    ln = np.array(lengths, np.int64)
    first = np.cumsum(ln) - ln
    idx = np.arange(total) - np.repeat(first, ln)  # index within the address
    pos = np.repeat(np.array(starts, np.int64), ln) + idx  # flat index of each token in ``s``
    window = pos[:, None] + _OFFSETS
    kws = np.array(kw_rows, np.int64) if small else _keywords_np(m, s, pos, idx, ln)
    comp = np.hstack([s[window], cls[window[:, 2:5]], kws])  # columns in _COMPONENTS order
    # float64 matmul (BLAS) is exact here: every key is below 2**53
    keys = (comp.astype(np.float64) @ m.mult).astype(np.int64)
    keys += m.offset
    rows = _rows(m, keys)
    w = m.weights
    if small:
        em = w[rows].sum(axis=1)
        em += m.bias
    else:
        em = np.empty((total, len(m.labels)))
        for b in range(0, total, _BLOCK):  # one template at a time over blocks of tokens: stays in cache
            r = rows[b : b + _BLOCK]
            acc = w[r[:, 0]] + m.bias
            for t in range(1, r.shape[1]):
                acc += w[r[:, t]]
            em[b : b + _BLOCK] = acc
    if 0 < len(extra_tok) <= _SMALL:  # gazetteer/repeat features (a token may have several: unbuffered add)
        np.add.at(em, np.array(extra_tok, np.int64), w[np.array(extra_row, np.int64)])
    elif extra_tok:  # many: the k-th feature of each token in round k (no repeated index; faster than add.at)
        et, er = np.array(extra_tok, np.int64), np.array(extra_row, np.int64)
        order = np.argsort(et, kind="stable")
        et, er = et[order], er[order]
        rank = np.arange(len(et)) - np.searchsorted(et, et)
        for k in range(int(rank.max()) + 1):
            sel = rank == k
            em[et[sel]] += w[er[sel]]
    return np.split(em, np.cumsum(ln)[:-1]) if len(items) > 1 else [em]


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


def viterbi(ems: list[np.ndarray]) -> list[list[int]]:
    """Best label ids of each emission matrix, in blocks of addresses of similar length."""
    m = compiled()
    if len(ems) == 1:
        return [_viterbi_one(ems[0], m.trans_t) if len(ems[0]) else []]
    trans = m.trans
    tr3 = trans[:, :, None]
    nl = len(m.labels)
    out: list[list[int]] = [[] for _ in ems]
    order = sorted((i for i in range(len(ems)) if len(ems[i])), key=lambda i: len(ems[i]))
    for b0 in range(0, len(order), BATCH):
        block = order[b0 : b0 + BATCH]
        nb, length = len(block), len(ems[block[-1]])
        lens = np.array([len(ems[i]) for i in block])
        em = np.zeros((length, nl, nb))
        for c, i in enumerate(block):
            em[: len(ems[i]), :, c] = ems[i]
        deltas = np.empty((length, nl, nb))
        deltas[0] = em[0]
        for t in range(1, length):
            np.maximum.reduce(deltas[t - 1][:, None, :] + tr3, axis=0, out=deltas[t])
            deltas[t] += em[t]
        cols = np.arange(nb)
        y = np.zeros((length, nb), np.int64)
        y[lens - 1, cols] = deltas[lens - 1, :, cols].argmax(axis=1)
        for t in range(length - 1, 0, -1):
            live = lens > t  # addresses whose position t exists
            if not live.any():
                continue
            prev = (deltas[t - 1] + trans[:, y[t]]).argmax(axis=0)
            y[t - 1] = np.where(live, prev, y[t - 1])
        for c, i in enumerate(block):
            out[i] = y[: lens[c], c].tolist()
    return out


def tag_many(items: list[tuple[str, list[model.Token]]]) -> list[list[str]]:
    """BIO tags of each (folded text, tokens)."""
    labels = compiled().labels
    return [[labels[k] for k in seq] for seq in viterbi(emissions(items))]
