"""Dataset writers: LeRobot v3.0 (pyarrow) and robomimic HDF5 (h5py), with per-episode provenance.

Readers of the same formats (as recording input) live in `workbench.io`.
"""

from workbench.datasets.features import DEFAULT_FEATURES, default_feature
from workbench.datasets.lerobot import CODEBASE_VERSION, WriteSummary, write_lerobot
from workbench.datasets.provenance import Provenance
from workbench.datasets.robomimic import write_robomimic

__all__ = [
    "CODEBASE_VERSION",
    "DEFAULT_FEATURES",
    "Provenance",
    "WriteSummary",
    "default_feature",
    "write_lerobot",
    "write_robomimic",
]
