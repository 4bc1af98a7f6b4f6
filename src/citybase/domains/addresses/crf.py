"""The address CRF's weights compiled for numpy inference (run by :mod:`.inference`).

CRFsuite trains the model; :func:`export` dumps its weights into ``data/address_crf.npz``: the
attribute strings, the non-zero state weights (attribute × label) and the transition matrix. At run
time no feature string is built: each token's shape (:func:`.model._shape`) becomes an integer id,
every template of :func:`.model.features` becomes an integer key over those ids (mixed radix, one matrix
product for a whole batch), and a dense table (small templates) or a vectorised hash table (n-grams) gives
the weight row of each key. :mod:`.inference` sums the rows and runs the Viterbi in float64 (CRFsuite's
precision, label order and tie rule: the first best label wins); ``tests/test_address_parser.py`` checks
the tags equal CRFsuite's.

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

from citybase.domains.addresses import kernels, model
from citybase.domains.addresses.gazetteer import Gazetteer, gazetteer
from citybase.kernel.errors import ConfigurationError

NPZ_FILE = "address_crf.npz"
_DENSE_MAX = 200_000  # templates with at most this many possible keys get a dense lookup table

_TWO = frozenset([f"N{k}" for k in range(1, 6)] + [f"Z{k}" for k in range(2, 6)] + ["LL"])
_KW = "".join(sorted(model._KEYWORDS)) + "^$"
_CLS = "^$DCLHP"
_GAZ_TAGS = tuple(k + f for k in "PCDTV" for f in "fs")
_COMPONENTS = ("s-3", "s-2", "s-1", "s0", "s1", "s2", "s3", "c-1", "c0", "c1", "n", "n2", "nd", "p", "p2", "pd")
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
    "lr=": ("s-1", "s1"),
    "llwr=": ("s-2", "s-1", "s0", "s1"),
    "lwrr=": ("s-1", "s0", "s1", "s2"),
    "pkw=": ("p", "s0"),
}


@dataclass(slots=True)
class Compiled:
    labels: tuple[str, ...]
    weights: np.ndarray  # (attributes + 1) × labels, float64; the last row is zeros
    trans: np.ndarray  # labels × labels (from, to)
    vocab: dict[str, int]  # attribute string → row (bias, rep, gazetteer features)
    shape_id: dict[str, int]  # shape string → id; unknown shapes get ``unk``
    unk: int
    radix: dict[str, int]  # component kind → number of values
    mult: np.ndarray  # components × templates: key = components @ mult + template offset (mixed radix)
    offset: np.ndarray  # per template: base in ``dense_rows``, or template index << 44 for hashed keys
    dense_cols: np.ndarray  # templates looked up in ``dense_rows``
    hash_cols: np.ndarray  # templates looked up in the hash table
    dense_rows: np.ndarray  # attribute row of every key of the dense templates
    sorted_keys: np.ndarray  # the hashed templates' keys sorted (the reference look-up, :func:`_rows`)
    sorted_rows: np.ndarray
    table_keys: np.ndarray  # the same keys (template index in the high bits) in kernels.hash_table's
    table_rows: np.ndarray  # open-addressing table: slot keys, and slot rows (kernels' EMPTY where none)
    gazetteer: Gazetteer
    gaz_rows: dict[str, tuple[int, int, int, int]]  # gazetteer tag → attribute rows of "g<tag>" + B, I, E, S
    kw_of: np.ndarray  # per shape id: keyword id, -1 when not a keyword
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
    if max(sizes) >= 1 << 44:  # hashed keys keep the template index in the bits above 44
        raise ConfigurationError(f"address model has too many token shapes ({unk}) for 4-token templates")
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
    table_keys, table_rows = kernels.hash_table(np.array(keys, np.int64).astype(np.uint64), np.array(rows, np.int64))
    mult = np.zeros((len(_COMPONENTS), len(_TEMPLATES)), np.int64)  # every factor is below 2**44
    for t, kinds in enumerate(_TEMPLATES.values()):
        factor = 1
        for k in reversed(kinds):
            mult[_COMPONENTS.index(k), t] = factor
            factor *= radix[_kind(k)]
    order = np.argsort(np.array(keys, np.int64))
    shapes = [*sorted(shape_id, key=shape_id.__getitem__), "\x00"]
    kw_of = np.array([_KW.index(s) if s in model._KEYWORDS else -1 for s in shapes], np.int64)
    bias = weights[vocab["b"]] if "b" in vocab else np.zeros(len(labels))
    gz = gazetteer()
    gaz_rows = {t: tuple(vocab.get(f"g{t}{p}", len(attrs)) for p in "BIES") for t in _GAZ_TAGS}
    return Compiled(
        labels,
        weights,
        np.asarray(data["trans"], np.float64),
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
        kw_of,
        bias,
    )


def _rows(m: Compiled, keys: np.ndarray) -> np.ndarray:
    """Attribute row of each key (tokens × templates; the zero row when the model has no such attribute),
    in numpy: the reference the tests hold ``kernels.attribute_rows`` to."""
    rows = np.empty_like(keys)
    rows[:, m.dense_cols] = m.dense_rows[keys[:, m.dense_cols]]
    rows[:, m.hash_cols] = _lookup(m, keys[:, m.hash_cols])
    return rows


def _lookup(m: Compiled, keys: np.ndarray) -> np.ndarray:
    """Attribute row of each hashed key by binary search (the zero row when the model has no such
    attribute): the plain reference for the parser's hash-table look-up, ``kernels.attribute_rows``."""
    at = np.searchsorted(m.sorted_keys, keys)
    np.minimum(at, len(m.sorted_keys) - 1, out=at)
    return np.where(m.sorted_keys[at] == keys, m.sorted_rows[at], len(m.weights) - 1)


def _kind(k: str) -> str:
    return k if k in ("n", "p", "n2", "p2", "nd", "pd") else k[0]


_ELSEWHERE: list[str] = []  # an npz outside the package data, set by use_model


def use_model(npz_path: str) -> None:
    """Read the model from ``npz_path`` instead of the package data (experiments, e.g.
    ``scripts/eval_address_parser.py --model``); call it before the first parse of the process."""
    _ELSEWHERE[:] = [npz_path]
    compiled.cache_clear()


@cache
def compiled() -> Compiled:
    """The model, read once from package data (no network)."""
    if _ELSEWHERE:
        with np.load(_ELSEWHERE[0]) as npz:
            return _compile({k: npz[k] for k in npz.files})
    ref = resources.files("citybase.domains.addresses").joinpath("data", NPZ_FILE)
    if not ref.is_file():
        raise ConfigurationError(
            f"address model {NPZ_FILE} missing from package data; run scripts/train_address_model.py"
        )
    with np.load(io.BytesIO(ref.read_bytes())) as npz:
        return _compile({k: npz[k] for k in npz.files})
