"""Event windows in `workbench gap` / `calibrate` and the Python API, the contact-onset metric
in gap output, and hostile event options (exit 2, nothing written)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_manip_drivers import push_episode, push_scene

from workbench import ReplaySettings, Signal, replay
from workbench.cli import main
from workbench.errors import SettingsError
from workbench.io import load_episodes
from workbench.metrics.events import EventWindow, event_interval, event_slices, parse_event
from workbench.metrics.gap import gap_report
from workbench.paths import assets_root
from workbench.pipeline import run_gap

KINOVA = assets_root() / "data" / "kinova_push"
MAP = assets_root() / "mappings" / "kinova_push.toml"
RUN1 = KINOVA / "CubeExp0001_6D.tsv"


def test_parse_event_syntax():
    ev = parse_event("speed:cube > 0.01", margin=0.2)
    assert ev == EventWindow("body_pose:cube", 0.01, 0.2, 0.2)
    ev = parse_event(" speed:marker:rope_08>0.5 ", margin=(0.1, 0.4))
    assert (ev.signal, ev.speed, ev.margin_before, ev.margin_after) == (
        "marker:rope_08",
        0.5,
        0.1,
        0.4,
    )
    assert parse_event("speed:cube > 2e-2").margin_after == 0.3  # default margins


@pytest.mark.parametrize(
    ("text", "margin", "words"),
    [
        (
            "velocity:cube > 0.01",
            None,
            ["--event", "speed:<body> > <m/s>", "'velocity:cube > 0.01'"],
        ),
        ("speed:cube < 0.01", None, ["--event", "'speed:cube < 0.01'"]),
        ("speed:cube > fast", None, ["--event", "fast"]),
        ("speed:cube > -1", None, ["--event: threshold", "-1"]),
        ("speed:cube > 0.01", -0.2, ["--event-margin (before)", "-0.2"]),
        ("speed:cube > 0.01", (0.1, 0.2, 0.3), ["--event-margin", "before,after"]),
    ],
)
def test_parse_event_hostile(text, margin, words):
    with pytest.raises(SettingsError) as err:
        parse_event(text, margin=margin)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_run_gap_event_cuts_episodes_and_adds_contact_onset(tmp_path):
    ev = parse_event("speed:cube > 0.03", margin=(0.3, 0.5))
    report = run_gap(RUN1, scene="kinova_push", event=ev, out=tmp_path / "g", plot_episodes=0)
    (ep,) = load_episodes(RUN1, MAP)
    span = event_interval(ep, ev)
    (entry,) = report.episodes
    (cut,) = event_slices([ep], ev)
    # the replay covered exactly the event window (0.01 s samples)
    assert span[1] - span[0] == cut.num_samples < ep.num_samples / 2
    assert entry["metrics"]["qpos/cube/position_error_m/divergence_time_s"] <= (
        cut.times[-1] - cut.times[0] + 1e-9
    )
    # contact onset: sim first hand-cube contact vs the real cube's motion onset, both inside
    m = entry["metrics"]
    assert m["contact/cube/onset_error_s"] == pytest.approx(
        m["contact/cube/sim_contact_s"] - m["contact/cube/real_onset_s"]
    )
    assert 0.0 < m["contact/cube/real_onset_s"] < cut.times[-1] - cut.times[0]
    assert abs(m["contact/cube/onset_error_s"]) < 0.3
    saved = json.loads((tmp_path / "g" / "gap.json").read_text())
    assert saved["settings"]["event"]["signal"] == "body_pose:cube"
    assert "contact/cube/onset_error_s" in saved["aggregate"]


def test_gap_report_event_scores_only_inside_the_window():
    scene, ep = push_scene(), push_episode(T=80)
    pose = ep.signals["body_pose:pusher"].values.copy()
    pose[40:, 0] = pose[40, 0]  # the pusher stops at 0.4 s: the event is its first half
    ep = ep.with_signals(
        **{"body_pose:pusher": Signal(pose, ep.signals["body_pose:pusher"].columns)}
    )
    (trace,) = replay(scene, [ep], ReplaySettings("open_loop"))
    ev = EventWindow("body_pose:pusher", speed=0.3, margin_before=0.0, margin_after=0.0, smooth=0.0)
    whole = gap_report([trace], scene="push", settings={})
    inside = gap_report([trace], scene="push", settings={}, event=ev)
    a, b = event_interval(trace.episode, ev)
    assert (a, b) == (0, 40)
    err = np.abs(trace.predicted["qpos"][0][a:b, 0] - trace.recorded("qpos")[0][a:b, 0])
    key = "qpos/cube/position_error_m/max"
    cols = list(trace.episode.signals["qpos"].columns)
    cube = [cols.index(f"cube[{i}]") for i in range(3)]
    pos = np.linalg.norm(
        trace.predicted["qpos"][0][a:b][:, cube] - trace.recorded("qpos")[0][a:b][:, cube], axis=1
    )
    assert inside.episodes[0]["metrics"][key] == pytest.approx(pos.max())
    assert err.size == b - a
    assert whole.episodes[0]["metrics"][key] > inside.episodes[0]["metrics"][key]
    windows = replay(scene, [ep], ReplaySettings("windows", horizons=(0.05,), window_stride=0.05))
    cut = gap_report(windows, scene="push", settings={}, event=ev)
    assert cut.episodes[0]["windows"] == int(
        np.sum((windows[0].starts >= a) & (windows[0].starts < b))
    )


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--event", "speed cube > 0.01"], ["--event", "speed:<body> > <m/s>"]),
        (["--event", "speed:spoon > 0.01"], ["--event", "unknown body 'spoon'", "'cube'"]),
        (["--event", "speed:marker:tip > 0.01"], ["--event", "'marker:tip'", "signals"]),
        (["--event", "speed:cube > 0.01", "--event-margin", "-0.2"], ["--event-margin", "-0.2"]),
        (["--event", "speed:cube > 0.01", "--event-margin", "x"], ["--event-margin", "'x'"]),
        (["--event-margin", "0.2"], ["--event-margin", "with --event"]),
        (["--event", "speed:cube > 50"], ["event window", "faster than 50"]),
        (["--score", "qpos,body_pose:hand"], ["--score", "'body_pose:hand'", "qpos/cube"]),
    ],
)
def test_hostile_event_options_exit_2_and_write_nothing(tmp_path, capsys, extra, words):
    out = tmp_path / "never"
    argv = ["gap", str(RUN1), "--scene", "kinova_push", "--out", str(out), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, (w, err)
    assert "Traceback" not in err
    assert not out.exists()
    cal = [
        "calibrate",
        str(RUN1),
        "--scene",
        "kinova_push",
        "--out",
        str(out),
        "--space",
        str(assets_root().parent / "scenes" / "kinova_push" / "calibration_space.toml"),
        *extra,
    ]
    if "--score" not in extra:
        assert main(cal) == 2
        err = capsys.readouterr().err
        for w in words[:1]:
            assert w in err, (w, err)
        assert not out.exists()
