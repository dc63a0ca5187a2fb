"""Ensemble fidelity: replay each episode open loop under N samples of a spec and score the real
outcome against the ensemble (coverage of central regions, energy score) next to point models.

Outcomes (from the last sample of each replay, bound signal `qpos`):
- `final_position/<joint>` (3,) [m] for free joints, and its components `.../x`, `.../y`, `.../z`;
- `final_qpos/<joint>` (1,) [rad or m] for hinge and slide joints.
Diverged members are left out of their episode's ensemble and counted.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from workbench.episode import Episode
from workbench.errors import SettingsError
from workbench.metrics.ensemble import LEVELS, MetricScores, score_metric
from workbench.randomize.sampling import Randomizer, Sample
from workbench.randomize.spec import RandomizationSpec
from workbench.replay import ReplaySettings, SimTrace, replay_variants
from workbench.scenes.scene import Scene

Outcomes = dict[str, np.ndarray]


def outcomes(trace: SimTrace, recorded: Episode | None = None) -> tuple[Outcomes, Outcomes]:
    """(simulated, real) final outcomes of one open-loop replay; `recorded` (default: the trace's
    episode) supplies the real final state."""
    recorded = recorded or trace.episode
    sim_row = trace.predicted["qpos"][0][-1]
    real_row = recorded.signal("qpos").values[-1]
    sim, real = {}, {}
    for group in trace.bound.groups.get("qpos", ()):
        cols = list(group.columns)
        if group.kind == "pose":
            name = f"final_position/{group.name}"
            sim[name], real[name] = sim_row[cols[:3]], real_row[cols[:3]]
            for axis, c in zip("xyz", cols[:3], strict=True):
                sim[f"{name}/{axis}"], real[f"{name}/{axis}"] = sim_row[[c]], real_row[[c]]
        else:
            name = f"final_qpos/{group.name}"
            sim[name], real[name] = sim_row[cols], real_row[cols]
    return sim, real


@dataclasses.dataclass(frozen=True)
class EnsembleResult:
    """Per metric: members (per episode (N_e, d)), real outcomes (d,), point outcomes, scores."""

    episodes: list[str]
    samples_per_episode: int
    members: dict[str, list[np.ndarray]]
    real: dict[str, list[np.ndarray]]
    points: dict[str, dict[str, list[np.ndarray]]]  # point model -> metric -> per episode (d,)
    scores: dict[str, MetricScores]
    diverged: list[int]  # members left out, per episode
    samples: list[Sample]

    def summary(self, levels: Sequence[float] = LEVELS) -> dict:
        return {
            "episodes": self.episodes,
            "samples_per_episode": self.samples_per_episode,
            "diverged_members": int(sum(self.diverged)),
            "metrics": {k: v.summary(levels) for k, v in self.scores.items()},
        }

    def save(self, folder: str | Path) -> dict[str, Path]:
        """ensemble.json (summary + per-episode scores), samples.jsonl (exact values of every
        member), plots/ (spread, reliability). The folder must exist."""
        from workbench.output import atomic_write_text
        from workbench.randomize import plots

        folder = Path(folder)
        data = self.summary()
        data["per_episode"] = {
            k: {
                "centrality": v.centrality.tolist(),
                "energy_score": v.energy.tolist(),
                **{f"energy_score_{p}": e.tolist() for p, e in v.points.items()},
            }
            for k, v in self.scores.items()
        }
        data["diverged_per_episode"] = self.diverged
        paths = {
            "summary": atomic_write_text(folder / "ensemble.json", json.dumps(data, indent=1)),
            "samples": atomic_write_text(
                folder / "samples.jsonl",
                "".join(json.dumps(s.to_dict()) + "\n" for s in self.samples),
            ),
        }
        (folder / "plots").mkdir(exist_ok=True)
        paths.update(plots.save_all(self, folder / "plots"))
        return paths


def run_ensemble(
    scene: Scene,
    episodes: Sequence[Episode],
    spec: RandomizationSpec,
    *,
    samples: int = 32,
    seed: int = 0,
    points: Mapping[str, Mapping[str, float]] | None = None,
    chunk: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> EnsembleResult:
    """Replay every episode open loop under `samples` draws of `spec` and score its real outcome.

    Args:
      scene, episodes: replayed from each episode's recorded initial state (plus the sample's
        initial-state noise) with its recorded commands.
      spec: the randomization; each (episode, member) is sampled from (spec, episode id, member
        index, seed).
      points: point models scored alongside (name -> physics values); default `nominal` (the
        scene as compiled) and `centre` (every distribution at its centre, no noise).
      chunk: members simulated together.
    """
    for option, value, least in (("samples", samples, 2), ("seed", seed, 0), ("chunk", chunk, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise SettingsError(f"{option}: expected an integer >= {least}, got {value!r}")
    if not episodes:
        raise SettingsError("episodes: expected at least one episode, got none")
    randomizer = Randomizer(spec, scene.model)
    for ep in episodes:
        randomizer.check_episode(ep)
    settings = ReplaySettings("open_loop")
    if points is None:
        points = {"nominal": {}, "centre": randomizer.centre_values()}
    point_out: dict[str, dict[str, list[np.ndarray]]] = {}
    names = list(points)
    for i, traces in replay_variants(scene, episodes, [dict(points[n]) for n in names], settings):
        per = [outcomes(t, ep)[0] for t, ep in zip(traces, episodes, strict=True)]
        point_out[names[i]] = {k: [p[k] for p in per] for k in per[0]}
    members: dict[str, list[np.ndarray]] = {}
    real: dict[str, list[np.ndarray]] = {}
    diverged, all_samples = [], []
    for e, ep in enumerate(episodes):
        drawn = randomizer.samples(ep.id, range(samples), seed=seed)
        all_samples += drawn
        rows: list[Outcomes] = []
        real_e: Outcomes = {}
        for i, (trace,) in replay_variants(
            scene,
            [ep],
            [s.values for s in drawn],
            settings,
            chunk=chunk,
            perturb=lambda i, episode, drawn=drawn: randomizer.perturb(episode, drawn[i]),
        ):
            if trace.diverged.any():
                continue
            sim, real_e = outcomes(trace, ep)
            rows.append(_with_sensor_noise(randomizer, drawn[i], trace, sim))
        diverged.append(samples - len(rows))
        if not rows:
            raise SettingsError(f"episode {ep.id!r}: every ensemble member diverged")
        for k in rows[0]:
            members.setdefault(k, []).append(np.stack([r[k] for r in rows]))
            real.setdefault(k, []).append(real_e[k])
        if progress:
            progress(e + 1, len(episodes))
    scores = {
        k: score_metric(k, members[k], real[k], {p: point_out[p][k] for p in point_out})
        for k in members
    }
    return EnsembleResult(
        [ep.id for ep in episodes], samples, members, real, point_out, scores, diverged, all_samples
    )


def _with_sensor_noise(
    randomizer: Randomizer, sample: Sample, trace: SimTrace, sim: Outcomes
) -> Outcomes:
    """Outcomes as a sensor would record them: the sample's sensor noise on `qpos` columns."""
    if not randomizer.spec.sensor_noise:
        return sim
    sig = trace.episode.signal("qpos")
    noise = randomizer.sensor_noise(sample, "qpos", sig.columns, 1)[0]
    if not noise.any():
        return sim
    noisy_row = trace.predicted["qpos"][0][-1] + noise
    fake = dataclasses.replace(
        trace,
        predicted={**trace.predicted, "qpos": noisy_row[None, None, :]},
    )
    return outcomes(fake, trace.episode)[0]


def load_points(specs: Sequence[str]) -> dict[str, dict[str, float]]:
    """`NAME=FILE` pairs (FILE: a parameter-value file) -> point models."""
    from workbench.physics import load_values

    out = {}
    for item in specs:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SettingsError(f"--point: expected NAME=PARAMS_FILE, got {item!r}")
        out[name] = load_values(path)
    return out
