"""Graph-level passes that run while a model's forward emits layers (BatchNorm folding, weight finalization)."""
from .fold import ConvRecord, Folder

__all__ = ["ConvRecord", "Folder"]
