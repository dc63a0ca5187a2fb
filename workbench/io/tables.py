"""Read raw tabular recordings (CSV, TSV, NPZ, Parquet) into named float columns.

Readers know nothing about MuJoCo or mappings: they return a `Table` of columns.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import numpy as np

from workbench.errors import MappingError, name_list

FORMATS = ("csv", "tsv", "npz", "parquet")
# formats a mapping may name: the file formats plus Qualisys QTM 6D exports (a .tsv with header)
MAPPING_FORMATS = (*FORMATS, "qtm6d")


@dataclasses.dataclass(frozen=True)
class Table:
    """Named columns of one recording file.

    Attributes:
      path: the file read.
      columns: name -> (N,) float64 values, in file order.
      extras: other arrays in the file (NPZ keys that are not columns, e.g. `offsets`).
    """

    path: Path
    columns: dict[str, np.ndarray]
    extras: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return next(iter(self.columns.values())).shape[0] if self.columns else 0

    def column(self, name: str, *, purpose: str) -> np.ndarray:
        """(N,) values of a column; a missing one names the file, the purpose and the valid names."""
        if name not in self.columns and name in self.extras:
            extra = self.extras[name]
            raise MappingError(
                f"{self.path}: column {name!r} (needed for {purpose}): expected numbers in "
                f"{self.num_rows} rows, got an array of dtype {extra.dtype} and shape "
                f"{extra.shape}; columns are {name_list(self.columns)}"
            )
        if name not in self.columns:
            raise MappingError(
                f"{self.path}: column {name!r} (needed for {purpose}) not found; "
                f"columns are {name_list(self.columns)}"
            )
        return self.columns[name]

    def extra(self, key: str, *, purpose: str) -> np.ndarray:
        if key not in self.extras and key not in self.columns:
            raise MappingError(
                f"{self.path}: array {key!r} (needed for {purpose}) not found; "
                f"arrays are {name_list([*self.extras, *self.columns])}"
            )
        return self.extras.get(key, self.columns.get(key))


def infer_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "txt":
        return "csv"
    if suffix not in FORMATS:
        raise MappingError(
            f"{path}: format: expected one of {FORMATS} (from the file extension or the "
            f"mapping's `format`), got {suffix!r}"
        )
    return suffix


def read_table(
    path: str | Path,
    *,
    fmt: str | None = None,
    array: str | None = None,
    columns_from: str | None = None,
    column_names: list[str] | None = None,
    text=None,
) -> Table:
    """Read one file into a Table.

    Args:
      path: CSV/TSV (header row), NPZ or Parquet file.
      fmt: format override; default from the extension.
      array: NPZ only: key of a 2-D (N, k) array whose columns are named by `columns_from`
        (an NPZ key of k strings) or `column_names`. Without it every NPZ key whose first
        dimension is the common row count becomes columns (`key` or `key[i]`).
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"recording file: expected an existing file, got {str(path)!r}")
    fmt = fmt or infer_format(path)
    try:
        if fmt == "qtm6d":
            from workbench.io.qtm import read_qtm6d

            return read_qtm6d(path)
        if fmt in ("csv", "tsv") and text is not None and not text.plain:
            from workbench.io.text import read_text_table

            return read_text_table(path, "\t" if fmt == "tsv" else ",", text)
        if fmt in ("csv", "tsv"):
            return _read_delimited(path, "\t" if fmt == "tsv" else ",")
        if fmt == "parquet":
            return _read_parquet(path)
        if fmt == "npz":
            return _read_npz(path, array, columns_from, column_names)
    except MappingError:
        raise
    except Exception as exc:  # corrupt file: say which and why
        raise MappingError(f"{path}: cannot read as {fmt}: {type(exc).__name__}: {exc}") from exc
    raise MappingError(f"{path}: format: expected one of {MAPPING_FORMATS}, got {fmt!r}")


def _numeric(path: Path, name: str, values) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.asarray(values, dtype=object)
        for row, v in enumerate(arr):
            try:
                float(v)
            except (TypeError, ValueError):
                raise MappingError(
                    f"{path}: column {name!r} row {row}: expected a number, got {v!r}"
                ) from None
        raise


def _ragged_row(path: Path, delimiter: str) -> str:
    """Where a delimited file's rows stop matching its header's field count ('' if nowhere)."""
    import csv

    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, [])
            for row, fields in enumerate(reader):
                if fields and len(fields) != len(header):
                    return (
                        f"row {row} (line {reader.line_num}): expected {len(header)} fields "
                        f"(as the header), got {len(fields)}: {delimiter.join(fields)[:80]!r}"
                    )
    except (UnicodeDecodeError, csv.Error) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def _read_delimited(path: Path, delimiter: str) -> Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if path.stat().st_size == 0:
        raise MappingError(f"{path}: expected a header row and data rows, got an empty file")
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        where = _ragged_row(path, delimiter) or str(exc)
        kind = "csv" if delimiter == "," else "tsv"
        raise MappingError(f"{path}: cannot read as {kind}: {where}") from None
    header = [c.strip() for c in table.column_names]
    if len(set(header)) != len(header):
        raise MappingError(f"{path}: header: expected unique column names, got {header}")
    cols = {}
    for name, col in zip(header, table.columns, strict=True):
        cols[name] = _numeric(path, name, col.to_numpy(zero_copy_only=False))
    return Table(path, cols)


def _read_parquet(path: Path) -> Table:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    cols: dict[str, np.ndarray] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        arr = col.to_numpy(zero_copy_only=False)
        if arr.dtype == object and arr.size and np.ndim(arr[0]) == 1:  # list column -> name[i]
            width = len(arr[0])
            for row, a in enumerate(arr):
                if a is None or np.ndim(a) != 1 or len(a) != width:
                    got = "null" if a is None else f"{np.size(a)} values"
                    raise MappingError(
                        f"{path}: list column {name!r} row {row}: expected {width} values "
                        f"(as row 0), got {got}"
                    )
            stacked = np.stack([_numeric(path, name, a) for a in arr])
            for i in range(stacked.shape[1]):
                cols[f"{name}[{i}]"] = stacked[:, i]
        else:
            cols[name] = _numeric(path, name, arr)
    return Table(path, cols)


def _read_npz(
    path: Path, array: str | None, columns_from: str | None, column_names: list[str] | None
) -> Table:
    try:
        npz = np.load(path, allow_pickle=False)
        data = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise MappingError(f"{path}: cannot read as npz: {exc}") from exc
    if array is not None:
        if array not in data:
            raise MappingError(f"{path}: npz array {array!r} not found; keys are {name_list(data)}")
        block = np.asarray(data.pop(array))
        if block.ndim != 2:
            raise MappingError(
                f"{path}: npz array {array!r}: expected 2-D (N, k), got {block.shape}"
            )
        if columns_from is not None:
            if columns_from not in data:
                raise MappingError(
                    f"{path}: npz key {columns_from!r} (column names) not found; keys are "
                    f"{name_list(data)}"
                )
            names = [str(c) for c in data.pop(columns_from)]
        elif column_names is not None:
            names = list(column_names)
        else:
            names = [f"{array}[{i}]" for i in range(block.shape[1])]
        if len(names) != block.shape[1]:
            raise MappingError(
                f"{path}: npz array {array!r}: expected {block.shape[1]} column names, "
                f"got {len(names)}"
            )
        cols = {n: _numeric(path, n, block[:, i]) for i, n in enumerate(names)}
        return Table(path, cols, data)
    # Every key sharing the most common leading dimension becomes columns.
    lengths = [v.shape[0] for v in data.values() if v.ndim >= 1 and v.dtype.kind in "fiu"]
    if not lengths:
        raise MappingError(f"{path}: npz: expected numeric arrays, got keys {name_list(data)}")
    n = max(set(lengths), key=lengths.count)
    cols, extras = {}, {}
    for key, v in data.items():
        if v.ndim in (1, 2) and v.shape[0] == n and v.dtype.kind in "fiu":
            if v.ndim == 1:
                cols[key] = v.astype(np.float64)
            else:
                for i in range(v.shape[1]):
                    cols[f"{key}[{i}]"] = v[:, i].astype(np.float64)
        else:
            extras[key] = v
    return Table(path, cols, extras)
