"""Hostile inputs to every recording/mapping path: each case asserts the error type and that the
message names the file (or option), the field and the actual value."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from workbench.episode import Episode, Signal
from workbench.errors import EpisodeError, MappingError
from workbench.io import load_episodes, load_mapping, parse_mapping, parse_selection, read_table
from workbench.paths import assets_root

FORMATS = ("csv", "tsv", "parquet", "npz")

BASE = """
[time]
column = "t"
[signals.qpos]
columns = ["a", "b"]
names = ["j1", "j2"]
"""


def _names(message: str, *words: str) -> None:
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def _write(path: Path, columns: dict[str, np.ndarray]) -> Path:
    """Write `columns` in the format given by the file extension."""
    fmt = path.suffix.lstrip(".")
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        n = len(next(iter(columns.values())))
        lines = [sep.join(columns)]
        lines += [sep.join(repr(float(columns[k][i])) for k in columns) for i in range(n)]
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), path)
    else:
        np.savez(path, **columns)
    return path


def _mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- mapping schema

MAPPING_CASES = [
    # (id, toml text, words the message must hold besides the file)
    ("top-typo", 'patern = "*.csv"\n' + BASE, ["unknown keys ['patern']", "'pattern'"]),
    (
        "time-typo",
        BASE.replace('column = "t"', 'column = "t"\nscael = 0.001'),
        ["time", "unknown keys ['scael']", "'scale'", "'max_gap_s'"],
    ),
    (
        "split-typo",
        BASE + '[split]\ncolum = "episode"\n',
        ["split", "unknown keys ['colum']", "'column'", "'id_format'"],
    ),
    (
        "table-typo",
        'format = "npz"\n[table]\narrays = "data"\n' + BASE,
        ["table", "unknown keys ['arrays']", "'array'", "'columns_from'"],
    ),
    (
        "signal-typo",
        BASE + 'colums = ["c"]\n',
        ["signals.qpos", "unknown keys ['colums']", "'columns'"],
    ),
    (
        "signal-name-qvle",
        BASE + '[signals.qvle]\ncolumns = ["a"]\n',
        ["[signals.qvle]", "unknown signal name 'qvle'", "did you mean 'qvel'", "'qfrc_actuator'"],
    ),
    (
        "signal-name-unknown",
        BASE + '[signals.slider]\ncolumns = ["a"]\n',
        ["unknown signal name 'slider'", "'sensor:<name>'", "'body_pose:<name>'"],
    ),
    (
        "signal-name-empty-prefix",
        BASE + '[signals."sensor:"]\ncolumns = ["a"]\n',
        ["unknown signal name 'sensor:'", "'sensor:<name>'"],
    ),
    (
        "quat-string",
        BASE.replace('["a", "b"]', '["a", "b", "c", "d"]').replace(
            '["j1", "j2"]', '["j1", "j2", "j3", "j4"]'
        )
        + 'quat_xyzw = "3,4,5,6"\n',
        ["signals.qpos.quat_xyzw", "list of 4 distinct integers", "'3,4,5,6'"],
    ),
    (
        "quat-repeated",
        BASE.replace('["a", "b"]', '["a", "b", "c", "d"]').replace(
            '["j1", "j2"]', '["j1", "j2", "j3", "j4"]'
        )
        + "quat_xyzw = [0, 0, 1, 2]\n",
        ["signals.qpos.quat_xyzw", "[0, 4)", "[0, 0, 1, 2]"],
    ),
    (
        "quat-float",
        BASE.replace('["a", "b"]', '["a", "b", "c", "d"]').replace(
            '["j1", "j2"]', '["j1", "j2", "j3", "j4"]'
        )
        + "quat_xyzw = [0.5, 1, 2, 3]\n",
        ["signals.qpos.quat_xyzw[0]", "expected an integer", "0.5"],
    ),
    ("scale-string", BASE + 'scale = "2"\n', ["signals.qpos.scale", "expected a number", "'2'"]),
    (
        "scale-list-strings",
        BASE + 'scale = ["1", "2"]\n',
        ["signals.qpos.scale[0]", "expected a number", "'1'"],
    ),
    ("scale-nan", BASE + "scale = nan\n", ["signals.qpos.scale", "finite", "nan"]),
    (
        "offset-length",
        BASE + "offset = [1, 2, 3]\n",
        ["signals.qpos.offset", "expected 1 or 2 values", "got 3"],
    ),
    (
        "columns-not-list",
        BASE.replace('columns = ["a", "b"]', 'columns = "a"'),
        ["signals.qpos.columns", "list of non-empty strings", "'a'"],
    ),
    (
        "names-not-strings",
        BASE.replace('names = ["j1", "j2"]', "names = [1, 2]"),
        ["signals.qpos.names", "list of non-empty strings", "[1, 2]"],
    ),
    (
        "names-duplicate",
        BASE.replace('names = ["j1", "j2"]', 'names = ["j1", "j1"]'),
        ["signals.qpos.names", "unique", "'j1'"],
    ),
    (
        "names-length",
        BASE.replace('names = ["j1", "j2"]', 'names = ["j1"]'),
        ["signals.qpos.names", "expected 2 names", "got 1"],
    ),
    ("unit-number", BASE + "unit = 3\n", ["signals.qpos.unit", "expected a string", "3"]),
    ("frame-bool", BASE + "frame = true\n", ["signals.qpos.frame", "expected a string", "True"]),
    (
        "from-unit-unknown",
        BASE + 'from_unit = "furlong"\nunit = "m"\n',
        ["signals.qpos", "'furlong'->'m'", "deg->rad"],
    ),
    ("pattern-number", "pattern = 5\n" + BASE, ["pattern", "non-empty string", "5"]),
    ("pattern-absolute", 'pattern = "/etc/*.csv"\n' + BASE, ["pattern", "relative", "/etc/*.csv"]),
    ("pattern-parent", 'pattern = "../*.csv"\n' + BASE, ["pattern", "relative", "../*.csv"]),
    ("format-unknown", 'format = "xlsx"\n' + BASE, ["format", "'csv'", "'parquet'", "'xlsx'"]),
    ("format-number", "format = 1\n" + BASE, ["format", "non-empty string", "1"]),
    ("metadata-string", 'metadata = "arm"\n' + BASE, ["metadata", "expected a table", "'arm'"]),
    (
        "metadata-date",
        BASE + "[metadata]\nrecorded = 2024-01-02\n",
        ["metadata.recorded", "quote dates", "2024"],
    ),
    (
        "metadata-reserved",
        BASE + '[metadata]\nfile = "x.csv"\n',
        ["metadata", "['file']", "reserved"],
    ),
    ("time-scale-zero", BASE + "", ["time.scale", "> 0", "got 0"]),
    ("time-scale-negative", BASE, ["time.scale", "> 0", "-0.001"]),
    ("time-scale-string", BASE, ["time.scale", "expected a number", "'ms'"]),
    ("time-scale-inf", BASE, ["time.scale", "finite", "inf"]),
    ("time-rate-negative", BASE, ["time.rate_hz", "> 0", "-5"]),
    ("time-rate-string", BASE, ["time.rate_hz", "expected a number", "'fast'"]),
    ("time-max-gap-zero", BASE, ["time.max_gap_s", "> 0", "got 0"]),
    ("time-max-gap-string", BASE, ["time.max_gap_s", "expected a number", "'2'"]),
    ("time-column-number", BASE, ["time.column", "non-empty string", "3"]),
    ("time-scale-with-rate", BASE, ["time.scale", "rate_hz = 100", "scale = 0.5"]),
    ("time-both", BASE, ["[time]", "exactly one of", "'rate_hz': 100"]),
    ("time-missing", BASE, ["[time]", "exactly one of", "no [time] table"]),
    ("time-not-table", BASE, ["time", "expected a table", "5"]),
    (
        "id-format-unknown-field",
        BASE + '[split]\ncolumn = "g"\nid_format = "run_{foo}"\n',
        ["split.id_format", "{foo}", "'run_{foo}'", "'stem', 'index', 'id'"],
    ),
    (
        "id-format-positional",
        BASE + '[split]\ncolumn = "g"\nid_format = "run_{}"\n',
        ["split.id_format", "positional", "'run_{}'", "'stem'"],
    ),
    (
        "id-format-bad-spec",
        BASE + '[split]\ncolumn = "g"\nid_format = "{index:q}"\n',
        ["split.id_format", "invalid format string", "'{index:q}'"],
    ),
    (
        "id-format-number",
        BASE + '[split]\ncolumn = "g"\nid_format = 3\n',
        ["split.id_format", "non-empty string", "3"],
    ),
    (
        "ids-from-without-offsets",
        BASE + '[split]\nids_from = "ids"\n',
        ["split.ids_from", "offsets_from", "'ids'"],
    ),
    (
        "split-both",
        BASE + '[split]\ncolumn = "g"\noffsets_from = "o"\n',
        ["[split]", "one of", "'o'"],
    ),
    ("split-not-table", 'split = "g"\n' + BASE, ["split", "expected a table", "'g'"]),
    (
        "table-columns-from-alone",
        '[table]\ncolumns_from = "names"\n' + BASE,
        ["table.columns_from", "table.array", "'names'"],
    ),
    (
        "table-for-csv",
        'format = "csv"\n[table]\narray = "data"\n' + BASE,
        ["[table]", "npz", "'csv'", "['array']"],
    ),
    ("signals-missing", "[time]\nrate_hz = 1\n", ["[signals]", "at least one", "None"]),
    ("signal-not-table", "signals = {qpos = 1}\n[time]\nrate_hz = 1\n", ["signals.qpos", "1"]),
    ("invalid-toml", "[time\nrate_hz = 1\n", ["invalid TOML", "line 1"]),
]

# cases whose text is built from the [time] table (BASE puts it first)
TIME_TABLES = {
    "time-scale-zero": 'column = "t"\nscale = 0',
    "time-scale-negative": 'column = "t"\nscale = -0.001',
    "time-scale-string": 'column = "t"\nscale = "ms"',
    "time-scale-inf": 'column = "t"\nscale = inf',
    "time-rate-negative": "rate_hz = -5",
    "time-rate-string": 'rate_hz = "fast"',
    "time-max-gap-zero": 'column = "t"\nmax_gap_s = 0',
    "time-max-gap-string": 'column = "t"\nmax_gap_s = "2"',
    "time-column-number": "column = 3",
    "time-scale-with-rate": "rate_hz = 100\nscale = 0.5",
    "time-both": 'column = "t"\nrate_hz = 100',
}


def _mapping_text(case: str, text: str) -> str:
    if case in TIME_TABLES:
        return text.replace('column = "t"', TIME_TABLES[case], 1)
    if case == "time-missing":
        return text.replace('[time]\ncolumn = "t"\n', "")
    if case == "time-not-table":
        return "time = 5\n" + text.replace('[time]\ncolumn = "t"\n', "")
    return text


@pytest.mark.parametrize(
    ("case", "text", "words"), MAPPING_CASES, ids=[c[0] for c in MAPPING_CASES]
)
def test_mapping_schema(tmp_path, case, text, words):
    path = _mapping_file(tmp_path, _mapping_text(case, text))
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    _names(str(info.value), str(path), *words)


def test_signal_names_accepted():
    doc = {
        "time": {"rate_hz": 10},
        "signals": {
            name: {"columns": ["a"]}
            for name in ("qpos", "qvel", "ctrl", "qfrc_actuator", "sensor:imu", "body_pose:cube")
        },
    }
    assert parse_mapping(doc).signal_names() == [
        "qpos",
        "qvel",
        "ctrl",
        "qfrc_actuator",
        "sensor:imu",
        "body_pose:cube",
    ]


@pytest.mark.parametrize("fmt", ["{stem}_{index:03d}", "toss_{id:03d}", "{stem}-{id}-{index}"])
def test_valid_id_formats_pass(fmt):
    m = parse_mapping(
        {
            "time": {"rate_hz": 10},
            "split": {"column": "g", "id_format": fmt},
            "signals": {"qpos": {"columns": ["a"]}},
        }
    )
    assert m.split.id_format == fmt


def test_python_mapping_not_a_dict():
    with pytest.raises(MappingError, match=r"inline: \(top level\): expected a table, got list"):
        parse_mapping([1, 2], source="inline")


# --------------------------------------------------------------------------- recording values

T = np.arange(8) * 0.02  # 50 Hz
A = np.linspace(0.0, 0.7, 8)
B = np.linspace(1.0, 0.3, 8)


def _columns(**changes: np.ndarray) -> dict[str, np.ndarray]:
    cols = {"t": T.copy(), "a": A.copy(), "b": B.copy()}
    cols.update(changes)
    return cols


def _with(values: np.ndarray, row: int, value: float) -> np.ndarray:
    out = values.copy()
    out[row] = value
    return out


def _quat_columns(norm: float) -> dict[str, np.ndarray]:
    q = np.tile([0.0, 0.0, 0.6, 0.8], (8, 1))  # x, y, z, w of unit norm
    q[5] *= norm
    return {"t": T.copy(), "qx": q[:, 0], "qy": q[:, 1], "qz": q[:, 2], "qw": q[:, 3]}


QUAT_MAPPING = """
[time]
column = "t"
[signals."body_pose:cube"]
columns = ["qx", "qy", "qz", "qw"]
quat_xyzw = [0, 1, 2, 3]
"""

VALUE_CASES = [
    # (id, columns, mapping text, error type, words)
    (
        "time-1e300",
        _columns(t=_with(T, 3, 1e300)),
        BASE,
        EpisodeError,
        ["episode", "times", "1e+300", "row 3", "column 't'"],
    ),
    (
        "time-overflow-after-scale",
        _columns(t=_with(T, 3, 1e300)),
        BASE.replace('column = "t"', 'column = "t"\nscale = 1e10'),
        EpisodeError,
        ["times", "expected finite", "inf", "row 3", "column 't' * 1e+10"],
    ),
    (
        "time-nan",
        _columns(t=_with(T, 2, np.nan)),
        BASE,
        EpisodeError,
        ["times", "expected finite", "nan", "row 2"],
    ),
    (
        "time-duplicate",
        _columns(t=_with(T, 4, T[3])),
        BASE,
        EpisodeError,
        ["times", "duplicate time", "rows 3->4", "0.06"],
    ),
    (
        "time-decreasing",
        _columns(t=_with(T, 4, 0.01)),
        BASE,
        EpisodeError,
        ["times", "decreasing time", "rows 3->4", "0.01"],
    ),
    (
        "clock-jump-99s",
        _columns(t=np.concatenate([T[:5], T[5:] + 99.0])),
        BASE,
        EpisodeError,
        ["episode", "clock jump of 99.02 s", "rows 4 and 5", "0.08 -> 99.1", "max_gap_s"],
    ),
    (
        "clock-jump-over-max-gap",
        _columns(t=np.concatenate([T[:5], T[5:] + 2.0])),
        BASE.replace('column = "t"', 'column = "t"\nmax_gap_s = 1.0'),
        EpisodeError,
        ["clock jump of 2.02 s", "rows 4 and 5", "time.max_gap_s = 1 s"],
    ),
    (
        "value-inf",
        _columns(b=_with(B, 3, np.inf)),
        BASE,
        EpisodeError,
        ["signal 'qpos' column 'j2'", "expected finite", "inf", "row 3", "raw column 'b'"],
    ),
    (
        "value-nan",
        _columns(a=_with(A, 6, np.nan)),
        BASE,
        EpisodeError,
        ["signal 'qpos' column 'j1'", "expected finite", "nan", "row 6"],
    ),
    (
        "value-overflow-after-scale",
        _columns(a=_with(A, 1, 1e300)),
        BASE + "scale = 1e10\n",
        EpisodeError,
        ["signal 'qpos' column 'j1'", "inf", "row 1", "raw value 1e+300 overflowed"],
    ),
    (
        "quaternion-norm-0.05",
        _quat_columns(0.05),
        QUAT_MAPPING,
        EpisodeError,
        [
            "signal 'body_pose:cube'",
            "['qx', 'qy', 'qz', 'qw']",
            "unit norm",
            "norm 0.05",
            "row 5",
        ],
    ),
    (
        "quaternion-all-zero",
        _quat_columns(0.0),
        QUAT_MAPPING,
        EpisodeError,
        ["signal 'body_pose:cube'", "quaternion columns", "all-zero quaternion", "row 5"],
    ),
    (
        "split-column-nan",
        _columns(g=_with(np.zeros(8), 2, np.nan)),
        BASE + '[split]\ncolumn = "g"\n',
        EpisodeError,
        ["split column 'g'", "finite", "nan", "row 2"],
    ),
    (
        "id-format-string-spec-on-float-id",
        _columns(g=np.array([0, 0, 0, 0, 1.5, 1.5, 1.5, 1.5])),
        BASE + '[split]\ncolumn = "g"\nid_format = "run_{id:03d}"\n',
        MappingError,
        ["split.id_format", "'run_{id:03d}'", "1.5", "bad.toml"],
    ),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("case", "columns", "text", "error", "words"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES]
)
def test_recording_values(tmp_path, fmt, case, columns, text, error, words):
    rec = _write(tmp_path / f"rec.{fmt}", columns)
    mapping = _mapping_file(tmp_path, text)
    with pytest.raises(error) as info:
        load_episodes(rec, mapping)
    _names(str(info.value), str(rec), *words)


def test_max_gap_s_allows_a_declared_jump(tmp_path):
    rec = _write(tmp_path / "rec.csv", _columns(t=np.concatenate([T[:5], T[5:] + 99.0])))
    text = BASE.replace('column = "t"', 'column = "t"\nmax_gap_s = 100')
    (ep,) = load_episodes(rec, _mapping_file(tmp_path, text))
    assert ep.duration == pytest.approx(T[-1] + 99.0)


def test_small_jitter_and_unit_quaternions_pass(tmp_path):
    jitter = T + np.array([0, 0.001, -0.001, 0.002, 0, 0.015, 0, 0])  # up to ~2x the step
    (ep,) = load_episodes(
        _write(tmp_path / "rec.csv", _columns(t=jitter)), _mapping_file(tmp_path, BASE)
    )
    assert ep.num_samples == 8
    (ep,) = load_episodes(
        _write(tmp_path / "q.npz", _quat_columns(1.005)), parse_mapping(_toml(QUAT_MAPPING))
    )
    np.testing.assert_allclose(ep.signal("body_pose:cube").values[0], [0.8, 0.0, 0.0, 0.6])


def _toml(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


# --------------------------------------------------------------------------- corrupt files

GOOD = _columns()


def _good_bytes(tmp_path: Path, fmt: str) -> bytes:
    return _write(tmp_path / f"good.{fmt}", GOOD).read_bytes()


def _corrupt(tmp_path: Path, case: str) -> Path:
    fmt, kind = case.split("-", 1)
    path = tmp_path / f"broken.{fmt}"
    sep = "," if fmt == "csv" else "\t"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(np.random.default_rng(3).bytes(700))
    elif kind == "truncated" and fmt in ("csv", "tsv"):  # the last row cut mid-way
        path.write_text(_good_bytes(tmp_path, fmt).decode().rstrip("\n").rsplit(sep, 1)[0])
    elif kind == "truncated":
        good = _good_bytes(tmp_path, fmt)
        path.write_bytes(good[: len(good) * 2 // 3])
    elif kind == "header-only":
        if fmt in ("csv", "tsv"):
            path.write_text(sep.join(GOOD) + "\n")
        else:
            _write(path, {k: np.zeros(0) for k in GOOD})
    elif kind == "ragged":
        path.write_text(f"t{sep}a{sep}b\n0{sep}1{sep}2\n0.02{sep}1{sep}2{sep}9\n0.04{sep}1{sep}2\n")
    elif kind == "non-numeric":
        path.write_text(f"t{sep}a{sep}b\n0{sep}1{sep}2\n0.02{sep}oops{sep}2\n0.04{sep}1{sep}2\n")
    elif kind == "strings":  # a text column where numbers are expected
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"t": T[:3], "a": ["1", "left", "2"], "b": B[:3]}), path)
        else:
            np.savez(path, t=T[:3], a=np.array(["1", "left", "2"]), b=B[:3])
    elif kind == "pickled":
        np.savez(path, t=T[:3], a=np.array([1.0, None, 2.0], dtype=object), b=B[:3])
    elif kind == "ragged-list":
        import pyarrow as pa
        import pyarrow.parquet as pq

        q = pa.array([[1.0, 2.0], [3.0], [4.0, 5.0]])
        pq.write_table(pa.table({"t": T[:3], "a": A[:3], "b": B[:3], "q": q}), path)
    elif kind == "not-a-zip":
        path.write_text("t,a,b\n0,1,2\n")
    return path


CORRUPT_CASES = [
    # (case, error type, words besides the file)
    ("csv-empty", MappingError, ["empty file"]),
    ("csv-garbage", MappingError, ["cannot read as csv"]),
    ("csv-truncated", MappingError, ["cannot read as csv", "row 7", "expected 3 fields", "got 2"]),
    ("tsv-truncated", MappingError, ["cannot read as tsv", "row 7", "expected 3 fields", "got 2"]),
    ("csv-header-only", EpisodeError, ["expected data rows, got none", "'t'"]),
    ("csv-ragged", MappingError, ["row 1 (line 3)", "expected 3 fields", "got 4"]),
    ("csv-non-numeric", MappingError, ["column 'a' row 1", "expected a number", "'oops'"]),
    ("tsv-empty", MappingError, ["empty file"]),
    ("tsv-garbage", MappingError, ["cannot read as tsv"]),
    ("tsv-header-only", EpisodeError, ["expected data rows, got none"]),
    ("tsv-ragged", MappingError, ["row 1 (line 3)", "expected 3 fields", "got 4"]),
    ("tsv-non-numeric", MappingError, ["column 'a' row 1", "'oops'"]),
    ("npz-empty", MappingError, ["cannot read as npz"]),
    ("npz-garbage", MappingError, ["cannot read as npz"]),
    ("npz-truncated", MappingError, ["cannot read as npz"]),
    ("npz-not-a-zip", MappingError, ["cannot read as npz"]),
    ("npz-header-only", EpisodeError, ["expected data rows, got none"]),
    ("npz-strings", MappingError, ["column 'a'", "signal 'qpos'", "expected numbers", "<U4"]),
    ("npz-pickled", MappingError, ["cannot read as npz", "pickled"]),
    ("parquet-empty", MappingError, ["cannot read as parquet", "0 bytes"]),
    ("parquet-garbage", MappingError, ["cannot read as parquet"]),
    ("parquet-truncated", MappingError, ["cannot read as parquet"]),
    ("parquet-header-only", EpisodeError, ["expected data rows, got none"]),
    ("parquet-strings", MappingError, ["column 'a' row 1", "expected a number", "'left'"]),
    ("parquet-ragged-list", MappingError, ["list column 'q' row 1", "expected 2 values", "got 1"]),
]


@pytest.mark.parametrize(
    ("case", "error", "words"), CORRUPT_CASES, ids=[c[0] for c in CORRUPT_CASES]
)
def test_corrupt_files(tmp_path, case, error, words):
    path = _corrupt(tmp_path, case)
    with pytest.raises(error) as info:
        load_episodes(path, parse_mapping(_toml(BASE), source="base.toml"))
    _names(str(info.value), str(path), *words)


# --------------------------------------------------------------------------- selection


@pytest.mark.parametrize(
    ("selector", "words"),
    [
        ("", ["episodes", "empty selection ''", "5 episodes"]),
        ("   ", ["episodes", "empty selection '   '", "5 episodes"]),
        ("7", ["episodes", "index 7 out of range for 5 episodes", "0..4"]),
        ("-6", ["episodes", "index -6 out of range for 5 episodes"]),
        ("a:b", ["episodes", "'a:b'", "5 episodes"]),
        ("1-3", ["episodes", "'1-3'", "5 episodes"]),
        ("0,,1", ["episodes", "bad part ''", "5 episodes"]),
        ("0:2:0", ["episodes", "step must not be zero", "'0:2:0'"]),
        ("9:20", ["episodes", "'9:20' matched none of 5 episodes"]),
        (3, ["episodes", "int 3", "5 episodes"]),
    ],
)
def test_selection(selector, words):
    with pytest.raises(MappingError) as info:
        parse_selection(selector, 5)
    _names(str(info.value), *words)


def test_selection_none_and_all_select_everything():
    assert parse_selection(None, 3) == [0, 1, 2]
    assert parse_selection("all", 3) == parse_selection(":", 3) == [0, 1, 2]


def test_empty_selection_through_load_episodes(tmp_path):
    rec = _write(tmp_path / "rec.csv", GOOD)
    with pytest.raises(MappingError, match=r"over 1 episodes, got an empty selection ''"):
        load_episodes(rec, parse_mapping(_toml(BASE)), select="")


# --------------------------------------------------------------------------- arguments, Episode


@pytest.mark.parametrize(
    ("recordings", "mapping", "words"),
    [
        (5, None, ["recordings", "int 5"]),
        ([], None, ["recordings", "got none"]),
        ("rec.csv", 3.5, ["mapping", "float 3.5"]),
    ],
)
def test_load_arguments(tmp_path, recordings, mapping, words):
    mapping = parse_mapping(_toml(BASE)) if mapping is None else mapping
    with pytest.raises(MappingError) as info:
        load_episodes(recordings, mapping)
    _names(str(info.value), *words)


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: Episode("e", ["a", "b"], {}), ["episode 'e'", "times", "expected numbers"]),
        (lambda: Episode("", [0.0, 1.0], {}), ["id", "non-empty string", "''"]),
        (lambda: Episode("e", [0.0, 1.0], [1, 2]), ["episode 'e'", "signals", "list"]),
        (lambda: Episode("e", [0.0, 1.0], {}, "meta"), ["episode 'e'", "metadata", "str"]),
        (lambda: Signal([["x"], ["y"]], ("a",)), ["signal values", "expected numbers"]),
        (lambda: Signal([[1.0], [2.0]], "a"), ["signal columns", "list of names", "'a'"]),
    ],
)
def test_episode_construction(build, words):
    with pytest.raises(EpisodeError) as info:
        build()
    _names(str(info.value), *words)


# --------------------------------------------------------------------------- shipped mappings


def test_shipped_mappings_load_their_bundled_data():
    root = assets_root()
    assert (
        len(load_episodes(root / "data" / "cube_toss", root / "mappings" / "cube_toss.toml")) == 100
    )
    (ep,) = load_episodes(
        root / "data" / "double_pendulum", root / "mappings" / "double_pendulum.toml"
    )
    assert ep.num_samples > 4000


def test_read_table_names_file_on_zip_without_arrays(tmp_path):
    path = tmp_path / "empty.npz"
    with zipfile.ZipFile(path, "w"):
        pass
    with pytest.raises(MappingError) as info:
        read_table(path)
    _names(str(info.value), str(path), "npz", "expected numeric arrays")


# --------------------------------------------------------------------------- command line

CUBE = assets_root() / "mappings" / "cube_toss.toml"


@pytest.mark.parametrize(
    ("case", "old", "new", "words"),
    [
        ("time-typo", "rate_hz = 148.0", "rate_hz = 148.0\nrate = 1", ["time", "['rate']"]),
        (
            "split-typo",
            'offsets_from = "offsets"',
            'offset_from = "offsets"',
            ["split", "['offset_from']"],
        ),
        ("signal-qvle", "[signals.qvel]", "[signals.qvle]", ["[signals.qvle]", "'qvel'"]),
        (
            "id-format",
            'id_format = "toss_{id:03d}"',
            'id_format = "{foo}"',
            ["split.id_format", "{foo}"],
        ),
    ],
)
def test_cli_bad_mapping_exits_2(tmp_path, capsys, case, old, new, words):
    from workbench.cli import main

    text = CUBE.read_text()
    assert old in text
    bad = _mapping_file(tmp_path, text.replace(old, new))
    argv = ["gap", str(assets_root() / "data" / "cube_toss"), "--scene", "cube_toss"]
    rc = main([*argv, "--mapping", str(bad), "--out", str(tmp_path / "out")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    _names(err, str(bad), *words)


def test_cli_empty_episodes_exits_2(tmp_path, capsys):
    from workbench.cli import main

    argv = ["gap", str(assets_root() / "data" / "cube_toss"), "--scene", "cube_toss"]
    rc = main([*argv, "--mapping", str(CUBE), "--episodes", "", "--out", str(tmp_path / "o")])
    assert rc == 2
    _names(capsys.readouterr().err, "error: episodes", "empty selection ''", "100 episodes")


def test_unit_factor_of_a_hand_built_signal_mapping():
    from workbench.io import SignalMapping

    sm = SignalMapping("qpos", ("a",), ("a",), (1.0,), (0.0,), unit="m", from_unit="furlong")
    with pytest.raises(MappingError, match=r"signals.qpos: no conversion 'furlong'->'m'"):
        _ = sm.unit_factor
