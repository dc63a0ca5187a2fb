"""Readers and mappings: recorded files -> validated Episodes."""

from workbench.io.lerobot import read_lerobot, read_lerobot_records
from workbench.io.load import load_episodes, parse_selection
from workbench.io.mapping import Mapping, SignalMapping, load_mapping, parse_mapping
from workbench.io.robomimic import read_robomimic, read_robomimic_records
from workbench.io.tables import Table, read_table

__all__ = [
    "Mapping",
    "SignalMapping",
    "Table",
    "load_episodes",
    "load_mapping",
    "parse_mapping",
    "parse_selection",
    "read_lerobot",
    "read_lerobot_records",
    "read_robomimic",
    "read_robomimic_records",
    "read_table",
]
