"""experiments: synthetic objectives with exact constants, noise models, runners and theorem
validation (issue 4), on top of :mod:`lamb_ref` and :mod:`theory`.

Importing this package turns on JAX's float64 mode (``jax_enable_x64``): the validation compares
measured quantities with bounds to many digits, and every objective here is defined in float64.
"""

import jax

jax.config.update("jax_enable_x64", True)
