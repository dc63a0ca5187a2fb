"""The Gymnasium environment: passes Gymnasium's checker, starts from recorded states, and replaying
the recorded commands reproduces the open-loop replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from workbench import ReplaySettings, load_episodes, load_scene, replay
from workbench.errors import SettingsError
from workbench.gym import ReplayEnv
from workbench.paths import assets_root


@pytest.fixture(scope="module")
def pendulum():
    scene = load_scene("double_pendulum")
    (run,) = load_episodes(
        assets_root() / "data" / "double_pendulum",
        assets_root() / "mappings" / "double_pendulum.toml",
    )
    return scene, [run.slice(0, 200), run.slice(1000, 1200)]


def test_env_passes_gymnasiums_checker(pendulum):
    scene, episodes = pendulum
    check_env(ReplayEnv(scene, episodes), skip_render_check=True)


def test_recorded_commands_reproduce_the_open_loop_replay(pendulum):
    scene, episodes = pendulum
    env = ReplayEnv(scene, episodes)
    obs, info = env.reset(seed=0, options={"episode": 1})
    assert info["episode"] == episodes[1].id
    np.testing.assert_allclose(obs[:2], episodes[1].signals["qpos"].values[0])
    qpos = [obs[:2]]
    truncated = False
    while not truncated:
        obs, reward, terminated, truncated, _ = env.step(env.recorded_action())
        assert not terminated
        qpos.append(obs[:2])
    (trace,) = replay(scene, [episodes[1]], ReplaySettings("open_loop"))
    np.testing.assert_allclose(np.array(qpos), trace.predicted["qpos"][0], atol=1e-9)


def test_physics_draws_apply_per_reset_and_never_compound(pendulum):
    scene, episodes = pendulum
    nominal = scene.model.dof_damping.copy()

    def sample(rng):
        return {"dof_damping[shoulder]": float(rng.uniform(0.5, 1.0))}

    env = ReplayEnv(scene, episodes, physics=sample)
    seen = []
    for seed in range(3):
        _, info = env.reset(seed=seed)
        value = info["physics"]["dof_damping[shoulder]"]
        assert env.model.dof_damping[0] == value
        seen.append(value)
    assert len(set(seen)) == 3
    np.testing.assert_array_equal(scene.model.dof_damping, nominal)  # the scene's own model
    _, again = env.reset(seed=1)
    assert again["physics"]["dof_damping[shoulder]"] == seen[1]  # reproducible from the seed


def test_bad_options_are_refused(pendulum):
    scene, episodes = pendulum
    env = ReplayEnv(scene, episodes)
    with pytest.raises(SettingsError, match=r"options\['episode'\]: expected 0..1, got 5"):
        env.reset(options={"episode": 5})
    with pytest.raises(SettingsError, match="at least one recorded episode"):
        ReplayEnv(scene, [])


def test_a_randomization_spec_draws_physics_and_initial_state_per_reset():
    from workbench.randomize import RandomizationSpec

    scene = load_scene("cube_toss")
    tosses = load_episodes(
        assets_root() / "data" / "cube_toss",
        assets_root() / "mappings" / "cube_toss.toml",
        select="0:3",
    )
    spec = RandomizationSpec.load(Path(scene.folder) / "randomization.toml")
    env = ReplayEnv(scene, tosses, spec=spec)
    obs, info = env.reset(seed=3, options={"episode": 0})
    sample = info["sample"]
    assert sample.episode == tosses[0].id
    for name, value in sample.values.items():
        from workbench.physics import resolve

        got = resolve(env.model, name).read(env.model)
        assert np.allclose(got, value) or name.startswith("scale:")
    start = tosses[0].signals["qvel"].values[0]
    offsets = np.array([sample.initial_state.get(f"qvel/cube[{i}]", 0.0) for i in range(6)])
    np.testing.assert_allclose(obs[7:13], start + offsets)
    _, again = env.reset(seed=3, options={"episode": 0})
    assert again["sample"] == sample  # the env's seed regenerates the draw
    _, other = env.reset(seed=4, options={"episode": 0})
    assert other["sample"].values != sample.values
    with pytest.raises(SettingsError, match="both"):
        ReplayEnv(scene, tosses, spec=spec, physics=lambda rng: {})
