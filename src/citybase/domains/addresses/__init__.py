"""Standard addresses (一标): parsing free-text Chinese addresses into elements and tree levels.

``parse(text)`` → :class:`ParsedAddress`; see ``docs/addresses.md``.
"""

from citybase.domains.addresses.normalise import MAX_LENGTH, canonical, cn_to_int, fold, numerals_to_digits
from citybase.domains.addresses.parser import (
    ELEMENTS,
    LEVEL_OF,
    TREE_LEVELS,
    Element,
    ParsedAddress,
    parse,
    parse_many,
)

__all__ = [
    "ELEMENTS",
    "LEVEL_OF",
    "MAX_LENGTH",
    "TREE_LEVELS",
    "Element",
    "ParsedAddress",
    "canonical",
    "cn_to_int",
    "fold",
    "numerals_to_digits",
    "parse",
    "parse_many",
]
