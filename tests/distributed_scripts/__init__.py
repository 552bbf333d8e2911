"""Scripts the distributed tests run in subprocesses (the device count is fixed at JAX start)."""
