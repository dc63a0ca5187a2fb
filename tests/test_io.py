"""Recording readers (CSV/TSV/Parquet/NPZ) and the TOML mapping mechanism in `workbench.io`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from workbench.episode import Episode
from workbench.errors import EpisodeError, MappingError
from workbench.io import load_episodes, load_mapping, parse_mapping, parse_selection, read_table
from workbench.paths import assets_root

DEG = math.pi / 180.0

# One small recording: time in milliseconds, two joint angles in degrees, one slider in mm.
T_MS = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
A_DEG = np.array([0.0, 10.0, 20.0, 30.0, 45.0, 90.0])
B_DEG = np.array([-5.0, -4.0, -3.0, -2.0, -1.0, 0.5])
S_MM = np.array([100.0, 110.0, 120.0, 130.0, 140.0, 150.0])
COLUMNS = {"t_ms": T_MS, "a_deg": A_DEG, "b_deg": B_DEG, "s_mm": S_MM}

MAPPING_TOML = """
pattern = "rec.*"

[time]
column = "t_ms"
scale = 0.001

[metadata]
robot = "toy"

[signals.qpos]
columns = ["a_deg", "b_deg"]
names = ["shoulder", "elbow"]
scale = [2.0, 1.0]
offset = [1.0, -1.0]
from_unit = "deg"
unit = "rad"
frame = "joint"

[signals."sensor:slider"]
columns = ["s_mm"]
names = ["rail"]
offset = 5.0
from_unit = "mm"
unit = "m"
"""


def _write_delimited(path: Path, columns: dict[str, np.ndarray], sep: str) -> Path:
    names = list(columns)
    rows = [sep.join(names)]
    for i in range(len(next(iter(columns.values())))):
        rows.append(sep.join(repr(float(columns[n][i])) for n in names))
    path.write_text("\n".join(rows) + "\n")
    return path


def _write_parquet(path: Path, columns: dict[str, np.ndarray]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), path)
    return path


def _write_mapping(tmp_path: Path, text: str, name: str = "map.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _simple_mapping(**signal) -> object:
    spec = {"columns": ["a"], **signal}
    return parse_mapping({"time": {"column": "t"}, "signals": {"qpos": spec}}, source="inline")


def _expected_qpos() -> np.ndarray:
    return np.stack([(A_DEG * 2.0 + 1.0) * DEG, (B_DEG * 1.0 - 1.0) * DEG], axis=1)


# --------------------------------------------------------------------------- formats + conversion


@pytest.fixture
def four_formats(tmp_path: Path) -> dict[str, Path]:
    return {
        "csv": _write_delimited(tmp_path / "rec.csv", COLUMNS, ","),
        "tsv": _write_delimited(tmp_path / "rec.tsv", COLUMNS, "\t"),
        "parquet": _write_parquet(tmp_path / "rec.parquet", COLUMNS),
        "npz": _save_npz(tmp_path / "rec.npz", **COLUMNS),
    }


def _save_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_four_formats_give_identical_converted_episodes(tmp_path, four_formats):
    mapping = load_mapping(_write_mapping(tmp_path, MAPPING_TOML))
    episodes = {fmt: load_episodes(path, mapping) for fmt, path in four_formats.items()}
    for fmt, eps in episodes.items():
        assert len(eps) == 1, fmt
        ep = eps[0]
        assert ep.id == "rec", fmt
        np.testing.assert_allclose(ep.times, T_MS * 1e-3, rtol=0, atol=1e-15, err_msg=fmt)
        qpos = ep.signal("qpos")
        assert qpos.columns == ("shoulder", "elbow")
        assert qpos.unit == "rad" and qpos.frame == "joint"
        np.testing.assert_allclose(qpos.values, _expected_qpos(), rtol=1e-12, err_msg=fmt)
        slider = ep.signal("sensor:slider")
        assert slider.columns == ("rail",) and slider.unit == "m"
        np.testing.assert_allclose(
            slider.values[:, 0], (S_MM + 5.0) * 1e-3, rtol=1e-12, err_msg=fmt
        )
        assert ep.metadata["robot"] == "toy"
        assert ep.metadata["file"] == str(four_formats[fmt])
        assert ep.metadata["rows"] == [0, 6]
    # spot-check one number by hand: (45 deg * 2 + 1) -> 91 deg in rad
    assert episodes["csv"][0].signal("qpos").values[4, 0] == pytest.approx(91.0 * math.pi / 180.0)
    ref = episodes["csv"][0]
    for fmt in ("tsv", "parquet", "npz"):
        ep = episodes[fmt][0]
        np.testing.assert_array_equal(ep.times, ref.times)
        assert set(ep.signals) == set(ref.signals)
        for name in ref.signals:
            np.testing.assert_array_equal(ep.signals[name].values, ref.signals[name].values)
            assert ep.signals[name].columns == ref.signals[name].columns


def test_folder_with_pattern_lists_recordings(tmp_path, four_formats):
    from workbench.io.load import recording_files

    mapping = load_mapping(_write_mapping(tmp_path, MAPPING_TOML))
    files = recording_files(tmp_path, mapping)  # map.toml is not a recording
    assert [f.name for f in files] == ["rec.csv", "rec.npz", "rec.parquet", "rec.tsv"]
    # all four have the stem "rec" -> duplicate ids are refused
    with pytest.raises(MappingError, match=r"duplicates \['rec'\].*split.id_format"):
        load_episodes(tmp_path, mapping)
    only_csv = parse_mapping({**_toml_dict(MAPPING_TOML), "pattern": "*.csv"})
    (ep,) = load_episodes(tmp_path, only_csv)
    assert ep.metadata["file"] == str(four_formats["csv"])


def _toml_dict(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


def test_duplicate_ids_across_files_are_refused(tmp_path, four_formats):
    mapping = load_mapping(_write_mapping(tmp_path, MAPPING_TOML))
    with pytest.raises(MappingError, match=r"duplicates \['rec'\]"):
        load_episodes([four_formats["csv"], four_formats["npz"]], mapping)


def test_rate_hz_time_axis(tmp_path):
    path = _write_delimited(tmp_path / "r.csv", {"a": A_DEG}, ",")
    mapping = parse_mapping({"time": {"rate_hz": 250.0}, "signals": {"qpos": {"columns": ["a"]}}})
    (ep,) = load_episodes(path, mapping)
    np.testing.assert_allclose(ep.times, np.arange(6) / 250.0)
    assert ep.duration == pytest.approx(5 / 250.0)
    # default names are the raw column names, no unit conversion
    assert ep.signal("qpos").columns == ("a",)
    np.testing.assert_array_equal(ep.signal("qpos").values[:, 0], A_DEG)


def test_unit_conversion_factors():
    for (src, dst), factor in [
        (("deg", "rad"), math.pi / 180),
        (("ms", "s"), 1e-3),
        (("cm", "m"), 1e-2),
    ]:
        m = _simple_mapping(from_unit=src, unit=dst)
        assert m.signals[0].unit_factor == pytest.approx(factor)
    assert _simple_mapping(from_unit="rad", unit="rad").signals[0].unit_factor == 1.0
    assert _simple_mapping(unit="rad").signals[0].unit_factor == 1.0


def test_npz_2d_key_and_parquet_list_column_become_indexed_columns(tmp_path):
    t = np.arange(4) * 0.1
    q = np.arange(8.0).reshape(4, 2)
    npz = _save_npz(tmp_path / "x.npz", t=t, q=q)
    table = read_table(npz)
    assert set(table.columns) == {"t", "q[0]", "q[1]"}
    np.testing.assert_array_equal(table.columns["q[1]"], q[:, 1])

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"t": t, "q": pa.array([list(r) for r in q])}), tmp_path / "x.parquet")
    table = read_table(tmp_path / "x.parquet")
    assert set(table.columns) == {"t", "q[0]", "q[1]"}
    np.testing.assert_array_equal(table.columns["q[0]"], q[:, 0])
    assert table.num_rows == 4


# --------------------------------------------------------------------------- splitting


def test_split_by_column(tmp_path):
    ep_col = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    t = np.array([0.0, 0.1, 0.2, 0.0, 0.1, 0.0, 0.1, 0.2, 0.3])
    a = np.arange(9.0)
    path = _write_delimited(tmp_path / "runs.csv", {"episode": ep_col, "t": t, "a": a}, ",")
    base = {"time": {"column": "t"}, "signals": {"qpos": {"columns": ["a"], "names": ["j"]}}}

    eps = load_episodes(path, parse_mapping({**base, "split": {"column": "episode"}}))
    assert [e.id for e in eps] == ["runs_000", "runs_001", "runs_002"]
    assert [e.num_samples for e in eps] == [3, 2, 4]
    np.testing.assert_array_equal(eps[1].signal("qpos").values[:, 0], [3.0, 4.0])
    np.testing.assert_allclose(eps[2].times, [0.0, 0.1, 0.2, 0.3])
    assert eps[2].metadata["rows"] == [5, 9]

    eps = load_episodes(
        path,
        parse_mapping({**base, "split": {"column": "episode", "id_format": "run-{id}-of-{stem}"}}),
    )
    assert [e.id for e in eps] == ["run-0-of-runs", "run-1-of-runs", "run-2-of-runs"]

    # selection across the split episodes
    eps = load_episodes(path, parse_mapping({**base, "split": {"column": "episode"}}), select="-1")
    assert [e.id for e in eps] == ["runs_002"]
    eps = load_episodes(path, parse_mapping({**base, "split": {"column": "episode"}}), select="0,2")
    assert [e.id for e in eps] == ["runs_000", "runs_002"]


def test_split_npz_offsets_ids_and_2d_table(tmp_path):
    n = 10
    data = np.stack([np.arange(n) * 1.0, np.arange(n) * 10.0, np.arange(n) * -1.0], axis=1)
    path = _save_npz(
        tmp_path / "blocks.npz",
        data=data,
        cols=np.array(["x", "y", "z"]),
        offsets=np.array([0, 3, 7, 10]),
        ids=np.array([5, 9, 12]),
    )
    mapping_path = _write_mapping(
        tmp_path,
        """
format = "npz"
[table]
array = "data"
columns_from = "cols"
[time]
rate_hz = 100.0
[split]
offsets_from = "offsets"
ids_from = "ids"
id_format = "ep_{id:02d}_{index}"
[signals.qpos]
columns = ["y", "x"]
names = ["b", "a"]
scale = 0.5
""",
    )
    eps = load_episodes(path, mapping_path)
    assert [e.id for e in eps] == ["ep_05_0", "ep_09_1", "ep_12_2"]
    assert [e.num_samples for e in eps] == [3, 4, 3]
    np.testing.assert_allclose(eps[1].times, np.arange(4) / 100.0)
    np.testing.assert_allclose(
        eps[1].signal("qpos").values, np.stack([data[3:7, 1] * 0.5, data[3:7, 0] * 0.5], axis=1)
    )
    assert eps[2].metadata["rows"] == [7, 10]

    # without ids_from: ids are the episode indices
    eps = load_episodes(
        path,
        parse_mapping(
            {
                "format": "npz",
                "table": {"array": "data", "columns_from": "cols"},
                "time": {"rate_hz": 10.0},
                "split": {"offsets_from": "offsets", "id_format": "{stem}-{id}"},
                "signals": {"qpos": {"columns": ["z"]}},
            }
        ),
    )
    assert [e.id for e in eps] == ["blocks-0", "blocks-1", "blocks-2"]


def test_split_npz_bad_offsets(tmp_path):
    data = np.zeros((6, 1))
    path = _save_npz(tmp_path / "b.npz", data=data, offsets=np.array([0, 4, 3, 6]))
    mapping = parse_mapping(
        {
            "table": {"array": "data"},
            "time": {"rate_hz": 10.0},
            "split": {"offsets_from": "offsets"},
            "signals": {"qpos": {"columns": ["data[0]"]}},
        }
    )
    with pytest.raises(MappingError, match="split offsets 'offsets'.*from 0 to 6 rows"):
        load_episodes(path, mapping)
    path = _save_npz(tmp_path / "c.npz", data=data, offsets=np.array([0, 3, 6]))
    mapping = parse_mapping(
        {
            "table": {"array": "data"},
            "time": {"rate_hz": 10.0},
            "split": {"offsets_from": "offsets", "ids_from": "nope"},
            "signals": {"qpos": {"columns": ["data[0]"]}},
        }
    )
    with pytest.raises(MappingError, match="'nope'.*split.ids_from.*'offsets'"):
        load_episodes(path, mapping)


def test_npz_table_errors(tmp_path):
    path = _save_npz(
        tmp_path / "d.npz", data=np.zeros((4, 3)), cols=np.array(["a", "b"]), flat=np.zeros(4)
    )
    with pytest.raises(MappingError, match=r"npz array 'missing' not found; keys are .*'data'"):
        read_table(path, array="missing")
    with pytest.raises(MappingError, match=r"expected 3 column names, got 2"):
        read_table(path, array="data", columns_from="cols")
    with pytest.raises(MappingError, match=r"expected 2-D \(N, k\), got \(4,\)"):
        read_table(path, array="flat")
    with pytest.raises(MappingError, match=r"'nocols' \(column names\) not found"):
        read_table(path, array="data", columns_from="nocols")
    table = read_table(path, array="data", column_names=["p", "q", "r"])
    assert list(table.columns) == ["p", "q", "r"]


# --------------------------------------------------------------------------- quaternions


def test_quat_xyzw_reordered_to_wxyz(tmp_path):
    path = _write_delimited(
        tmp_path / "q.csv",
        {
            "t": np.array([0.0, 1.0]),
            "px": np.array([7.0, 7.0]),
            "qx": np.array([0.1, 0.5]),  # unit quaternions: 0.01 + 0.09 + 0.09 + 0.81 = 1
            "qy": np.array([0.3, 0.5]),
            "qz": np.array([0.3, 0.1]),
            "qw": np.array([0.9, 0.7]),
        },
        ",",
    )
    mapping = parse_mapping(
        {
            "time": {"column": "t"},
            "signals": {
                "qpos": {
                    "columns": ["px", "qx", "qy", "qz", "qw"],
                    "names": ["b[0]", "b[3]", "b[4]", "b[5]", "b[6]"],
                    "quat_xyzw": [1, 2, 3, 4],
                }
            },
        }
    )
    (ep,) = load_episodes(path, mapping)
    values = ep.signal("qpos").values
    np.testing.assert_allclose(values[0], [7.0, 0.9, 0.1, 0.3, 0.3])  # px, w, x, y, z
    np.testing.assert_allclose(values[1], [7.0, 0.7, 0.5, 0.5, 0.1])


def test_quat_xyzw_keeps_the_quaternion_values_and_other_columns(tmp_path):
    # Independent of the order, reordering is a permutation of the four quaternion columns.
    path = _write_delimited(
        tmp_path / "q.csv",
        {
            "t": np.array([0.0, 1.0]),
            "px": np.array([7.0, 8.0]),
            "qx": np.array([0.1, 0.5]),  # unit quaternions: 0.01 + 0.09 + 0.09 + 0.81 = 1
            "qy": np.array([0.3, 0.5]),
            "qz": np.array([0.3, 0.1]),
            "qw": np.array([0.9, 0.7]),
        },
        ",",
    )
    mapping = parse_mapping(
        {
            "time": {"column": "t"},
            "signals": {
                "qpos": {"columns": ["px", "qx", "qy", "qz", "qw"], "quat_xyzw": [1, 2, 3, 4]}
            },
        }
    )
    (ep,) = load_episodes(path, mapping)
    values = ep.signal("qpos").values
    np.testing.assert_array_equal(values[:, 0], [7.0, 8.0])
    np.testing.assert_allclose(sorted(values[0, 1:]), [0.1, 0.3, 0.3, 0.9])
    assert ep.signal("qpos").columns == ("px", "qx", "qy", "qz", "qw")


@pytest.mark.parametrize("quat", [[0, 1, 2], [0, 1, 2, 9], [-1, 0, 1, 2]])
def test_quat_xyzw_bad_positions(quat):
    with pytest.raises(MappingError, match=r"quat_xyzw: expected 4 column positions in \[0, 4\)"):
        parse_mapping(
            {
                "time": {"rate_hz": 1.0},
                "signals": {"qpos": {"columns": ["a", "b", "c", "d"], "quat_xyzw": quat}},
            },
            source="m.toml",
        )


# --------------------------------------------------------------------------- parse_selection


@pytest.mark.parametrize(
    ("selector", "n", "expected"),
    [
        ("0:2", 5, [0, 1]),
        ("1", 5, [1]),
        ("0,2", 5, [0, 2]),
        ("-1", 5, [4]),
        ("-5", 5, [0]),
        ("3:", 5, [3, 4]),
        (":2", 5, [0, 1]),
        ("::2", 5, [0, 2, 4]),
        ("0:10", 3, [0, 1, 2]),
        ("1, 0:2, 1", 5, [1, 0]),  # duplicates removed, first occurrence order kept
        (None, 3, [0, 1, 2]),
        ("all", 3, [0, 1, 2]),
        (":", 2, [0, 1]),
    ],
)
def test_parse_selection(selector, n, expected):
    assert parse_selection(selector, n) == expected


@pytest.mark.parametrize(
    "selector", ["x", "1-3", "0:a", "1.5", "0:2:0", "5", "-6", "10:20", "0,,1", "", "  "]
)
def test_parse_selection_rejects(selector):
    with pytest.raises(MappingError, match="episodes"):
        parse_selection(selector, 5)


def test_parse_selection_out_of_range_message():
    with pytest.raises(MappingError, match="index 5 out of range for 5 episodes"):
        parse_selection("5", 5)


def test_parse_selection_too_many_colons():
    with pytest.raises(MappingError):
        parse_selection("1:2:3:4", 5)


def test_select_in_load_episodes(tmp_path):
    path = _write_delimited(
        tmp_path / "s.csv",
        {
            "g": np.array([0, 0, 1, 1, 2, 2]),
            "t": np.array([0, 1, 0, 1, 0, 1.0]),
            "a": np.arange(6.0),
        },
        ",",
    )
    m = parse_mapping(
        {"time": {"column": "t"}, "split": {"column": "g"}, "signals": {"qpos": {"columns": ["a"]}}}
    )
    assert [e.id for e in load_episodes(path, m, select="1:")] == ["s_001", "s_002"]
    with pytest.raises(MappingError, match="episodes"):
        load_episodes(path, m, select="3")


# --------------------------------------------------------------------------- bad input


def test_missing_column_lists_available(tmp_path):
    path = _write_delimited(tmp_path / "m.csv", COLUMNS, ",")
    m = parse_mapping(
        {"time": {"column": "t_ms"}, "signals": {"qpos": {"columns": ["a_deg", "nope"]}}}
    )
    with pytest.raises(MappingError) as info:
        load_episodes(path, m)
    msg = str(info.value)
    assert str(path) in msg
    assert "'nope'" in msg and "signal 'qpos'" in msg
    for name in COLUMNS:
        assert repr(name) in msg


def test_missing_time_column(tmp_path):
    path = _write_delimited(tmp_path / "m.csv", COLUMNS, ",")
    m = parse_mapping({"time": {"column": "time"}, "signals": {"qpos": {"columns": ["a_deg"]}}})
    with pytest.raises(
        MappingError, match=r"column 'time' \(needed for time\) not found; columns are 't_ms'"
    ):
        load_episodes(path, m)


def test_missing_split_column(tmp_path):
    path = _write_delimited(tmp_path / "m.csv", COLUMNS, ",")
    m = parse_mapping(
        {
            "time": {"column": "t_ms"},
            "split": {"column": "episode"},
            "signals": {"qpos": {"columns": ["a_deg"]}},
        }
    )
    with pytest.raises(MappingError, match=r"'episode' \(needed for split.column\)"):
        load_episodes(path, m)


@pytest.mark.parametrize(
    ("cell", "shown"), [("nan", "nan"), ("", "nan"), ("inf", "inf"), ("-inf", "-inf")]
)
def test_non_finite_value_names_signal_column_row(tmp_path, cell, shown):
    path = tmp_path / "bad.csv"
    path.write_text(f"t,a,b\n0,1,2\n0.5,3,4\n1.0,5,{cell}\n1.5,7,8\n")
    m = parse_mapping(
        {
            "time": {"column": "t"},
            "signals": {"qpos": {"columns": ["a", "b"], "names": ["j1", "j2"]}},
        }
    )
    with pytest.raises(EpisodeError) as info:
        load_episodes(path, m)
    msg = str(info.value)
    assert str(path) in msg
    assert "signal 'qpos'" in msg and "column 'j2'" in msg
    assert "at row 2" in msg and f"got {shown}" in msg
    assert "t=1 s" in msg


def test_non_finite_value_in_npz(tmp_path):
    a = np.array([0.0, 1.0, np.inf])
    path = _save_npz(tmp_path / "inf.npz", t=np.array([0.0, 1.0, 2.0]), a=a)
    m = parse_mapping({"time": {"column": "t"}, "signals": {"qvel": {"columns": ["a"]}}})
    with pytest.raises(
        EpisodeError, match=r"signal 'qvel' column 'a': expected finite values, got inf at row 2"
    ):
        load_episodes(path, m)


@pytest.mark.parametrize(
    ("times", "kind", "rows"),
    [
        ("0,1,0.5,2", "decreasing", "rows 1->2"),
        ("0,1,1,2", "duplicate", "rows 1->2"),
        ("0,0,1,2", "duplicate", "rows 0->1"),
    ],
)
def test_bad_time_axis(tmp_path, times, kind, rows):
    path = tmp_path / "t.csv"
    path.write_text("t,a\n" + "\n".join(f"{t},{i}" for i, t in enumerate(times.split(","))) + "\n")
    m = parse_mapping({"time": {"column": "t"}, "signals": {"qpos": {"columns": ["a"]}}})
    with pytest.raises(EpisodeError) as info:
        load_episodes(path, m)
    msg = str(info.value)
    assert str(path) in msg and "strictly increasing" in msg
    assert f"{kind} time" in msg and rows in msg


def test_nan_time(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("t,a\n0,1\nnan,2\n2,3\n")
    m = parse_mapping({"time": {"column": "t"}, "signals": {"qpos": {"columns": ["a"]}}})
    with pytest.raises(EpisodeError, match=r"times: expected finite values, got nan at row 1"):
        load_episodes(path, m)


def test_single_sample_episode_rejected(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("t,a\n0,1\n")
    m = parse_mapping({"time": {"column": "t"}, "signals": {"qpos": {"columns": ["a"]}}})
    with pytest.raises(EpisodeError, match="at least 2 samples, got 1"):
        load_episodes(path, m)


def test_names_length_mismatch():
    with pytest.raises(MappingError) as info:
        parse_mapping(
            {
                "time": {"rate_hz": 10},
                "signals": {"qpos": {"columns": ["a", "b", "c"], "names": ["j1", "j2"]}},
            },
            source="arm.toml",
        )
    msg = str(info.value)
    assert "arm.toml" in msg and "signals.qpos.names" in msg
    assert "expected 3 names" in msg and "got 2" in msg


@pytest.mark.parametrize("field", ["scale", "offset"])
def test_scale_offset_length_mismatch(field):
    with pytest.raises(
        MappingError, match=rf"signals.qpos.{field}: expected 1 or 2 values .*got 3"
    ):
        parse_mapping(
            {
                "time": {"rate_hz": 10},
                "signals": {"qpos": {"columns": ["a", "b"], field: [1, 2, 3]}},
            }
        )


def test_non_numeric_csv_cell(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("t,a,b\n0,1,2\n1,3,oops\n2,5,6\n")
    m = parse_mapping({"time": {"column": "t"}, "signals": {"qpos": {"columns": ["a"]}}})
    with pytest.raises(MappingError) as info:
        load_episodes(path, m)
    msg = str(info.value)
    assert str(path) in msg and "column 'b'" in msg and "row 1" in msg
    assert "expected a number" in msg and "'oops'" in msg


def test_non_numeric_parquet_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"t": [0.0, 1.0], "name": ["1.5", "left"]}), path)
    with pytest.raises(MappingError, match=r"column 'name' row 1: expected a number, got 'left'"):
        read_table(path)


def test_corrupt_npz(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(np.random.default_rng(0).bytes(512))
    with pytest.raises(MappingError) as info:
        read_table(path)
    assert str(path) in str(info.value) and "npz" in str(info.value)
    m = parse_mapping({"time": {"rate_hz": 1.0}, "signals": {"qpos": {"columns": ["a"]}}})
    with pytest.raises(MappingError, match="junk.npz"):
        load_episodes(path, m)


def test_truncated_npz(tmp_path):
    good = _save_npz(tmp_path / "good.npz", t=np.arange(100.0), a=np.arange(100.0))
    path = tmp_path / "cut.npz"
    path.write_bytes(good.read_bytes()[:300])
    with pytest.raises(MappingError, match="cut.npz"):
        read_table(path)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "junk.parquet"
    path.write_bytes(b"PAR1" + np.random.default_rng(1).bytes(256) + b"PAR1")
    with pytest.raises(MappingError) as info:
        read_table(path)
    assert str(path) in str(info.value) and "parquet" in str(info.value)
    path2 = tmp_path / "plain.parquet"
    path2.write_text("t,a\n0,1\n")
    with pytest.raises(MappingError, match="plain.parquet: cannot read as parquet"):
        read_table(path2)


def test_unknown_extension(tmp_path):
    path = tmp_path / "rec.xlsx"
    path.write_text("x")
    with pytest.raises(MappingError, match=r"rec.xlsx: format: expected one of .*got 'xlsx'"):
        read_table(path)
    # .txt is read as CSV
    txt = _write_delimited(tmp_path / "rec.txt", {"t": np.array([0.0, 1.0])}, ",")
    assert read_table(txt).num_rows == 2


def test_format_override(tmp_path):
    path = _write_delimited(
        tmp_path / "rec.dat", {"t": np.array([0.0, 1.0]), "a": np.array([3.0, 4.0])}, "\t"
    )
    table = read_table(path, fmt="tsv")
    np.testing.assert_array_equal(table.columns["a"], [3.0, 4.0])
    m = parse_mapping(
        {"format": "tsv", "time": {"column": "t"}, "signals": {"qpos": {"columns": ["a"]}}}
    )
    (ep,) = load_episodes(path, m)
    np.testing.assert_array_equal(ep.signal("qpos").values[:, 0], [3.0, 4.0])


def test_unknown_top_level_key(tmp_path):
    path = _write_mapping(
        tmp_path, 'colums = ["a"]\n[time]\nrate_hz = 1\n[signals.qpos]\ncolumns = ["a"]\n'
    )
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    msg = str(info.value)
    assert str(path) in msg and "unknown keys ['colums']" in msg and "'signals'" in msg


def test_unknown_signal_key(tmp_path):
    path = _write_mapping(
        tmp_path, '[time]\nrate_hz = 1\n[signals.qpos]\ncolumns = ["a"]\nunits = "rad"\n'
    )
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    msg = str(info.value)
    assert str(path) in msg and "signals.qpos" in msg
    assert "unknown keys ['units']" in msg and "'unit'" in msg


def test_invalid_toml(tmp_path):
    path = _write_mapping(tmp_path, "[time\nrate_hz = 1\n")
    with pytest.raises(MappingError, match="invalid TOML") as info:
        load_mapping(path)
    assert str(path) in str(info.value)
    # load_episodes accepts a mapping path and reports the same
    rec = _write_delimited(tmp_path / "r.csv", {"a": np.array([0.0, 1.0])}, ",")
    with pytest.raises(MappingError, match="invalid TOML"):
        load_episodes(rec, path)


def test_unknown_unit_conversion():
    with pytest.raises(MappingError) as info:
        parse_mapping(
            {
                "time": {"rate_hz": 1},
                "signals": {"qpos": {"columns": ["a"], "from_unit": "furlong", "unit": "m"}},
            },
            source="u.toml",
        )
    msg = str(info.value)
    assert "u.toml" in msg and "signals.qpos" in msg
    assert "'furlong'->'m'" in msg and "deg->rad" in msg


@pytest.mark.parametrize(
    ("doc", "pattern"),
    [
        ({"time": {"rate_hz": 1}}, r"\[signals\]: expected at least one"),
        ({"time": {"rate_hz": 1}, "signals": {}}, r"\[signals\]: expected at least one"),
        (
            {"time": {"rate_hz": 1}, "signals": {"qpos": {"columns": []}}},
            r"signals.qpos.columns: expected at least one name, got an empty list",
        ),
        (
            {"time": {"rate_hz": 1}, "signals": {"qpos": {"columns": [1, 2]}}},
            r"signals.qpos.columns: expected a list of non-empty strings, got \[1, 2\]",
        ),
        ({"signals": {"qpos": {"columns": ["a"]}}}, r"\[time\]: expected exactly one of"),
        (
            {"time": {"rate_hz": 1, "column": "t"}, "signals": {"qpos": {"columns": ["a"]}}},
            r"\[time\]: expected exactly one of",
        ),
        (
            {"time": {"rate_hz": 0}, "signals": {"qpos": {"columns": ["a"]}}},
            r"time.rate_hz: expected > 0, got 0",
        ),
        (
            {
                "time": {"rate_hz": 1},
                "split": {"offsets_from": "o", "column": "c"},
                "signals": {"qpos": {"columns": ["a"]}},
            },
            r"\[split\]: expected one of",
        ),
    ],
)
def test_malformed_mapping_documents(doc, pattern):
    with pytest.raises(MappingError, match=pattern):
        parse_mapping(doc, source="doc.toml")


def test_missing_files(tmp_path):
    with pytest.raises(
        MappingError, match="mapping file: expected an existing TOML file.*nope.toml"
    ):
        load_mapping(tmp_path / "nope.toml")
    with pytest.raises(MappingError, match="recording file: expected an existing file.*nope.csv"):
        read_table(tmp_path / "nope.csv")
    m = parse_mapping({"time": {"rate_hz": 1}, "signals": {"qpos": {"columns": ["a"]}}})
    with pytest.raises(MappingError, match="recordings: expected a file, folder or glob.*nope.csv"):
        load_episodes(tmp_path / "nope.csv", m)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MappingError, match="no recording files matching"):
        load_episodes(tmp_path / "empty", m)


# --------------------------------------------------------------------------- bundled mappings + data


def test_bundled_cube_toss():
    root = assets_root()
    eps = load_episodes(root / "data" / "cube_toss", root / "mappings" / "cube_toss.toml")
    assert len(eps) == 100
    assert [e.id for e in eps[:3]] == ["toss_000", "toss_001", "toss_002"]
    assert eps[-1].id == "toss_099"
    assert len({e.id for e in eps}) == 100

    raw = np.load(root / "data" / "cube_toss" / "tosses_000-099.npz")
    cols = [str(c) for c in raw["columns"]]
    data, offsets = raw["data_scaled"], raw["offsets"]
    first = eps[0]
    assert first.num_samples == offsets[1] - offsets[0]
    np.testing.assert_allclose(first.times[:3], np.arange(3) / 148.0)
    qpos = first.signal("qpos")
    assert qpos.columns == tuple(f"cube[{i}]" for i in range(7))
    px = data[0, cols.index("px")]
    assert qpos.values[0, 0] == pytest.approx(px * 0.0524)
    np.testing.assert_allclose(qpos.values[:, 2], data[: offsets[1], cols.index("pz")] * 0.0524)
    # quaternion columns are not scaled, and stay unit quaternions
    np.testing.assert_allclose(qpos.values[:, 3], data[: offsets[1], cols.index("qw")])
    np.testing.assert_allclose(np.linalg.norm(qpos.values[:, 3:], axis=1), 1.0, atol=1e-3)
    # positions in metres: a table-top toss stays within a couple of metres
    assert np.abs(qpos.values[:, :3]).max() < 2.0
    qvel = first.signal("qvel")
    assert qvel.values.shape == (first.num_samples, 6)
    np.testing.assert_allclose(qvel.values[0, 0], data[0, cols.index("vx")] * 0.0524)
    assert first.metadata["robot"] == "cube" and first.metadata["license"] == "BSD-3-Clause"
    last = eps[-1]
    assert last.metadata["rows"] == [int(offsets[-2]), int(offsets[-1])]


def test_bundled_double_pendulum():
    root = assets_root()
    eps = load_episodes(
        root / "data" / "double_pendulum", root / "mappings" / "double_pendulum.toml"
    )
    assert len(eps) == 1
    (ep,) = eps
    assert isinstance(ep, Episode)
    assert ep.id.startswith("sysid_")
    assert set(ep.signals) == {"qpos", "qvel", "ctrl", "qfrc_actuator"}
    for sig in ep.signals.values():
        assert sig.columns == ("shoulder", "elbow")
        assert sig.values.shape == (ep.num_samples, 2)
    assert ep.num_samples > 100
    dt = np.median(np.diff(ep.times))
    assert dt == pytest.approx(1 / 500.0, rel=0.05)
    assert ep.metadata["fps"] == 500.0


def test_bundled_mappings_parse():
    root = assets_root() / "mappings"
    for name in ("cube_toss", "double_pendulum", "panda_excitation"):
        m = load_mapping(root / f"{name}.toml")
        assert "qpos" in m.signal_names()
        assert m.source == str(root / f"{name}.toml")


# --------------------------------------------------------------------------- known bugs (strict xfail)


def test_header_only_csv_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("t,a\n")
    m = parse_mapping({"time": {"column": "t"}, "signals": {"qpos": {"columns": ["a"]}}})
    with pytest.raises((EpisodeError, MappingError)):
        load_episodes(path, m)


def test_empty_offsets_is_a_mapping_error(tmp_path):
    path = _save_npz(tmp_path / "e.npz", data=np.zeros((3, 1)), offsets=np.array([], dtype=int))
    m = parse_mapping(
        {
            "table": {"array": "data"},
            "time": {"rate_hz": 1.0},
            "split": {"offsets_from": "offsets"},
            "signals": {"qpos": {"columns": ["data[0]"]}},
        }
    )
    with pytest.raises(MappingError):
        load_episodes(path, m)


@pytest.mark.parametrize(
    "doc",
    [
        {"time": {"rate_hz": 1}, "signals": {"qpos": {"columns": ["a"], "scale": "x"}}},
        {"time": {"rate_hz": "fast"}, "signals": {"qpos": {"columns": ["a"]}}},
        {"time": {"column": "t", "scale": "ms"}, "signals": {"qpos": {"columns": ["a"]}}},
    ],
)
def test_non_numeric_mapping_values_are_mapping_errors(doc):
    with pytest.raises(MappingError):
        parse_mapping(doc, source="m.toml")
