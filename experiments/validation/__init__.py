"""Theorem validation on synthetic objectives with exact per-layer constants.

The engine, in the order data flows through it:

* :mod:`.spec`: an instance as data (family, layer sizes, L_i, σ_i, x₁, φ bounds, β2) and
  :func:`~.spec.build`, which constructs and certifies it;
* :mod:`.objectives` and :mod:`.noise`: the objective families and noise models
  (:mod:`.sincos` and :mod:`.hessian` are their float64 kernels and Hessian-norm tools);
* :mod:`.custom` and :mod:`.certify`: your own objective (from functions, or a registered
  family that instance JSON can name) and the sampled certificate of its claimed constants;
* :mod:`.optimizers`: the analysed algorithm of each theorem and the baselines, from
  :mod:`lamb_ref`;
* :mod:`.runner`: vmapped runs over seeds, step sizes, horizons and instances, one compiled
  program per structure (:func:`~.runner.simulate`, :func:`~.runner.simulate_instances`);
* :mod:`.hypotheses`, :mod:`.validate` and :mod:`.stats`: the assumptions checked per row, the
  measured criterion against the explicit bound of :mod:`theory`, bootstrap intervals.

Everything here computes in float64: the public entry points (``build``, ``simulate``,
``simulate_many``, ``simulate_instances``, ``launch``, ``validate``) switch JAX's 64-bit types
on for their own call only (:mod:`experiments.precision`).
"""
