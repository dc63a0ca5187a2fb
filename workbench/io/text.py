"""Delimited text tables that are not a plain header + rows file: headerless (names or positions
from the mapping), metadata lines to skip (a count, or up to a marker line), empty separator
columns dropped. Knows nothing about mappings beyond the layout options it is given."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.errors import MappingError, name_list
from workbench.io.tables import Table


def read_lines(path: Path) -> list[str]:
    """The file's lines without line endings (CRLF or LF); MappingError if not UTF-8 text."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise MappingError(f"{path}: expected UTF-8 text, got undecodable bytes: {exc}") from None


def skip_lines(
    path: Path, lines: list[str], *, skip_rows: int = 0, until: str | None = None
) -> int:
    """Index of the first line after the skipped ones: `skip_rows` lines, or every line up to and
    including the first that starts with `until`."""
    if until is None:
        if skip_rows > len(lines):
            raise MappingError(
                f"{path}: text.skip_rows: expected at most {len(lines)} (the file's lines), "
                f"got {skip_rows}"
            )
        return skip_rows
    for i, line in enumerate(lines):
        if line.startswith(until):
            return i + 1
    raise MappingError(
        f"{path}: text.skip_until: expected a line starting with {until!r}, found none in "
        f"{len(lines)} lines (first: {lines[0][:60]!r})"
        if lines
        else f"{path}: empty file"
    )


def parse_rows(
    path: Path, lines: Sequence[str], delimiter: str, first_line: int
) -> list[list[str]]:
    """Split data lines into fields (blank lines at the end ignored); ragged rows refused."""
    rows = [line.split(delimiter) for line in lines]
    while rows and rows[-1] == [""]:
        rows.pop()
    if not rows:
        raise MappingError(f"{path}: expected data rows after line {first_line}, got none")
    width = len(rows[0])
    for i, fields in enumerate(rows):
        if len(fields) != width:
            raise MappingError(
                f"{path}: row {i} (line {first_line + i + 1}): expected {width} fields (as the "
                f"first data row), got {len(fields)}: {delimiter.join(fields)[:80]!r}"
            )
    return rows


def numeric_columns(
    path: Path, rows: list[list[str]], names: Sequence[str], *, drop_empty: bool, first_line: int
) -> tuple[dict[str, np.ndarray], list[int]]:
    """name -> (N,) floats of every kept column, and the raw positions kept. A column is dropped
    (with `drop_empty`) when every field is blank; a blank among numbers is a NaN, refused later
    by the episode checks with its row."""
    fields = np.array(rows, dtype=object)
    blank = np.vectorize(lambda v: not v.strip(), otypes=[bool])(fields)
    keep = [j for j in range(fields.shape[1]) if not (drop_empty and blank[:, j].all())]
    if len(names) != len(keep):
        raise MappingError(
            f"{path}: expected {len(names)} columns (names {name_list(names, 8)}), the file has "
            f"{len(keep)} non-empty columns (of {fields.shape[1]} fields per row)"
        )
    cols = {}
    for name, j in zip(names, keep, strict=True):
        col = fields[:, j]
        try:
            cols[name] = np.array([float(v) if v.strip() else np.nan for v in col])
        except ValueError:
            for i, v in enumerate(col):
                try:
                    float(v) if v.strip() else None
                except ValueError:
                    raise MappingError(
                        f"{path}: column {name!r} (position {j}) row {i} (line "
                        f"{first_line + i + 1}): expected a number, got {v!r}"
                    ) from None
            raise
    return cols, keep


def read_text_table(path: Path, delimiter: str, options) -> Table:
    """A Table from a delimited file laid out as `options` (`workbench.io.mapping.TextOptions`).

    Headerless files name their non-empty columns `options.names` in order, or `c<position>`
    (the raw field position, counting dropped empty columns) without names.
    """
    lines = read_lines(path)
    start = skip_lines(path, lines, skip_rows=options.skip_rows, until=options.skip_until)
    if options.header:
        if start >= len(lines):
            raise MappingError(f"{path}: expected a header row after line {start}, got none")
        header = [h.strip() for h in lines[start].split(delimiter)]
        rows = parse_rows(path, lines[start + 1 :], delimiter, start + 1)
        if len(header) != len(rows[0]):
            raise MappingError(
                f"{path}: header (line {start + 1}): expected {len(rows[0])} names (as the data "
                f"rows), got {len(header)}"
            )
        keep_named = [j for j, h in enumerate(header) if h]
        named = {header[j]: j for j in keep_named}
        if len(named) != len(keep_named):
            raise MappingError(f"{path}: header: expected unique column names, got {header}")
        rows = [[r[j] for j in keep_named] for r in rows]
        cols, _ = numeric_columns(path, rows, list(named), drop_empty=False, first_line=start + 1)
        return Table(path, cols)
    rows = parse_rows(path, lines[start:], delimiter, start)
    if options.names:
        names = list(options.names)
    else:
        fields = len(rows[0])
        nonblank = [
            j for j in range(fields) if not options.drop_empty or any(r[j].strip() for r in rows)
        ]
        names = [f"c{j}" for j in nonblank]
    cols, _ = numeric_columns(path, rows, names, drop_empty=options.drop_empty, first_line=start)
    return Table(path, cols)
