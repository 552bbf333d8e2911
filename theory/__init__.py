"""The paper's theorems as sympy objects with explicit constants and machine-checked steps.

``THEOREMS`` maps ``"sgd"``, ``"lars"``, ``"lamb_beta2_zero"`` and ``"lamb_beta2_pos"`` to
:class:`theory.theorem.Theorem` objects. Depends only on sympy and NumPy.
"""

from theory.lamb import THEOREM_POS as _LAMB_POS
from theory.lamb import THEOREM_ZERO as _LAMB_ZERO
from theory.lars import THEOREM as _LARS
from theory.sgd import THEOREM as _SGD
from theory.theorem import Assumption, Theorem

THEOREMS: dict[str, Theorem] = {t.key: t for t in (_SGD, _LARS, _LAMB_ZERO, _LAMB_POS)}

__all__ = ["THEOREMS", "Assumption", "Theorem"]
