"""Augmentation: object-centric transforms, filters, predicates, provenance that regenerates a
variant exactly, merged datasets that round-trip, same bytes on a rerun, hostile inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import mujoco
import numpy as np
import pytest
from jobs import digest
from scipy.spatial.transform import Rotation

from workbench import load_scene
from workbench.augment import AugmentTask, PlanarTransform, TransformRanges, parse_augment
from workbench.augment.transform import apply_poses, blend_weights
from workbench.augment.variant import max_penetration, replay_provenance
from workbench.cli import main
from workbench.errors import SceneError, SettingsError
from workbench.execute import plan_shards, run_job
from workbench.io import load_episodes
from workbench.io.lerobot import read_lerobot_records
from workbench.io.robomimic import read_robomimic_records
from workbench.paths import assets_root, scenes_root

QUIET = {"progress": False, "log": lambda msg: None}
CUBE = str(assets_root() / "data" / "cube_toss")
KINOVA = str(assets_root() / "data" / "kinova_push")
CUBE_SPEC = scenes_root() / "cube_toss" / "randomization.toml"
KINOVA_SPEC = scenes_root() / "kinova_push" / "randomization.toml"


def _spec(path):
    from workbench.randomize import RandomizationSpec

    return RandomizationSpec.load(path).to_dict()


def cube_task(fmt="lerobot", variants=6, episodes="0:2", **kw) -> AugmentTask:
    return AugmentTask(
        "cube_toss",
        (CUBE,),
        _spec(CUBE_SPEC),
        variants,
        select=episodes,
        format=fmt,
        seed=3,
        chunk=4,
        **kw,
    )


def kinova_task(fmt="lerobot", variants=8, **kw) -> AugmentTask:
    return AugmentTask(
        "kinova_push", (KINOVA,), _spec(KINOVA_SPEC), variants, format=fmt, seed=1, chunk=4, **kw
    )


def run(task, out, size=3, backend="serial"):
    return run_job(
        task, plan_shards(task.variants_per_episode(), size), out, backend=backend, **QUIET
    )


# -- transforms ---------------------------------------------------------------------------------
def test_planar_transform_matches_a_rotation_about_the_pivot():
    rng = np.random.default_rng(0)
    poses = np.concatenate(
        [rng.normal(size=(5, 3)), Rotation.random(5, rng).as_quat()[:, [3, 0, 1, 2]]], 1
    )
    t = PlanarTransform(0.1, -0.2, 30.0, (0.5, 0.3))
    got = apply_poses(poses, np.ones(5), t)
    R = Rotation.from_euler("z", 30, degrees=True)
    c = np.array([0.5, 0.3, 0.0])
    want_p = R.apply(poses[:, :3] - c) + c + [0.1, -0.2, 0.0]
    np.testing.assert_allclose(got[:, :3], want_p, atol=1e-12)
    want_q = (R * Rotation.from_quat(poses[:, [4, 5, 6, 3]])).as_quat()[:, [3, 0, 1, 2]]
    sign = np.sign(np.sum(want_q * got[:, 3:], axis=1))[:, None]
    np.testing.assert_allclose(got[:, 3:], sign * want_q, atol=1e-12)
    np.testing.assert_array_equal(apply_poses(poses, np.zeros(5), t), poses)  # s = 0: unchanged


def test_blend_weights_follow_the_rule():
    t = np.linspace(0, 2, 21)
    s = blend_weights(t, 1.0, 0.5)
    assert s[t <= 0.5].max() == 0 and s[t >= 1.0].min() == 1
    np.testing.assert_allclose(s[(t > 0.5) & (t < 1.0)], (t[(t > 0.5) & (t < 1.0)] - 0.5) / 0.5)
    np.testing.assert_array_equal(blend_weights(t, 1.0, 0.0), (t >= 1.0).astype(float))


def test_transform_ranges_sample_reproducibly_within_bounds():
    r = TransformRanges((-0.05, 0.05), (0.0, 0.01), (-20.0, 20.0))
    a = [r.sample("ep", k, 7) for k in range(50)]
    assert a == [r.sample("ep", k, 7) for k in range(50)]
    assert a != [r.sample("ep", k, 8) for k in range(50)]
    arr = np.array(a)
    assert (
        (np.abs(arr[:, 0]) <= 0.05).all()
        and (arr[:, 1] >= 0).all()
        and (np.abs(arr[:, 2]) <= 20).all()
    )
    assert TransformRanges.from_option("x=-0.05:0.05,yaw_deg=-5:5") == TransformRanges(
        (-0.05, 0.05), (0.0, 0.0), (-5.0, 5.0)
    )
    assert TransformRanges.from_option("none") is None


# -- the penetration filter against a reference ----------------------------------------------------
def test_max_penetration_equals_mj_forward_contact_depth():
    scene = load_scene("cube_toss")
    m = scene.model
    d = mujoco.MjData(m)
    ref = mujoco.MjData(m)
    rows = np.tile(m.qpos0, (3, 1))
    for k, z in enumerate((0.06, 0.05, 0.045)):  # cube half width 0.0524: 0, 2.4, 7.4 mm deep
        rows[k, :3] = (0, 0, z)
        rows[k, 3:7] = (1, 0, 0, 0)
    got = max_penetration(m, d, rows, None)
    depths = []
    for r in rows:
        ref.qpos[:] = r
        mujoco.mj_forward(m, ref)
        depths.append(-ref.contact.dist[: ref.ncon].min() if ref.ncon else 0.0)
    assert got == pytest.approx(max(depths), abs=1e-12)
    assert got == pytest.approx(0.0524 - 0.045, abs=1e-4)


# -- cube tosses: physics + initial state --------------------------------------------------------
@pytest.fixture(scope="module")
def cube_jobs(tmp_path_factory):
    out = {}
    for fmt in ("lerobot", "robomimic"):
        root = tmp_path_factory.mktemp(f"cube_{fmt}")
        out[fmt] = (cube_task(fmt), root, run(cube_task(fmt), root))
    return out


def test_cube_variants_round_trip_and_carry_their_draws(cube_jobs):
    task, root, result = cube_jobs["lerobot"]
    assert result.accepted + sum(result.rejected.values()) == 12
    records = read_lerobot_records(root / "dataset")
    mimic = read_robomimic_records(root / "../" / cube_jobs["robomimic"][1].name / "dataset.hdf5")
    assert len(records) == result.accepted == len(mimic)
    source, variants = task.plan(0, 0, 6)
    drawn = {v.index: v for v in variants}
    for (ep, prov), (ep2, prov2) in zip(records, mimic, strict=True):
        assert prov == prov2 and ep.id == ep2.id
        for name, sig in ep.signals.items():
            np.testing.assert_array_equal(sig.values, ep2.signals[name].values)
        np.testing.assert_array_equal(ep.times, ep2.times)
        if prov.source_episode == source.episode.id:
            v = drawn[prov.variant]
            assert dict(prov.params) == {k: float(x) for k, x in v.values.items()}
            assert prov.transform["initial_state"] == v.initial_state
            assert prov.seed == 3
    # initial-state noise reached the replay: the first simulated state differs from the record
    ep, prov = records[0]
    assert not np.array_equal(
        ep.signals["qpos"].values[0], source.episode.signals["qpos"].values[0]
    )


def test_a_cube_variant_replayed_alone_from_its_provenance_is_identical(cube_jobs):
    task, root, _ = cube_jobs["lerobot"]
    scene = load_scene("cube_toss")
    raw = {e.id: e for e in load_episodes([CUBE], task._mapping(scene), select="0:2")}
    records = read_lerobot_records(root / "dataset")
    for ep, prov in records[::4]:
        again, reason = replay_provenance(
            scene, raw[prov.source_episode], prov, task.config(scene), metadata=ep.metadata
        )
        assert reason is None
        for name, sig in ep.signals.items():
            np.testing.assert_array_equal(again.signals[name].values, sig.values)


def test_a_rerun_writes_the_same_bytes_with_other_shard_sizes_still_the_same_data(
    cube_jobs, tmp_path
):
    task, root, _ = cube_jobs["robomimic"]
    again = run(cube_task("robomimic"), tmp_path / "again")
    assert digest(tmp_path / "again" / "dataset.hdf5") == digest(root / "dataset.hdf5")
    assert again.accepted == cube_jobs["robomimic"][2].accepted
    other = run(cube_task("lerobot"), tmp_path / "other", size=6)  # one shard per episode
    a = read_lerobot_records(tmp_path / "other" / "dataset")
    b = read_lerobot_records(cube_jobs["lerobot"][1] / "dataset")
    assert [p for _, p in a] == [p for _, p in b] and other.accepted == len(b)
    for (x, _), (y, _) in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.signals["qpos"].values, y.signals["qpos"].values)


def test_merged_lerobot_metadata_is_consistent(cube_jobs):
    _, root, result = cube_jobs["lerobot"]
    info = json.loads((root / "dataset" / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] == result.accepted
    import pyarrow.parquet as pq

    data = pq.read_table(root / "dataset" / "data" / "chunk-000" / "file-000.parquet")
    assert info["total_frames"] == data.num_rows
    np.testing.assert_array_equal(data.column("index").to_numpy(), np.arange(data.num_rows))
    eps = pq.read_table(root / "dataset" / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    np.testing.assert_array_equal(eps.column("episode_index").to_numpy(), np.arange(eps.num_rows))
    stats = json.loads((root / "dataset" / "meta" / "stats.json").read_text())
    q = np.stack(data.column("observation.state").to_numpy(zero_copy_only=False))
    np.testing.assert_allclose(stats["observation.state"]["mean"], q.mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stats["observation.state"]["std"], q.std(0), rtol=1e-6, atol=1e-9)
    assert stats["index"]["max"] == [data.num_rows - 1]


# -- Kinova push: object-centric ----------------------------------------------------------------
@pytest.fixture(scope="module")
def kinova_job(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinova")
    task = kinova_task()
    return task, root, run(task, root, size=4)


def test_object_centric_variants_move_the_cube_and_carry_the_hand(kinova_job):
    task, root, result = kinova_job
    assert result.accepted >= 8  # of 16
    records = read_lerobot_records(root / "dataset")
    scene = load_scene("kinova_push")
    config = task.config(scene)
    for ep, prov in records:
        e = 0 if prov.source_episode.startswith("CubeExp0001") else 1
        source, _ = task.plan(e, 0, 1)
        t = PlanarTransform.from_dict(prov.transform["object_centric"])
        assert t.pivot == source.pivot and abs(t.dx) <= 0.05 and abs(t.yaw_deg) <= 20
        hand_rec = source.episode.signals["body_pose:hand"].values
        hand = ep.signals["body_pose:hand"].values
        after = source.episode.times >= prov.transform["t_start"]
        np.testing.assert_allclose(
            hand[after], apply_poses(hand_rec[after], np.ones(after.sum()), t), atol=1e-12
        )
        before = source.episode.times <= prov.transform["t_start"] - config.blend
        np.testing.assert_array_equal(hand[before], hand_rec[before])
        cols = list(source.columns["cube"])
        start = ep.signals["qpos"].values[0, cols[:2]]
        np.testing.assert_allclose(start, np.array(source.pivot) + [t.dx, t.dy], atol=1e-9)
        moved = np.linalg.norm(ep.signals["qpos"].values[-1, cols[:2]] - start)
        assert moved >= 0.05  # the scene's predicate
        np.testing.assert_array_equal(
            ep.signals["body_pose:cube"].values, ep.signals["qpos"].values[:, cols]
        )


def test_an_object_centric_variant_replays_alone_from_its_provenance(kinova_job):
    task, root, _ = kinova_job
    scene = load_scene("kinova_push")
    raw = {e.id: e for e in load_episodes([KINOVA], task._mapping(scene))}
    records = read_lerobot_records(root / "dataset")
    for ep, prov in records[:: max(1, len(records) // 3)]:
        again, reason = replay_provenance(
            scene, raw[prov.source_episode], prov, task.config(scene), metadata=ep.metadata
        )
        assert reason is None
        for name, sig in ep.signals.items():
            np.testing.assert_array_equal(again.signals[name].values, sig.values)


def test_a_predicate_and_the_penetration_bound_reject_and_are_counted(tmp_path):
    task = kinova_task(variants=4, max_penetration=0.001)
    result = run(task, tmp_path / "pen", size=4)
    assert result.rejected == {"penetration": 8} and result.accepted == 0
    assert json.loads((tmp_path / "pen" / "manifest.json").read_text())["rejected"] == {
        "penetration": 8
    }


def _scene_copy(tmp_path, replace):
    src = scenes_root() / "kinova_push"
    folder = tmp_path / "scene"
    folder.mkdir()
    (folder / "kinova_push.xml").write_text((src / "kinova_push.xml").read_text())
    text = (src / "scene.toml").read_text().replace("../../assets", str(assets_root()))
    for old, new in replace:
        text = text.replace(old, new)
    (folder / "scene.toml").write_text(text)
    return str(folder)


def test_a_failing_task_predicate_is_counted_by_name(tmp_path):
    folder = _scene_copy(tmp_path, [("min = 0.05", "min = 0.5")])  # a 50 cm push: never
    task = AugmentTask(folder, (KINOVA,), _spec(KINOVA_SPEC), 3, chunk=3)
    result = run(task, tmp_path / "out", size=3)
    assert result.rejected == {"predicate:cube_moved": 6} and result.accepted == 0


def test_scene_augment_tables_are_checked():
    good = {"object": "cube", "hand": "hand", "transform": {"x": [-0.1, 0.1]}}
    assert parse_augment(good).transform.x == (-0.1, 0.1)
    bad = [
        {"objekt": "cube"},
        {"object": "cube", "transform": {"x": [0.1, -0.1]}, "hand": "hand"},
        {"transform": {"x": [-0.1, 0.1]}},  # no object/hand
        {"crop": True},  # no segment
        {"segment": {"signal": "body_pose:cube", "speed": -1}},
        {"segment": {"speed": 1}},
        {"predicates": {"p": {"kind": "teleport", "body": "cube", "min": 1}}},
        {"predicates": {"p": {"kind": "displacement", "body": "cube"}}},
        {"predicates": {"p": {"kind": "displacement", "body": "cube", "min": 2, "max": 1}}},
        {"predicates": {"p": {"kind": "displacement", "body": "cube", "min": 1, "extra": 0}}},
        {"max_penetration": 0},
        {"blend": "long"},
        {"object": "cube", "hand": "hand", "transform": {"yaw_deg": [0, 270]}},
    ]
    for raw in bad:
        with pytest.raises(SceneError):
            parse_augment(raw)
    scene = load_scene("kinova_push")
    with pytest.raises(SceneError, match="unknown body 'ghost'"):
        parse_augment({"object": "ghost"}).check_model(scene.model, "x")
    with pytest.raises(SceneError, match="not a mocap"):
        parse_augment({"hand": "cube"}).check_model(scene.model, "x")


def test_a_scene_folder_with_a_bad_augment_table_is_refused(tmp_path):
    folder = _scene_copy(tmp_path, [('kind = "displacement"', 'kind = "teleport"')])
    task = AugmentTask(folder, (KINOVA,), _spec(KINOVA_SPEC), 2)
    with pytest.raises(SceneError, match="teleport"):
        task.check()


# -- the command line, hostile --------------------------------------------------------------------
BASE = [CUBE, "--scene", "cube_toss", "--spec", str(CUBE_SPEC), "--episodes", "0:1"]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--variants", "0"], "--variants"),
        (["--variants", "2", "--seed", "-1"], "--seed"),
        (["--variants", "2", "--transform", "x=1"], "--transform"),
        (["--variants", "2", "--transform", "x=-0.1:0.1"], "object"),  # cube_toss has no hand
        (["--variants", "2", "--transform", "z=0:1"], "unknown keys"),
        (["--variants", "2", "--transform", "x=a:b"], "numbers"),
        (["--variants", "2", "--shard-size", "0"], "--shard-size"),
        (["--variants", "2", "--chunk", "0"], "--chunk"),
        (["--variants", "2", "--max-penetration", "0"], "--max-penetration"),
        (["--variants", "2", "--backend", "serial", "--ray-address", "x:1"], "--ray-address"),
        (["--variants", "2", "--episodes", "500:600"], "500"),
        (["--variants", "2", "--num-cpus", "0"], "--num-cpus"),
    ],
)
def test_cli_refuses_bad_options_and_writes_nothing(tmp_path, capsys, extra, needle):
    out = tmp_path / "out"
    args = ["augment", *BASE[:-2], *(BASE[-2:] if "--episodes" not in extra else []), *extra]
    assert main([*args, "--out", str(out)]) == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()


def test_cli_refuses_bad_spec_scene_and_format(tmp_path, capsys):
    out = tmp_path / "out"
    bad_spec = tmp_path / "spec.toml"
    bad_spec.write_text(
        '[parameters."pair_friction[nope][0]"]\ndistribution = "uniform"\nlower = 0.1\nupper = 0.2\n'
    )
    for args in (
        ["--spec", str(tmp_path / "missing.toml")],
        ["--spec", str(bad_spec)],
        ["--scene", "no_such_scene"],
    ):
        base = [
            "augment",
            CUBE,
            "--scene",
            "cube_toss",
            "--spec",
            str(CUBE_SPEC),
            "--variants",
            "2",
        ]
        i = base.index(args[0])
        base[i + 1] = args[1]
        assert main([*base, "--out", str(out)]) == 2
        assert "error:" in capsys.readouterr().err
        assert not out.exists()
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "augment",
                CUBE,
                "--scene",
                "cube_toss",
                "--spec",
                str(CUBE_SPEC),
                "--variants",
                "2",
                "--format",
                "csv",
                "--out",
                str(out),
            ]
        )
    assert exc.value.code == 2 and not out.exists()


def test_cli_runs_and_reports(tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "augment",
                *BASE,
                "--variants",
                "3",
                "--out",
                str(out),
                "--no-progress",
                "--format",
                "robomimic",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "accepted" in text and (out / "dataset.hdf5").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend"] == "serial" and manifest["variants_done"] == 3


def test_task_is_picklable_and_fingerprinted():
    import pickle

    t = cube_task()
    assert pickle.loads(pickle.dumps(t)).fingerprint() == t.fingerprint()
    assert cube_task(variants=7).fingerprint() != t.fingerprint()
    with pytest.raises(SettingsError):
        cube_task(fmt="csv")
    assert copy.copy(t) == t
    assert Path(CUBE).exists()


def test_the_in_rollout_penetration_and_trajectories_match_plain_references():
    """The sensing model's replay equals `replay` on the scene as compiled (bit for bit), and
    its contact sensor's depth equals kinematics + collision on every sample's state."""
    from workbench.augment.variant import model_copies, sensing_scene, simulate, variant_episode
    from workbench.replay import ReplaySettings, replay

    task = cube_task(variants=4)
    scene = task._scene()
    config = task.config(scene)
    source, variants = task.plan(0, 0, 4)
    sensing, sensor = sensing_scene(scene)
    assert sensing.model.nsensordata == scene.model.nsensordata + 1
    data = mujoco.MjData(scene.model)
    depths = []
    import workbench.augment.variant as V

    original = V.reject_reason

    def spy(trace, source_, config_, penetration, *, limit):
        depths.append(penetration)
        return original(trace, source_, config_, penetration, limit=limit)

    V.reject_reason = spy
    try:
        out = list(
            simulate(
                sensing,
                source,
                config,
                variants,
                task.settings,
                models=model_copies(sensing, 3),
                limit=1.0,
                sensor=sensor,
            )
        )
    finally:
        V.reject_reason = original
    for (v, trace, _), depth in zip(out, depths, strict=True):
        ep = variant_episode(source, config, None, v.initial_state)
        (ref,) = replay(scene, [ep], ReplaySettings("open_loop", threads=1), params=dict(v.values))
        np.testing.assert_array_equal(trace.predicted["qpos"], ref.predicted["qpos"])
        q = trace.predicted["qpos"][0][:-1]
        full = np.tile(scene.model.qpos0, (len(q), 1))
        full[:, trace.bound.qpos_index] = q
        m = copy.copy(scene.model)
        from workbench.physics import set_values

        set_values(m, dict(v.values))
        assert depth == pytest.approx(max_penetration(m, mujoco.MjData(m), full, None), abs=1e-12)
        assert depth > 0  # the cube lands: contacts exist
    del data


# -- sensor noise on the written variants --------------------------------------------------------
NOISE = {"distribution": "normal", "mean": 0.0, "std": 0.002}


def _noisy_spec(**columns):
    spec = _spec(CUBE_SPEC)
    spec["sensor_noise"] = {key: dict(NOISE) for key in columns} or {"qpos/cube[0]": NOISE}
    return spec


def test_sensor_noise_is_added_to_the_written_columns_only_and_replays_from_provenance(tmp_path):
    """The spec's [sensor_noise] reaches the dataset: each written variant differs from its
    noise-free replay (its provenance without `sensor_noise`) by zero-mean noise of the spec's
    std in the named column only, and `replay_provenance` adds the very same noise again."""
    import dataclasses

    task = AugmentTask("cube_toss", (CUBE,), _noisy_spec(), 8, select="0:2", seed=3, chunk=4)
    result = run(task, tmp_path / "noisy", size=4)
    records = read_lerobot_records(tmp_path / "noisy" / "dataset")
    assert len(records) == result.accepted > 0
    scene = load_scene("cube_toss")
    raw = {e.id: e for e in load_episodes([CUBE], task._mapping(scene), select="0:2")}
    diffs = []
    for ep, prov in records:
        assert prov.transform["sensor_noise"]["columns"] == {"qpos/cube[0]": NOISE}
        args = (scene, raw[prov.source_episode])
        again, reason = replay_provenance(*args, prov, task.config(scene), metadata=ep.metadata)
        assert reason is None
        for name, sig in ep.signals.items():
            np.testing.assert_array_equal(again.signals[name].values, sig.values)
        quiet = {k: v for k, v in prov.transform.items() if k != "sensor_noise"}
        clean, _ = replay_provenance(
            *args, dataclasses.replace(prov, transform=quiet), task.config(scene)
        )
        q_clean, q_noisy = clean.signals["qpos"].values, ep.signals["qpos"].values
        diffs.append(q_noisy[:, 0] - q_clean[:, 0])
        np.testing.assert_array_equal(q_noisy[:, 1:], q_clean[:, 1:])
        np.testing.assert_array_equal(clean.signals["qvel"].values, ep.signals["qvel"].values)
    d = np.concatenate(diffs)
    assert abs(d.mean()) < 4 * 0.002 / np.sqrt(d.size) and 0.0019 < d.std() < 0.0021
    assert len({round(float(x[0]), 12) for x in diffs}) == len(diffs)  # a stream per variant


def test_sensor_noise_on_a_missing_column_is_refused_before_anything_is_written(tmp_path):
    task = AugmentTask("cube_toss", (CUBE,), _noisy_spec(**{"qpos/cube[9]": 1}), 2, select="0:1")
    with pytest.raises(SettingsError, match=r"sensor_noise 'qpos/cube\[9\]'.*no such column"):
        run(task, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "bad, needle",
    [
        ({"seed": -1, "columns": {"qpos/a": NOISE}}, "seed"),
        ({"seed": 1}, "missing keys"),
        ({"seed": 1, "columns": {}}, "non-empty"),
        ({"seed": 1, "columns": {"qpos/a": {"distribution": "cauchy"}}}, "distribution"),
        ({"seed": 1, "columns": {"qpos/a": 3}}, "expected distribution tables"),
        ({"seed": 1, "columns": {"qpos/a": NOISE}, "extra": 1}, "unknown keys"),
    ],
)
def test_a_damaged_sensor_noise_provenance_is_named(bad, needle):
    from workbench.augment.noise import SensorNoise
    from workbench.errors import DatasetError

    with pytest.raises(DatasetError, match=needle):
        SensorNoise.from_dict(bad)


def test_cli_refuses_sensor_noise_on_a_missing_column(tmp_path, capsys):
    from workbench.randomize import RandomizationSpec

    spec = tmp_path / "spec.toml"
    spec.write_text(RandomizationSpec.from_dict(_noisy_spec(**{"qvel/nope": 1})).to_toml())
    out = tmp_path / "out"
    args = ["augment", CUBE, "--scene", "cube_toss", "--spec", str(spec), "--variants", "2"]
    assert main([*args, "--episodes", "0:1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "sensor_noise 'qvel/nope'" in err and "Traceback" not in err
    assert not out.exists()
