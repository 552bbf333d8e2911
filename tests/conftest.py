"""Precision for the tests: float64 by default, JAX's own defaults where a test asks for them.

The conformance and validation tests compare float64 trajectories, so each test runs inside
``jax.enable_x64(True)`` (a scoped setting, restored after the test; the project itself changes
no global JAX configuration). Tests marked ``jax_defaults`` run under JAX's defaults instead
(float32 arrays, 32-bit integers), as a user who never touches ``jax.config`` has them.
"""

import jax
import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "jax_defaults: run under JAX's default precision (64-bit types off)"
    )


def _marked(marks) -> bool:
    marks = marks if isinstance(marks, list | tuple) else [marks]
    return any(m.name == "jax_defaults" for m in marks)


@pytest.fixture(scope="module", autouse=True)
def _module_precision(request):
    """Module-scoped fixtures (shared training runs, cached tables) see the module's precision."""
    with jax.enable_x64(not _marked(getattr(request.module, "pytestmark", []))):
        yield


@pytest.fixture(autouse=True)
def _precision(request):
    with jax.enable_x64(request.node.get_closest_marker("jax_defaults") is None):
        yield
