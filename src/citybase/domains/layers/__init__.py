"""Layers (图层): published views over a class of city objects, with styles and access levels."""

from citybase.domains.layers.features import EXACT_COUNT_LIMIT
from citybase.domains.layers.model import (
    AccessLevel,
    FeaturePage,
    FeatureQuery,
    Layer,
    LayerChanges,
    LayerKind,
    NewLayer,
    TimeInterval,
)
from citybase.domains.layers.seed import SEED_LAYERS
from citybase.domains.layers.service import LayerService, may_manage, may_read

__all__ = [
    "EXACT_COUNT_LIMIT",
    "SEED_LAYERS",
    "AccessLevel",
    "FeaturePage",
    "FeatureQuery",
    "Layer",
    "LayerChanges",
    "LayerKind",
    "LayerService",
    "NewLayer",
    "TimeInterval",
    "may_manage",
    "may_read",
]
