"""The validation sweeps reach the device mesh: ``paper_reproduce.py --devices N`` builds a mesh,
``Context.mesh`` carries it, and every suite that runs the theorem-validation runner hands it to
``experiments.validation.runner.launch``, where every runner call goes (it splits the seeds
over ``fit_mesh(mesh, n_seeds)``).

In this process JAX has one CPU device, so the mesh here is a stand-in object and the runner is
stopped at its first call; the numbers on a real 8-device mesh are compared with one device in
``tests/test_distributed_training.py`` (a subprocess, the device count is fixed when JAX starts).
"""

from __future__ import annotations

import inspect
import sys

import jax
import numpy as np
import pytest

import experiments.validation.runner as runner
from experiments import distributed
from experiments.reproduction import registry

# The registry's experiments that run the theorem-validation runner.
SWEEP_SUITES = (
    "rate",
    "heterogeneity",
    "noise_density",
    "tightness",
    "lemmas",
    "baselines",
    "trust_ratios",
)


class _Reached(Exception):
    """Raised by the stand-in runner: the suite got as far as its first sweep."""


@pytest.mark.parametrize("name", SWEEP_SUITES)
def test_every_sweep_suite_passes_the_context_mesh_to_the_runner(name, monkeypatch):
    sentinel = object()
    seen = []
    signature = inspect.signature(runner.launch)

    def runner_stub(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        seen.append(bound.arguments["mesh"])
        raise _Reached

    # simulate, simulate_many, simulate_instances and validate all call launch; suites that
    # import launch itself hold their own reference to it
    real = runner.launch
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("experiments") and (
            getattr(module, "launch", None) is real
        ):
            monkeypatch.setattr(module, "launch", runner_stub)
    ctx = registry.Context("smoke", mesh=sentinel)
    with pytest.raises(_Reached):
        registry.EXPERIMENTS[name].run(ctx)
    assert seen == [sentinel]


def test_every_registered_validation_sweep_is_checked_above():
    """A new suite that runs the validation runner must be added to SWEEP_SUITES."""
    for name, exp in registry.EXPERIMENTS.items():
        src = inspect.getsource(inspect.getmodule(exp.run))
        if "simulate(" in src or "validate(" in src or "launch(" in src:
            assert name in SWEEP_SUITES, name


def test_fit_mesh_uses_the_devices_the_runs_divide_over():
    """n runs go on the whole mesh, on the first gcd(n, size) devices, or on the default device."""
    devices = np.array(jax.devices() * 8)  # the same CPU device 8 times: only shapes matter here
    mesh = jax.sharding.Mesh(devices, ("data",))
    assert distributed.fit_mesh(None, 5) is None
    assert distributed.fit_mesh(mesh, 16) is mesh
    assert distributed.fit_mesh(mesh, 12).size == 4
    assert distributed.fit_mesh(mesh, 6).size == 2
    assert distributed.fit_mesh(mesh, 3) is None
    two_axes = jax.sharding.Mesh(devices.reshape(2, 4), ("a", "b"))
    with pytest.raises(ValueError, match=r"runs=3 is invalid: expected a multiple of the 8"):
        distributed.fit_mesh(two_axes, 3)


def test_devices_flag_forces_host_devices_before_jax_starts(monkeypatch):
    """`paper_reproduce.py --devices N` (N > 1) asks XLA for N host devices; 1, 'all' and a
    count already in XLA_FLAGS are left alone."""
    import paper_reproduce

    flag = "--xla_force_host_platform_device_count"
    for devices, before, after in (
        (2, "", f"{flag}=2"),
        (4, "--xla_cpu_enable_fast_math=false", f"--xla_cpu_enable_fast_math=false {flag}=4"),
        (1, "", ""),
        ("all", "", ""),
        (3, f"{flag}=8", f"{flag}=8"),
    ):
        monkeypatch.setenv("XLA_FLAGS", before)
        paper_reproduce._force_host_devices(devices)
        assert paper_reproduce.os.environ["XLA_FLAGS"] == after, devices
