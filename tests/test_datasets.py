"""Dataset writers and readers: every value round-trips (LeRobot v3.0, robomimic), other LeRobot
versions and foreign robomimic files read, hostile inputs refused with clear errors."""

from __future__ import annotations

import hashlib
import json
import math

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench import Episode, Signal, load_episodes
from workbench.datasets import Provenance, write_lerobot, write_robomimic
from workbench.errors import DatasetError, OutputError
from workbench.io.lerobot import read_lerobot, read_lerobot_records
from workbench.io.robomimic import read_robomimic, read_robomimic_records
from workbench.paths import assets_root


def _records(n=3, seed=0):
    """Synthetic episodes (uneven time axis, several signals, units, frames) with provenance."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        T = 40 + 7 * i
        times = 0.25 + np.cumsum(rng.uniform(0.004, 0.006, T))
        sig = {
            "qpos": Signal(rng.normal(size=(T, 7)), [f"cube[{k}]" for k in range(7)], "m", "world"),
            "qvel": Signal(rng.normal(size=(T, 6)), [f"cube[{k}]" for k in range(6)], "m/s", "mix"),
            "ctrl": Signal(rng.normal(size=(T, 2)) * 1e-300, ["a1", "a2"], "N m"),
            "sensor:touch": Signal(rng.normal(size=(T, 1)) * 1e12, ["touch"]),
        }
        meta = {"robot": "cube", "fps": 200, "task": "toss" if i % 2 else "push", "k": [1, 2.5]}
        prov = Provenance(
            f"toss_{i:04d}",
            variant=i,
            seed=1000 + i,
            transform={"object_shift_m": [0.01 * i, -0.02, 0.0]},
            params={"geom_friction[cube][0]": 0.1 + i / 3, "body_mass[cube]": math.pi},
        )
        out.append((Episode(f"toss_{i:04d}/v{i}", times, sig, meta), prov if i != 1 else None))
    return out


def _assert_same(written, read):
    assert len(written) == len(read)
    for (a, pa_), (b, pb) in zip(written, read, strict=True):
        assert a.id == b.id
        np.testing.assert_array_equal(a.times, b.times)
        assert sorted(a.signals) == sorted(b.signals)
        for k, s in a.signals.items():
            np.testing.assert_array_equal(s.values, b.signals[k].values)  # exact, not close
            assert (s.columns, s.unit, s.frame) == (
                b.signals[k].columns,
                b.signals[k].unit,
                b.signals[k].frame,
            )
        assert dict(a.metadata) == dict(b.metadata)
        assert pa_ == pb


def test_lerobot_round_trip_every_value(tmp_path):
    recs = _records()
    summary = write_lerobot(tmp_path / "ds", recs)
    assert summary.episodes == 3 and summary.frames == sum(e.num_samples for e, _ in recs)
    _assert_same(recs, read_lerobot_records(tmp_path / "ds"))
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 200
    assert info["total_tasks"] == 2 and info["total_frames"] == summary.frames
    assert info["features"]["observation.state"] == {
        "dtype": "float64",
        "shape": [7],
        "names": [f"cube[{k}]" for k in range(7)],
    }
    assert info["features"]["action"]["names"] == ["a1", "a2"]
    # LeRobot's index columns: global `index`, per-episode `frame_index`, float32 timestamp from 0
    data = pq.read_table(tmp_path / "ds/data/chunk-000/file-000.parquet")
    assert data.column("index").to_pylist() == list(range(summary.frames))
    eps = pq.read_table(tmp_path / "ds/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["dataset_to_index"] - e["dataset_from_index"] for e in eps] == [
        e.num_samples for e, _ in recs
    ]
    assert eps[0]["workbench/seed"] == 1000 and eps[1]["workbench/source_episode"] is None
    assert json.loads(eps[2]["workbench/params"])["body_mass[cube]"] == math.pi
    # stats.json: mean/std of the written values
    stats = json.loads((tmp_path / "ds/meta/stats.json").read_text())
    allq = np.concatenate([e.signals["qpos"].values for e, _ in recs])
    np.testing.assert_allclose(stats["observation.state"]["mean"], allq.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats["observation.state"]["std"], allq.std(0), rtol=1e-9)
    assert stats["observation.state"]["count"] == [summary.frames]


def test_lerobot_tasks_table_is_indexed_by_the_task_string(tmp_path):
    write_lerobot(tmp_path / "ds", _records())
    table = pq.read_table(tmp_path / "ds/meta/tasks.parquet")
    meta = json.loads(table.schema.metadata[b"pandas"])
    assert meta["index_columns"] == ["task"]
    assert table.column("task").to_pylist() == ["push", "toss"]
    assert table.column("task_index").to_pylist() == [0, 1]
    pd = pytest.importorskip("pandas")
    frame = pd.read_parquet(tmp_path / "ds/meta/tasks.parquet")
    assert list(frame.index) == ["push", "toss"] and frame.loc["toss", "task_index"] == 1


def test_lerobot_data_files_roll_over_and_still_round_trip(tmp_path):
    recs = _records(5)
    summary = write_lerobot(tmp_path / "ds", recs, file_frames=100, features={"qvel": "obs.v"})
    data = [f for f in summary.files if f.startswith("data/")]
    assert len(data) >= 3
    _assert_same(recs, read_lerobot_records(tmp_path / "ds"))


def test_robomimic_round_trip_every_value(tmp_path):
    recs = _records()
    write_robomimic(tmp_path / "d.hdf5", recs, env_name="cube_toss", model_file="<mujoco/>")
    _assert_same(recs, read_robomimic_records(tmp_path / "d.hdf5"))
    with h5py.File(tmp_path / "d.hdf5") as f:
        data = f["data"]
        assert data.attrs["total"] == sum(e.num_samples for e, _ in recs)
        assert json.loads(data.attrs["env_args"])["env_name"] == "cube_toss"
        demo = data["demo_2"]
        T = recs[2][0].num_samples
        assert demo.attrs["num_samples"] == T and demo.attrs["model_file"] == "<mujoco/>"
        assert demo["actions"].shape == (T, 2) and demo["states"].shape == (T, 13)
        np.testing.assert_array_equal(demo["dones"][()], np.r_[np.zeros(T - 1), 1.0])
        np.testing.assert_array_equal(demo["rewards"][()], np.zeros(T))
        assert set(demo["obs"]) == {"qpos", "qvel", "sensor__touch"}
        assert demo.attrs["workbench_seed"] == 1002


def test_writers_are_byte_deterministic(tmp_path):
    recs = _records()
    for name in ("a", "b"):
        write_lerobot(tmp_path / name, recs)
        write_robomimic(tmp_path / f"{name}.hdf5", recs)

    def digest(p):
        return hashlib.sha256(p.read_bytes()).hexdigest()

    for f in (tmp_path / "a").rglob("*"):
        if f.is_file():
            assert digest(f) == digest(tmp_path / "b" / f.relative_to(tmp_path / "a")), f
    assert digest(tmp_path / "a.hdf5") == digest(tmp_path / "b.hdf5")


def test_real_cube_tosses_round_trip(tmp_path):
    assets = assets_root()
    eps = load_episodes(assets / "data/cube_toss", assets / "mappings/cube_toss.toml", select="0:5")
    write_lerobot(tmp_path / "ds", eps)
    write_robomimic(tmp_path / "d.hdf5", eps)
    for back in (read_lerobot(tmp_path / "ds"), read_robomimic(tmp_path / "d.hdf5")):
        _assert_same([(e, None) for e in eps], [(e, None) for e in back])


def test_reads_a_lerobot_v21_dataset(tmp_path):
    """LeRobot v2.1: one parquet per episode, float32 list columns, names as {"motors": [...]}."""
    root = tmp_path / "v21"
    (root / "meta").mkdir(parents=True)
    info = {
        "codebase_version": "v2.1",
        "fps": 30,
        "total_episodes": 2,
        "chunks_size": 1000,
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "features": {
            "observation.state": {
                "dtype": "float32",
                "shape": [2],
                "names": {"motors": ["s", "e"]},
            },
            "action": {"dtype": "float32", "shape": [2], "names": None},
            "observation.images.top": {"dtype": "video", "shape": [8, 8, 3], "names": None},
            "timestamp": {"dtype": "float32", "shape": [1], "names": None},
        },
    }
    (root / "meta/info.json").write_text(json.dumps(info))
    rows = []
    rng = np.random.default_rng(3)
    truth = []
    for e, T in enumerate((5, 9)):
        state = rng.normal(size=(T, 2)).astype(np.float32)
        action = rng.normal(size=(T, 2)).astype(np.float32)
        truth.append((state, action))
        table = pa.table(
            {
                "observation.state": pa.array(list(state), pa.list_(pa.float32())),
                "action": pa.array(list(action), pa.list_(pa.float32())),
                "timestamp": pa.array(np.arange(T, dtype=np.float32) / 30),
                "frame_index": pa.array(np.arange(T)),
                "episode_index": pa.array(np.full(T, e)),
            }
        )
        path = root / f"data/chunk-000/episode_{e:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        rows.append(json.dumps({"episode_index": e, "tasks": ["pick"], "length": T}))
    (root / "meta/episodes.jsonl").write_text("\n".join(rows) + "\n")
    eps = read_lerobot(root)
    assert [e.num_samples for e in eps] == [5, 9]
    for ep, (state, action) in zip(eps, truth, strict=True):
        assert ep.signals["qpos"].columns == ("s", "e")
        assert ep.signals["ctrl"].columns == ("action[0]", "action[1]")
        np.testing.assert_array_equal(ep.signals["qpos"].values, state.astype(np.float64))
        np.testing.assert_array_equal(ep.signals["ctrl"].values, action.astype(np.float64))
        assert ep.metadata["task"] == "pick"
    (only,) = read_lerobot(root, signals={"ctrl": "action"}, episodes=[1])
    assert list(only.signals) == ["ctrl"] and only.num_samples == 9


def test_reads_a_foreign_robomimic_file(tmp_path):
    path = tmp_path / "foreign.hdf5"
    rng = np.random.default_rng(4)
    q = rng.normal(size=(6, 7))
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        data.attrs["env_args"] = json.dumps(
            {"env_name": "Lift", "type": 1, "env_kwargs": {"control_freq": 20}}
        )
        demo = data.create_group("demo_3")
        demo.create_dataset("actions", data=rng.normal(size=(6, 7)).astype(np.float32))
        demo.create_dataset("obs/robot0_joint_pos", data=q)
    (ep,) = read_robomimic(path)
    np.testing.assert_allclose(ep.times, np.arange(6) / 20)
    assert set(ep.signals) == {"ctrl", "robot0_joint_pos"}
    (ep,) = read_robomimic(path, signals={"qpos": "obs/robot0_joint_pos"}, rate_hz=10.0, demos=[3])
    np.testing.assert_array_equal(ep.signals["qpos"].values, q)
    assert ep.signals["qpos"].columns[0] == "robot0_joint_pos[0]"
    np.testing.assert_allclose(ep.times, np.arange(6) / 10)


# ---------------------------------------------------------------- hostile inputs


def _mismatched():
    (a, pa_), (b, pb) = _records(2)[:2]
    b = Episode(b.id, b.times, {"qpos": b.signals["qpos"]}, b.metadata)
    return [(a, pa_), (b, pb)]


@pytest.mark.parametrize("writer", ["lerobot", "robomimic"])
@pytest.mark.parametrize(
    "records, match",
    [
        ([], "at least one episode"),
        ("mismatch", "differ from the first episode"),
        ([("not an episode", None)], r"records\[0\]: expected an Episode"),
    ],
)
def test_writers_refuse_bad_records_and_keep_earlier_output(tmp_path, writer, records, match):
    records = _mismatched() if records == "mismatch" else records
    target = tmp_path / ("ds" if writer == "lerobot" else "d.hdf5")
    write = write_lerobot if writer == "lerobot" else write_robomimic
    write(target, _records(1))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(DatasetError, match=match):
        write(target, records)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    "features, match",
    [
        ({"qpos": "timestamp"}, "reserved"),
        ({"qpos": "action"}, "both map to 'action'"),
        ({"nope": "x"}, "signal 'nope' is not in the episodes"),
        ({"qpos": ""}, "expected a feature name"),
    ],
)
def test_lerobot_refuses_bad_feature_maps(tmp_path, features, match):
    with pytest.raises(DatasetError, match=match):
        write_lerobot(tmp_path / "ds", _records(1), features=features)
    assert not (tmp_path / "ds").exists()


def test_writers_refuse_unwritable_targets(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="existing file"):
        write_lerobot(tmp_path / "file", _records(1))
    with pytest.raises(OutputError, match="expected a file path"):
        write_robomimic(tmp_path, _records(1))


def _break(root, how):
    info_path = root / "meta/info.json"
    info = json.loads(info_path.read_text())
    if how == "no info":
        info_path.unlink()
    elif how == "bad json":
        info_path.write_text("{")
    elif how == "version":
        info["codebase_version"] = "v1.6"
        info_path.write_text(json.dumps(info))
    elif how == "totals":
        info["total_episodes"] = 7
        info_path.write_text(json.dumps(info))
    elif how == "corrupt data":
        (root / "data/chunk-000/file-000.parquet").write_bytes(b"PAR1 garbage")
    elif how == "no episodes meta":
        (root / "meta/episodes/chunk-000/file-000.parquet").unlink()


@pytest.mark.parametrize(
    "how, match",
    [
        ("no info", "info.json: missing"),
        ("bad json", "invalid JSON"),
        ("version", r"codebase_version: expected one of \['v2.1', 'v3.0'\], got 'v1.6'"),
        ("totals", "total_episodes 7 but 3 episodes listed"),
        ("corrupt data", "unreadable parquet"),
        ("no episodes meta", "no chunk-\\*/file-\\*.parquet files"),
    ],
)
def test_lerobot_reader_refuses_damaged_datasets(tmp_path, how, match):
    write_lerobot(tmp_path / "ds", _records())
    _break(tmp_path / "ds", how)
    with pytest.raises(DatasetError, match=match):
        read_lerobot(tmp_path / "ds")


def test_lerobot_reader_refuses_bad_selections(tmp_path):
    write_lerobot(tmp_path / "ds", _records())
    with pytest.raises(DatasetError, match=r"feature 'observation.nope' not in the dataset"):
        read_lerobot(tmp_path / "ds", signals={"qpos": "observation.nope"})
    with pytest.raises(DatasetError, match="index 5 out of range 0..2"):
        read_lerobot(tmp_path / "ds", episodes=[5])


def test_robomimic_reader_refuses_damaged_files(tmp_path):
    (tmp_path / "text.hdf5").write_text("not hdf5")
    with pytest.raises(DatasetError, match="not an HDF5 file"):
        read_robomimic(tmp_path / "text.hdf5")
    with pytest.raises(DatasetError, match="missing"):
        read_robomimic(tmp_path / "absent.hdf5")
    with h5py.File(tmp_path / "empty.hdf5", "w") as f:
        f.create_group("other")
    with pytest.raises(DatasetError, match="expected a 'data' group"):
        read_robomimic(tmp_path / "empty.hdf5")
    with h5py.File(tmp_path / "nodemo.hdf5", "w") as f:
        f.create_group("data/mask")
    with pytest.raises(DatasetError, match="holds no demo_<n> groups"):
        read_robomimic(tmp_path / "nodemo.hdf5")
    with h5py.File(tmp_path / "ragged.hdf5", "w") as f:
        f.create_dataset("data/demo_0/actions", data=np.zeros((5, 2)))
        f.create_dataset("data/demo_0/obs/q", data=np.zeros((4, 2)))
    with pytest.raises(DatasetError, match="different lengths"):
        read_robomimic(tmp_path / "ragged.hdf5", rate_hz=10)
    with pytest.raises(DatasetError, match="no 'times' dataset and no rate"):
        read_robomimic(tmp_path / "ragged.hdf5", signals={"ctrl": "actions"})
    with pytest.raises(DatasetError, match="no dataset 'obs/x'"):
        read_robomimic(tmp_path / "ragged.hdf5", signals={"qpos": "obs/x"}, rate_hz=10)
    with pytest.raises(DatasetError, match="rate_hz: expected a number > 0"):
        read_robomimic(tmp_path / "ragged.hdf5", rate_hz=-1)
    with pytest.raises(DatasetError, match="demo_7 not in"):
        read_robomimic(tmp_path / "ragged.hdf5", rate_hz=10, demos=[7])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"source_episode": ""}, "source_episode: expected a non-empty string"),
        ({"seed": True}, "seed: expected an integer"),
        ({"params": {"x": float("nan")}}, r"params\['x'\]: expected finite"),
        ({"params": {"x": "1"}}, r"params\['x'\]: expected a number"),
        ({"transform": {"f": object()}}, "transform: expected JSON-serialisable"),
    ],
)
def test_provenance_refuses_bad_values(kwargs, match):
    with pytest.raises(DatasetError, match=match):
        Provenance(**{"source_episode": "e", **kwargs})


def test_lerobot_arrow_encoding_reads_back_like_parquet(tmp_path):
    """encoding="arrow" (the augmentation shards): data files in Arrow IPC named by info.json's
    data_path; the workbench's reader gives the same episodes, provenance and stats as from
    the compact parquet dataset; a damaged data file or data_path is named."""
    recs = _records(4)
    write_lerobot(tmp_path / "pq", recs, file_frames=20)
    write_lerobot(tmp_path / "ipc", recs, file_frames=20, encoding="arrow")
    info = json.loads((tmp_path / "ipc/meta/info.json").read_text())
    assert info["data_path"].endswith(".arrow")
    assert sorted(p.suffix for p in (tmp_path / "ipc/data").rglob("file-*")) == [".arrow"] * len(
        list((tmp_path / "pq/data").rglob("file-*.parquet"))
    )
    a, b = read_lerobot_records(tmp_path / "pq"), read_lerobot_records(tmp_path / "ipc")
    for (x, px), (y, py) in zip(a, b, strict=True):
        assert x.id == y.id and px == py
        for name in x.signals:
            np.testing.assert_array_equal(x.signals[name].values, y.signals[name].values)
    stats = [json.loads((tmp_path / d / "meta/stats.json").read_text()) for d in ("pq", "ipc")]
    assert stats[0] == stats[1]
    first = next((tmp_path / "ipc/data").rglob("file-*.arrow"))
    first.write_bytes(first.read_bytes()[:100])
    with pytest.raises(DatasetError, match=r"file-000\.arrow: unreadable Arrow IPC"):
        read_lerobot_records(tmp_path / "ipc")
    info["data_path"] = "data/{chunk}/x.parquet"
    (tmp_path / "pq/meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match=r"data_path .*expected a template of chunk_index"):
        read_lerobot_records(tmp_path / "pq")
    info["data_path"] = "../ipc/data/chunk-{chunk_index:03d}/file-{file_index:03d}.arrow"
    (tmp_path / "pq/meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match=r"data_path .*expected files inside the dataset"):
        read_lerobot_records(tmp_path / "pq")
