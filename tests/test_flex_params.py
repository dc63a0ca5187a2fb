"""Deformables: flex elasticity and damping as calibratable physics values (`scale:` factors)."""

from __future__ import annotations

import copy

import mujoco
import numpy as np
import pytest
from conftest import record

from workbench import Binding, ReplaySettings, replay
from workbench.calibrate import Parameter, ParameterSpace, calibrate
from workbench.errors import ParameterError
from workbench.physics import resolve, set_values, values_applied
from workbench.scenes.scene import scene_from_spec

FLEX_XML = """
<mujoco>
  <option timestep="0.002" gravity="0 0 0"/>
  <worldbody>
    <flexcomp name="jelly" type="grid" count="2 2 2" spacing=".05 .05 .05" radius=".005"
              mass="0.5" dim="3">
      <edge equality="false"/>
      <elasticity young="{young}" poisson="0.2" damping="0.002"/>
      <contact selfcollide="none" conaffinity="0" contype="0"/>
    </flexcomp>
  </worldbody>
</mujoco>
"""


def _spec(young=3e3):
    spec = mujoco.MjSpec.from_string(FLEX_XML.format(young=young))
    for i, joint in enumerate(spec.joints):  # flexcomp's vertex joints come unnamed
        joint.name = f"v{i}"
    return spec


def _scene(young=3e3):
    binding = Binding(timestep=0.002, state_joints=tuple(f"v{i}" for i in range(24)))
    return scene_from_spec("jelly", lambda: _spec(young), binding)


def _episode(model, seed=0, T=150):
    rng = np.random.default_rng(seed)
    return record(model, np.zeros(model.nq), rng.normal(0, 0.3, model.nv), np.zeros((T, 0)), 1)


def test_address_laid_out_fields_only_through_a_scale():
    model = _scene().model
    with pytest.raises(
        ParameterError, match=r"not one row per flex.*'scale:flex_stiffness\[<flex>\]'"
    ):
        resolve(model, "flex_stiffness[jelly]")
    with pytest.raises(ParameterError, match="unknown flex 'cloth'; valid: 'jelly'"):
        resolve(model, "scale:flex_stiffness[cloth]")
    with pytest.raises(ParameterError, match="expected >= 0"):
        set_values(model, {"scale:flex_stiffness[jelly]": -1.0})
    with pytest.raises(ParameterError, match="'jelly' has no flex_bending data"):
        resolve(model, "scale:flex_bending[jelly]")  # a volume: no shell bending
    address = resolve(model, "scale:flex_stiffness[jelly]")
    assert len(address.index) == model.flex_stiffness.size and address.read(model)[0] == 1.0


def test_stiffness_scale_equals_recompiling_with_a_scaled_young_modulus():
    scene, softer = _scene(3e3), _scene(1.2e3)
    ep = _episode(scene.model)
    truth = _episode(softer.model)
    before = scene.model.flex_stiffness.copy()
    (trace,) = replay(
        scene, [ep], ReplaySettings("open_loop"), params={"scale:flex_stiffness[jelly]": 0.4}
    )
    np.testing.assert_allclose(trace.predicted["qpos"][0], truth.signals["qpos"].values, atol=1e-10)
    np.testing.assert_array_equal(scene.model.flex_stiffness, before)  # restored exactly
    with values_applied(scene.model, {"scale:flex_stiffness[jelly]": 0.4}):
        np.testing.assert_allclose(
            scene.model.flex_stiffness, softer.model.flex_stiffness, rtol=1e-12
        )


def test_scaled_inertia_stays_physical_and_restores():
    from conftest import arm_scene

    model = arm_scene().model
    before = model.body_inertia.copy()
    with values_applied(model, {"scale:body_inertia[link2]": 1.7}):
        np.testing.assert_allclose(model.body_inertia[2], 1.7 * before[2])
    np.testing.assert_array_equal(model.body_inertia, before)


def test_windows_calibration_recovers_flex_stiffness_and_damping():
    truth = copy.copy(_scene().model)
    set_values(truth, {"scale:flex_stiffness[jelly]": 0.6, "flex_damping[jelly]": 0.004})
    eps = [_episode(truth, seed=s, T=120) for s in (1, 2)]
    space = ParameterSpace(
        (
            Parameter("scale:flex_stiffness[jelly]", 0.2, 2.0, "log"),
            Parameter("flex_damping[jelly]", 0.0005, 0.02, "log"),
        )
    )
    result = calibrate(_scene(), eps, space, horizon=0.08, stride=0.04, start=[0.9, 0.0025])
    np.testing.assert_allclose(result.values, [0.6, 0.004], rtol=0.02)
