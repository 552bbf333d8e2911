"""JAX in float64 for the conformance tests; float32 tests request float32 arrays explicitly."""

import jax

jax.config.update("jax_enable_x64", True)
