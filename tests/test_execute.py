"""The execution layer on the serial backend: shards written atomically under deterministic names,
reruns skip finished shards, an interrupted run resumes with no shard lost or duplicated,
rejections counted, provenance reproduces each variant, hostile settings refused."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest
from jobs import MU, digest, shard_names, shards_of, small_task

from workbench import ReplaySettings, load_scene, replay
from workbench.errors import OutputError, ParameterError, SettingsError
from workbench.execute import choose_backend, plan_shards, run_job
from workbench.execute.variants_task import ReplayVariantsTask, reject_reason
from workbench.io.lerobot import read_lerobot_records
from workbench.io.robomimic import read_robomimic_records

QUIET = {"progress": False, "log": lambda msg: None}


@pytest.mark.parametrize("fmt", ["lerobot", "robomimic"])
def test_serial_job_writes_every_shard_counts_rejections_and_merges(reference, fmt):
    task, out, result = reference[fmt]
    planned = shards_of(task)
    assert shard_names(out) == sorted(s.name for s in planned)
    assert result.backend == "serial" and result.skipped == 0
    assert result.accepted == 6 and result.rejected == {"diverged": 2}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["shards_finished"] == manifest["shards_total"] == len(planned)
    assert manifest["accepted"] == 6 and manifest["rejected"] == {"diverged": 2}
    assert manifest["backend"] == "serial"
    assert all(s["status"] == "finished" for s in manifest["shards"])
    read = read_lerobot_records if fmt == "lerobot" else read_robomimic_records
    records = read(out / ("dataset" if fmt == "lerobot" else "dataset.hdf5"))
    assert [(p.source_episode, p.variant) for _, p in records] == [
        (src, k) for src in ("toss_000", "toss_001") for k in (0, 1, 3)
    ]


def test_provenance_reproduces_each_variant_replayed_alone(reference):
    task, out, _ = reference["lerobot"]
    scene = load_scene("cube_toss")
    records = read_lerobot_records(out / "dataset")
    episodes = task._inputs()[1]
    by_id = {e.id: e for e in episodes}
    for ep, prov in records:
        assert dict(prov.params) == task.variants[0][prov.variant]
        (trace,) = replay(scene, [by_id[prov.source_episode]], task.settings, params=prov.params)
        np.testing.assert_array_equal(ep.signals["qpos"].values, trace.predicted["qpos"][0])
        np.testing.assert_array_equal(ep.signals["qvel"].values, trace.predicted["qvel"][0])
    # the variants really differ from each other (friction changes the slide after impact)
    q = [ep.signals["qpos"].values for ep, p in records if p.source_episode == "toss_000"]
    assert np.abs(q[0] - q[2]).max() > 1e-3


def test_rerun_skips_finished_shards_and_changes_nothing(reference, tmp_path):
    task, out, _ = reference["lerobot"]
    before = digest(out / "dataset")
    ran = []
    again = run_job(task, shards_of(task), out, backend="serial", on_shard=ran.append, **QUIET)
    assert ran == [] and again.skipped == len(shards_of(task))
    assert digest(out / "dataset") == before


@pytest.mark.parametrize("fmt", ["lerobot", "robomimic"])
def test_interrupted_run_resumes_with_no_shard_lost_or_duplicated(reference, tmp_path, fmt):
    task, ref_out, _ = reference[fmt]
    shards = shards_of(task)

    def stop_after_two(result, seen=[]):  # noqa: B006
        seen.append(result)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(task, shards, tmp_path, backend="serial", on_shard=stop_after_two, **QUIET)
    assert len(shard_names(tmp_path)) == 2
    # a worker killed while writing leaves a temporary folder: it is discarded, never counted
    (tmp_path / "shards" / f".tmp-{shards[3].name}-x").mkdir()
    ran = []
    result = run_job(task, shards, tmp_path, backend="serial", on_shard=ran.append, **QUIET)
    assert result.skipped == 2 and len(ran) == len(shards) - 2
    assert shard_names(tmp_path) == sorted(s.name for s in shards)
    name = "dataset" if fmt == "lerobot" else "dataset.hdf5"
    assert digest(tmp_path / name) == digest(ref_out / name)


def test_reject_reason_tells_nan_from_divergence(reference):
    scene = load_scene("cube_toss")
    task = reference["lerobot"][0]
    (trace,) = replay(scene, task._inputs()[1][:1], ReplaySettings("open_loop", threads=1))
    assert reject_reason(trace) is None
    bad = {k: v.copy() for k, v in trace.predicted.items()}
    bad["qvel"][0, 5, 2] = np.nan
    assert reject_reason(dataclasses.replace(trace, predicted=bad)) == "nan"
    flagged = dataclasses.replace(trace, diverged=np.ones_like(trace.diverged))
    assert reject_reason(flagged) == "diverged"


def test_auto_backend_says_why():
    backend, why = choose_backend("auto", 10, serial_below=400)
    assert backend.name == "serial" and why.startswith(("10 variants", "ray is not installed"))


# ---------------------------------------------------------------- hostile inputs


def test_a_folder_of_another_job_is_refused_and_left_alone(reference, tmp_path):
    task, out, _ = reference["lerobot"]
    before = digest(out)
    other = small_task(per_episode=3)
    with pytest.raises(OutputError, match="holds shards of another job"):
        run_job(other, shards_of(other), out, backend="serial", **QUIET)
    assert digest(out) == before


def test_bad_outputs_and_settings_are_refused_before_anything_runs(tmp_path, monkeypatch):
    task = small_task(episodes=1, per_episode=2)
    shards = shards_of(task)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="existing file"):
        run_job(task, shards, tmp_path / "file", **QUIET)
    with pytest.raises(SettingsError, match=r"--backend: .*'gpu'"):
        run_job(task, shards, tmp_path / "a", backend="gpu", **QUIET)
    with pytest.raises(SettingsError, match="--ray-address: given with --backend serial"):
        choose_backend("serial", 5, ray_address="127.0.0.1:6379")
    with pytest.raises(SettingsError, match="unique shards"):
        run_job(task, shards + shards[:1], tmp_path / "b", **QUIET)
    with pytest.raises(SettingsError, match="--shard-size: expected an integer >= 1"):
        plan_shards([3], 0)
    with pytest.raises(SettingsError, match="variants of episode 1: expected an integer >= 0"):
        plan_shards([3, -1], 2)
    with pytest.raises(SettingsError, match="--format: expected one of"):
        small_task("zarr")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "variants, error, match",
    [
        ([{"geom_friction[nope][0]": 0.1}], ParameterError, r"variants\[0\]\[0\].*'nope'"),
        ([{MU: -1.0}], ParameterError, r"variants\[0\]\[0\]"),
        ([{"delay:qpos": 0.01}], ParameterError, "physics values only"),
    ],
)
def test_bad_variants_are_refused_before_any_shard(tmp_path, variants, error, match):
    task = dataclasses.replace(small_task(episodes=1, per_episode=1), variants=(tuple(variants),))
    with pytest.raises(error, match=match):
        run_job(task, shards_of(task), tmp_path / "out", backend="serial", **QUIET)
    assert not (tmp_path / "out").exists()


def test_variant_lists_must_match_the_episodes(tmp_path):
    task = small_task(episodes=2, per_episode=1)
    task = dataclasses.replace(task, variants=task.variants[:1])
    with pytest.raises(SettingsError, match=r"one list per selected episode \(2\), got 1"):
        run_job(task, shards_of(task), tmp_path / "out", backend="serial", **QUIET)
    assert not (tmp_path / "out").exists()
    assert isinstance(task, ReplayVariantsTask)


def test_in_order_hands_results_over_in_job_order_once_each():
    """`InOrder` passes each result on as soon as every shard before it is in; a result of
    another job or a second copy is refused; `add_all` aborts a merger whose add fails."""
    from workbench.execute.ordered import InOrder, add_all
    from workbench.execute.shards import ShardResult

    shards = plan_shards([3, 2], 2)  # e0 [0,2) [2,3), e1 [0,2)
    results = [ShardResult(s, s.size, s.size, {}, ()) for s in shards]
    taken = []
    order = InOrder(shards, lambda r: taken.append(r.shard))
    order.add(results[2])
    assert taken == [] and not order.complete
    order.add(results[0])
    assert taken == shards[:1]
    with pytest.raises(SettingsError, match="added twice"):
        order.add(results[2])
    order.add(results[1])
    assert taken == shards and order.complete
    with pytest.raises(SettingsError, match="not in this job"):
        order.add(ShardResult(plan_shards([9], 9)[0], 9, 9, {}, ()))

    class Failing:
        aborted = finished = False

        def add(self, item):
            if item == 2:
                raise OSError("disk full")

        def abort(self):
            self.aborted = True

        def finish(self):
            self.finished = True

    merger = Failing()
    with pytest.raises(OSError, match="disk full"):
        add_all(merger, [1, 2, 3])
    assert merger.aborted and not merger.finished


def test_an_unreachable_ray_address_is_refused_at_once_and_nothing_is_written(
    tmp_path, capsys, monkeypatch
):
    """A cluster address nobody listens at: error naming it in seconds (ray.init retried for
    minutes), exit 2 from the CLI, no output folder; a malformed address is named too."""
    import socket
    import time

    import ray

    from workbench.cli import main
    from workbench.paths import assets_root, scenes_root

    # a Ray other tests started in this process would be used as is (the address ignored)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)

    with socket.socket() as s:  # a port nobody listens at
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(SettingsError, match=rf"127\.0\.0\.1:{port}: no Ray cluster answers"):
        choose_backend("auto", 10, ray_address=f"127.0.0.1:{port}")
    assert time.perf_counter() - start < 10
    for bad in ("somewhere", "127.0.0.1:99999", "127.0.0.1:0", ":8265", "ray://"):
        with pytest.raises(SettingsError, match=rf"expected host:port.*got '{re.escape(bad)}'"):
            choose_backend("ray", 10, ray_address=bad)
    assert (
        main(
            [
                "augment",
                "x",
                "--scene",
                "s",
                "--spec",
                "s",
                "--variants",
                "2",
                "--ray-address",
                " ",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "--ray-address: expected host:port" in capsys.readouterr().err
    out = tmp_path / "out"
    args = ["augment", str(assets_root() / "data" / "cube_toss"), "--scene", "cube_toss"]
    args += ["--spec", str(scenes_root() / "cube_toss" / "randomization.toml"), "--variants", "2"]
    args += ["--ray-address", f"ray://127.0.0.1:{port}", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"--ray-address ray://127.0.0.1:{port}: no Ray cluster answers" in err
    assert not out.exists()
