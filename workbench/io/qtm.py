"""Qualisys Track Manager (QTM) 6DOF TSV exports, read with their header as QTM writes it.

Layout: metadata lines `KEY<TAB>value...` (NO_OF_FRAMES, FREQUENCY, BODY_NAMES, ...), then one
column-header line where each body's name prefixes only the first column of its block
(`RB1 X<TAB>Y<TAB>Z<TAB>Roll<TAB>...<TAB>Rot[8]<TAB><TAB>RB2 X...`), then data rows. Columns become
`<body> <field>` (e.g. `PCube X`, `PCube Rot[3]`); `Frame` and `Time` columns, when exported, keep
their names; empty separator columns are dropped. Numeric metadata (FREQUENCY, NO_OF_FRAMES, ...)
become table extras, so a mapping can take the rate from `FREQUENCY` (`[time] rate_from`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from workbench.errors import MappingError
from workbench.io.tables import Table
from workbench.io.text import numeric_columns, parse_rows, read_lines

_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
PLAIN_COLUMNS = ("Frame", "Time", "SMPTE")


def read_header(path: Path, lines: list[str]) -> tuple[dict[str, list[str]], int]:
    """(metadata key -> values, index of the column-header line)."""
    meta: dict[str, list[str]] = {}
    for i, line in enumerate(lines):
        fields = line.split("\t")
        if _KEY.match(fields[0]):
            meta[fields[0]] = [f for f in fields[1:] if f != ""]
            continue
        return meta, i
    raise MappingError(
        f"{path}: QTM 6D export: expected a column header after the metadata, got none"
    )


def column_names(path: Path, header: list[str], bodies: list[str], line: int) -> list[str]:
    """`<body> <field>` for every column of the header line ('' for empty separators)."""
    names, body = [], None
    for j, cell in enumerate(header):
        cell = cell.strip()
        if not cell:
            names.append("")
            continue
        if cell in PLAIN_COLUMNS:
            names.append(cell)
            body = None
            continue
        starts = [b for b in bodies if cell.startswith(b + " ")]
        if starts:
            body = max(starts, key=len)
            names.append(f"{body} {cell[len(body) + 1 :]}")
        elif body is None:
            raise MappingError(
                f"{path}: QTM header (line {line + 1}) column {j} {cell!r}: expected a body name "
                f"of BODY_NAMES {bodies} before it (a block starts with '<body> X'), got none"
            )
        else:
            names.append(f"{body} {cell}")
    return names


def read_qtm6d(path: Path) -> Table:
    """A Table of a QTM 6D export with header (see the module docstring)."""
    lines = read_lines(path)
    meta, start = read_header(path, lines)
    if "BODY_NAMES" not in meta:
        raise MappingError(
            f"{path}: QTM 6D export: expected a BODY_NAMES metadata line, got keys {sorted(meta)} "
            "(a headerless export needs format = 'tsv' with [text] header = false)"
        )
    bodies = meta["BODY_NAMES"]
    header = lines[start].split("\t")
    names = column_names(path, header, bodies, start)
    rows = parse_rows(path, lines[start + 1 :], "\t", start + 1)
    if len(rows[0]) != len(header):
        raise MappingError(
            f"{path}: QTM data rows have {len(rows[0])} fields, the header (line {start + 1}) "
            f"{len(header)}"
        )
    keep = [j for j, n in enumerate(names) if n]
    dup = sorted({names[j] for j in keep if [names[k] for k in keep].count(names[j]) > 1})
    if dup:
        raise MappingError(f"{path}: QTM header: expected unique column names, got {dup} twice")
    cols, _ = numeric_columns(
        path,
        [[r[j] for j in keep] for r in rows],
        [names[j] for j in keep],
        drop_empty=False,
        first_line=start + 1,
    )
    extras = {}
    for key, values in meta.items():
        try:
            extras[key] = np.array([float(v) for v in values])
        except ValueError:
            continue
    if "NO_OF_FRAMES" in extras and extras["NO_OF_FRAMES"].size == 1:
        expected = int(extras["NO_OF_FRAMES"][0])
        if expected != len(rows):
            raise MappingError(
                f"{path}: QTM header NO_OF_FRAMES = {expected}, the file has {len(rows)} data "
                "rows (truncated?)"
            )
    for key, arr in extras.items():
        if arr.size == 1:
            extras[key] = arr.reshape(())
    return Table(path, cols, extras)
