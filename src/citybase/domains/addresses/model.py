"""The sequence tagger of the address parser: tokens, features and the CRF model.

Tokens follow the labelled corpus: a run of digits is one token, a run of Latin letters is one token,
every other non-space character is a token of its own; spaces are dropped. Each token gets character
n-gram features in a ±2 window, the nearest address keyword before and after it (路, 号, 栋, 单元, 层 …),
and the gazetteer matches it lies in (:mod:`.gazetteer`). A linear-chain CRF (CRFsuite, trained by
``scripts/train_address_model.py``) assigns BIO tags. At run time :mod:`.crf` computes the same features
as integer ids and tags in numpy over whole batches (:func:`tag_many`); the string features of
:func:`features` are for training and for the CRFsuite reference tagger (:func:`tag_crfsuite`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib import resources

from citybase.domains.addresses.gazetteer import gazetteer
from citybase.kernel.errors import ConfigurationError

MODEL_FILE = "address_crf.bin"
LABELS = (
    "country",
    "prov",
    "city",
    "district",
    "devzone",
    "town",
    "community",
    "road",
    "subroad",
    "roadno",
    "subroadno",
    "poi",
    "subpoi",
    "houseno",
    "cellno",
    "floorno",
    "roomno",
    "person",
    "assist",
    "redundant",
    "otherinfo",
)

_TOKEN = re.compile(r"[0-9]+|[A-Za-z]+|\S")
Token = tuple[int, int, str]  # start, end (offsets into the folded text), text


def tokenize(folded: str) -> list[Token]:
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(folded)]


_KEYWORDS = frozenset("省市区县镇乡街道路巷弄号栋幢座楼单元层室村组苑园城厦场庄里湾坊院店司部心馆楼期-")


_CN_NUM = frozenset("零〇○一二两三四五六七八九十百千")


@cache
def _klass(tok: str) -> str:
    if tok in ("^", "$"):
        return tok
    if tok[0].isdigit() or (tok[0] in "NZ" and tok[1:].isdigit()):
        return "D"
    if tok in _CN_NUM:
        return "C"
    if tok.isascii() and tok.isalpha():
        return "L"
    if "\u4e00" <= tok[0] <= "\u9fff":
        return "H"
    return "P"


@cache
def _shape(tok: str) -> str:
    if tok.isdigit():
        return "N" + str(min(len(tok), 5)) if not tok.startswith("0") or len(tok) == 1 else "Z" + str(min(len(tok), 5))
    if tok.isascii() and tok.isalpha():
        return tok.upper() if len(tok) == 1 else "LL"
    return tok


def repeat_marks(folded: str, tokens: Sequence[Token]) -> list[str]:
    """Per token: ``rep=N`` where the text from it on already occurred earlier (浙江省杭州市…杭州市 →
    redundant), ``inrep`` inside such a repeat, else ""."""
    n = len(tokens)
    rep = [""] * n
    for i in range(1, n):
        s0 = tokens[i][0]
        if folded[s0 : s0 + 2] in folded[:s0]:
            length = 2
            while length < 6 and folded[s0 : s0 + length + 1] in folded[:s0] and s0 + length < len(folded):
                length += 1
            rep[i] = f"rep={length}"
            for k in range(i + 1, n):
                if tokens[k][1] > s0 + length:
                    break
                if not rep[k]:
                    rep[k] = "inrep"
    return rep


def features(folded: str, tokens: list[Token]) -> list[list[str]]:
    """Feature strings of every token (see the module doc)."""
    n = len(tokens)
    w = ["^", "^", *(_shape(t[2]) for t in tokens), "$", "$"]
    kl = [_klass(x) for x in w]
    # nearest keyword after / before each token, with a distance bucket
    nxt: list[str] = [""] * n
    nxt2: list[str] = [""] * n
    last, last2, dist = "$", "$", 0
    for i in range(n - 1, -1, -1):
        nxt[i] = f"{last}{min(dist, 6)}"
        nxt2[i] = last + last2
        c = w[i + 2]
        if c in _KEYWORDS:
            last, last2, dist = c, last, 0
        dist += 1
    prv: list[str] = [""] * n
    prv2: list[str] = [""] * n
    last, last2, dist = "^", "^", 0
    for i in range(n):
        prv[i] = f"{last}{min(dist, 6)}"
        prv2[i] = last2 + last
        c = w[i + 2]
        if c in _KEYWORDS:
            last, last2, dist = c, last, 0
        dist += 1
    # gazetteer matches, char offsets → token positions
    gaz: list[list[str]] = [[] for _ in range(n)]
    if n:
        at = [0] * (len(folded) + 1)
        for t, (s0, e0, _) in enumerate(tokens):
            for ci in range(s0, e0):
                at[ci] = t
        for s0, e0, tag in gazetteer().raw(folded):
            ta, tb = at[s0], at[e0 - 1]
            if tokens[ta][0] != s0 or tokens[tb][1] != e0:
                continue
            if ta == tb:
                gaz[ta].append("g" + tag + "S")
            else:
                gaz[ta].append("g" + tag + "B")
                gaz[tb].append("g" + tag + "E")
                for t in range(ta + 1, tb):
                    gaz[t].append("g" + tag + "I")
    rep = repeat_marks(folded, tokens)
    out = []
    for i in range(n):
        a, b, c, d, e = w[i], w[i + 1], w[i + 2], w[i + 3], w[i + 4]
        f = [
            "b",
            "w=" + c,
            "l=" + b,
            "r=" + d,
            "ll=" + a,
            "rr=" + e,
            "lw=" + b + c,
            "wr=" + c + d,
            "lwr=" + b + c + d,
            "llw=" + a + b + c,
            "wrr=" + c + d + e,
            "nk=" + nxt[i],
            "pk=" + prv[i],
            "nkw=" + nxt[i][0] + c,
            "k=" + kl[i + 1] + kl[i + 2] + kl[i + 3],
            "kn=" + kl[i + 2] + nxt[i][0],
            "kp=" + prv[i][0] + kl[i + 2],
            "n2=" + nxt2[i],
            "p2=" + prv2[i],
            "l3=" + (w[i - 1] if i else "^"),
            "r3=" + (w[i + 5] if i + 5 < n + 4 else "$"),
            "lr=" + b + d,
            "llwr=" + a + b + c + d,
            "lwrr=" + b + c + d + e,
            "pkw=" + prv[i][0] + c,
            "q=" + str(i * 4 // n),
        ]
        if rep[i]:
            f.append(rep[i])
        f.extend(gaz[i])
        out.append(f)
    return out


@cache
def tagger():  # -> pycrfsuite.Tagger
    """CRFsuite's tagger of the trained model (training extra; the parser runs :mod:`.crf` instead)."""
    try:
        import pycrfsuite
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise ConfigurationError(
            "the address parser needs the python-crfsuite package (pip install python-crfsuite)"
        ) from exc
    ref = resources.files("citybase.domains.addresses").joinpath("data", MODEL_FILE)
    if not ref.is_file():
        raise ConfigurationError(
            f"address model {MODEL_FILE} missing from package data; run scripts/train_address_model.py"
        )
    t = pycrfsuite.Tagger()
    with resources.as_file(ref) as path:
        t.open(str(path))
    return t


def tag_many(folded: list[str]) -> list[list[str]]:
    """BIO tags of the tokens of each folded text, in one batch (numpy inference, :mod:`.inference`);
    equal to CRFsuite's tags of :func:`features`."""
    from citybase.domains.addresses import inference  # inference builds on this module's features

    b, y = inference.tag_ids(folded)
    labels = inference.compiled().labels
    tags = [labels[k] for k in y.tolist()]
    return [tags[f : f + c] for f, c in zip(b.first.tolist(), b.count.tolist(), strict=True)]


def tag_crfsuite(folded: str, tokens: list[Token]) -> list[str]:
    """BIO tags by CRFsuite itself (the reference for the numpy path; training and tests only)."""
    if not tokens:
        return []
    return list(tagger().tag(features(folded, tokens)))
