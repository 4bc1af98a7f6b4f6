"""Standard addresses (一标): parsing free-text Chinese addresses into elements and tree levels.

``parse(text)`` → :class:`ParsedAddress`; see ``docs/addresses.md``.
"""

from citybase.domains.addresses.batch import MATCH_FILE_JOB, match_file
from citybase.domains.addresses.display import DisplayCodeTemplate
from citybase.domains.addresses.interchange import JOB_KIND as IMPORT_ADDRESSES_JOB
from citybase.domains.addresses.interchange import community_name, export_file, job_params
from citybase.domains.addresses.matcher import CONFIDENT, Candidate, MatchResult, match_levels, result_json
from citybase.domains.addresses.matching import AddressMatcher, Matched, Nearby
from citybase.domains.addresses.naming import KINDS as NAMING_KINDS
from citybase.domains.addresses.naming import NamingWorkflows, Workflow
from citybase.domains.addresses.normalise import MAX_LENGTH, canonical, cn_to_int, fold, numerals_to_digits
from citybase.domains.addresses.parser import (
    ELEMENTS,
    LEVEL_OF,
    TREE_LEVELS,
    Element,
    ParsedAddress,
    parse,
    parse_many,
    warm,
)
from citybase.domains.addresses.registry import (
    LEVELS,
    AddressNode,
    AddressRecord,
    AddressService,
    AddressVersion,
    NodeCount,
)
from citybase.domains.addresses.review import REVIEW_STATES, ReviewItem, ReviewQueue
from citybase.domains.addresses.suggest import Suggestion
from citybase.domains.addresses.tree import NewNode, ParentInfo, insert_nodes
from citybase.domains.addresses.tree import on_tree_change as on_tree_change

__all__ = [
    "CONFIDENT",
    "ELEMENTS",
    "IMPORT_ADDRESSES_JOB",
    "LEVELS",
    "LEVEL_OF",
    "MATCH_FILE_JOB",
    "MAX_LENGTH",
    "NAMING_KINDS",
    "REVIEW_STATES",
    "TREE_LEVELS",
    "AddressMatcher",
    "AddressNode",
    "AddressRecord",
    "AddressService",
    "AddressVersion",
    "Candidate",
    "DisplayCodeTemplate",
    "Element",
    "MatchResult",
    "Matched",
    "NamingWorkflows",
    "Nearby",
    "NewNode",
    "NodeCount",
    "ParentInfo",
    "ParsedAddress",
    "ReviewItem",
    "ReviewQueue",
    "Suggestion",
    "Workflow",
    "canonical",
    "cn_to_int",
    "community_name",
    "export_file",
    "fold",
    "insert_nodes",
    "job_params",
    "match_file",
    "match_levels",
    "numerals_to_digits",
    "parse",
    "parse_many",
    "result_json",
    "warm",
]
