"""Every tolerance the tests use, in one place, with its justification.

Float64 tolerances: the golden trajectories were reproduced by an independent float64 NumPy
implementation to <= 1.1e-16 when they were made, and perturbing gradients by a relative 1e-15 moves
them by < 2e-16; 1e-12 therefore leaves four orders of magnitude for operation-order rounding
while catching any semantic difference (the smallest semantic effect between the libraries,
TF-Addons' float32-rounded hyperparameters, is 3e-10: docs/variants.md).
"""

# Golden trajectories from optax / TF-Addons / timm / torch-optimizer / Keras 3 (float64).
GOLDEN_ABS = 1e-12
# NumPy reference vs JAX in float64 on random pytrees (the required bound).
BACKENDS_F64_ABS = 1e-12
# NumPy vs JAX in float32: both round each elementwise op to float32 (unit roundoff 6e-8); a
# LAMB/LARS step chains about 15 such ops plus two reductions over up to 10^3 entries, and the
# trust ratio fixes the step norm to η·φ(‖x‖), so errors stay relative to the step. Over 5 steps
# with η <= 0.1 and |x| = O(1), 2e-5 absolute on parameters is 300 ulps of 6e-8.
BACKENDS_F32_ABS = 2e-5
# NumPy vs JAX under JAX's defaults (float32, 64-bit off), per step and relative to max(1, |x|):
# float32 rounding, a few ulps (2^-23) per step (NumPy's norms are float64, JAX's float32;
# measured <= 1.7 ulps per step over every optimizer and variant): 8 ulps.
JAX_DEFAULTS_F32_REL_PER_STEP = 8 * 2.0**-23
# Live libraries (optax, timm, torch-optimizer) in float64 on random problems: the same
# operation-order argument as for the golden data, over more steps (<= 20) and larger leaves.
LIVE_F64_ABS = 1e-12
# Exact identities checked in floating point (step norm = η·φ, scale invariance, sign-SGD):
# relative error of a few float64 ulps accumulated over one norm of up to 10^3 entries.
IDENTITY_REL = 1e-10
# 1 vs N devices (and 1 vs 2 processes), float64: the same math with other reduction orders (a
# batch mean as 8 partial sums, a layer norm as 8 partial sums plus an all-reduce): a few ulps per
# step, measured <= 5e-16 over 10 steps; 1e-12 still catches a per-shard norm (moves > 1e-2).
SHARDED_F64_ABS = 1e-12
# The per-shard-norm negative control must differ by far more than that to show the test can fail.
PER_SHARD_MIN_DIFF = 1e-6
# The training loop's runs split over devices (float32 runs): each run's arithmetic is unchanged,
# but XLA may vectorise a 1-run shard differently from an 8-run batch; a few float32 ulps
# (6e-8 each) per step over ~25 steps of parameters of size O(1).
SHARDED_F32_ABS = 1e-5
# The objectives' cos/sin pair vs jnp.cos/jnp.sin, in absolute terms: float64 is our own
# vectorised sincos (measured at most 1 ulp from NumPy's, 1.1e-16, over 12M arguments up to
# 1.7e12); float32 reads both off e^{ix}, which XLA expands into exactly cos x and sin x.
# 2 ulps of 1 in each.
CIS_F64_ABS = 4.5e-16
CIS_F32_ABS = 2 * 2.0**-24
# experiments.validation.sincos vs NumPy (glibc, itself within 1 ulp of the truth) away from the
# zeros,
# in ulps of the value: measured 1.00 (3% of arguments differ at all); and vs 60-digit mpmath
# at the doubles nearest to kπ/2 (values down to 6e-17; 3,006 k up to 2^39): measured exact,
# as NumPy there; 1 ulp allows a different but correctly bounded rounding.
SINCOS_ULPS = 1.0
SINCOS_NEAR_ZERO_ULPS = 1.0
# The validation runner vs its regression fixture (tests/data/runner_golden.json, written by the
# runner with closure constants): the same float64 operations on the same random numbers, with
# the instance's numbers now arguments instead of compile-time constants, so XLA may fold or
# fuse some operations differently (a few ulps per step); over <= 40 steps of quantities of
# size O(1) that stays below 1e-13 relative, and 1e-12 still catches any change of draw, step
# or measure (each moves the results by far more than 1e-6).
RUNNER_GOLDEN_REL = 1e-12
# Closed-form ratios of the constructive worst cases (tightness) vs the runner: both evaluate the
# same few dozen float64 iterates of a 1-D problem, so they agree to a few ulps; 1e-9 is far above
# that and far below the smallest modelling difference (the parity term (1 − f)² vs f² over 2T
# moves the ratio by > 1e-5 at T ≤ 1e4). The claim tightness_closed_forms uses the same value.
CLOSED_FORM_REL = 1e-9
