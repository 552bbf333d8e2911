"""experiments: the toolkit's engines and the paper-reproduction layer, on top of :mod:`lamb_ref`
and :mod:`theory`.

* :mod:`experiments.validation`: synthetic objectives with exact per-layer constants, noise
  models, the vmapped runner and theorem validation (float64, scoped to its entry points).
* :mod:`experiments.training`: laptop-scale large-batch training on real data (float32).
* :mod:`experiments.distributed`: device meshes and multi-process setup (``jax.sharding``).
* :mod:`experiments.reproduction`: the experiment protocol, the registry of experiments, claims,
  the resumable sweep and the report.

Dependencies point one way: reproduction → (validation, training, distributed) → lamb_ref,
theory. Importing any of them leaves ``jax.config`` unchanged (:mod:`experiments.precision`).
"""
