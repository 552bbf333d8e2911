"""The paper's theorems as sympy objects with explicit constants and machine-checked steps.

``THEOREMS`` maps ``"sgd"``, ``"lars"``, ``"lamb_beta2_zero"`` and ``"lamb_beta2_pos"`` to
:class:`theory.theorem.Theorem` objects. Depends only on sympy and NumPy.
"""

from theory.sgd import THEOREM as _SGD
from theory.theorem import Assumption, Theorem

THEOREMS: dict[str, Theorem] = {t.key: t for t in (_SGD,)}

__all__ = ["THEOREMS", "Assumption", "Theorem"]
