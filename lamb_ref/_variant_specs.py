"""The named LAMB/LARS variants: which library each reproduces, its hyperparameters, defaults,
and what its exclusion lists mean there.

This module holds no optimizer math and is backend-neutral (it imports neither JAX nor the
reference). ``resolve(name, hp)`` turns a variant name and hyperparameters into ``(family,
kwargs)``; each backend (``lamb_ref.variants`` for JAX, ``lamb_ref.reference.variants`` for
NumPy, ``lamb_ref.numpy_inplace`` for the in-place NumPy step) builds the optimizer from its own
implementation of the family. Defaults are the library's own, at the versions named in each
``Spec.library`` (see ``docs/variants.md``); ``learning_rate`` is always required.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lamb_ref import _checks
from lamb_ref.masks import NameMask, by_name, exclude

VOCABULARY = (
    "learning_rate",
    "b1",
    "b2",
    "eps",
    "weight_decay",
    "momentum",
    "trust_coefficient",
    "max_grad_norm",
    "clamp_value",
    "exclude_from_weight_decay",
    "exclude_from_layer_adaptation",
    "always_adapt",
    "nesterov",
    "phi",
    "bias_correction",
)


@dataclass(frozen=True)
class UpperClamp:
    """φ(z) = min(z, c): torch-optimizer's clamp of the weight norm (lower bound 0)."""

    upper: float

    def __call__(self, z: float) -> float:
        return min(z, self.upper)


@dataclass(frozen=True)
class Spec:
    name: str
    family: str  # lamb_family | lars | lars_2017 | optax_lars
    library: str  # library and version it reproduces
    differs: str  # how it differs from the paper's algorithm
    defaults: dict[str, Any]
    build: Callable[[dict[str, Any]], dict[str, Any]]  # hp -> family kwargs


def _lists(hp: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    wd = _checks.patterns("exclude_from_weight_decay", hp.get("exclude_from_weight_decay"))
    ad = _checks.patterns("exclude_from_layer_adaptation", hp.get("exclude_from_layer_adaptation"))
    return wd, ad


def _no_adaptation_list(variant: str, library: str, hp: dict[str, Any]) -> None:
    _, ad = _lists(hp)
    if ad:
        raise _checks.HyperparameterError(
            f"exclude_from_layer_adaptation={list(ad)!r} is invalid for variant {variant!r}: "
            f"{library} has no way to exclude a tensor from the trust ratio; use variant "
            "'lamb' or 'tfa', or pass trust_ratio_mask to lamb_ref.lamb"
        )


def _group_rule(variant: str, library: str, hp: dict[str, Any]) -> tuple[Any, Any]:
    """timm/apex/torch-optimizer param groups: a tensor is layer-adapted iff its group's weight
    decay is non-zero (or ``always_adapt``); excluding it from decay puts it in a zero-decay group.
    """
    wd_list, ad_list = _lists(hp)
    wd = _checks._concrete(hp["weight_decay"])
    if wd is None:  # a traced value, e.g. from optax.inject_hyperparams under jit
        raise _checks.HyperparameterError(
            f"weight_decay must be a concrete number for variant {variant!r}, not a traced "
            f"value: in {library} whether it is 0 decides which tensors are layer-adapted (a "
            "static choice); with optax.inject_hyperparams pass static_args=('weight_decay',)"
        )
    always = bool(hp.get("always_adapt", False))
    wd_excluded, ad_excluded = NameMask(wd_list), NameMask(ad_list)

    def decayed(name: str) -> bool:
        return wd != 0 and not wd_excluded.matches(name)

    def adapted(name: str) -> bool:
        if ad_excluded.matches(name):
            if decayed(name):
                raise _checks.HyperparameterError(
                    f"exclude_from_layer_adaptation={list(ad_list)!r} matches {name!r}, which "
                    f"has weight_decay={wd}: in {library} a tensor with non-zero weight decay is "
                    f"always layer-adapted (variant {variant!r}); exclude it from weight decay "
                    "too, or use variant 'lamb' or 'tfa' whose lists are independent"
                )
            return False
        return decayed(name) or always

    return exclude(*wd_list), by_name(adapted)


def _lamb_common(hp: dict[str, Any], **extra: Any) -> dict[str, Any]:
    kw = {k: hp[k] for k in ("learning_rate", "b1", "b2", "eps", "weight_decay")}
    kw.update(extra)
    return kw


def _paper_lamb(hp):
    wd, ad = _lists(hp)
    _checks.flag("bias_correction", hp["bias_correction"])
    return _lamb_common(
        hp,
        bias_correction="moments" if hp["bias_correction"] else "none",
        phi=hp["phi"],
        weight_decay_mask=exclude(*wd),
        trust_ratio_mask=exclude(*ad),
    )


def _tfa_masks(hp):
    wd, ad = _lists(hp)
    return exclude(*wd), exclude(*(ad or wd))  # adaptation list defaults to the decay list


def _lamb_v3(hp):
    wd_mask, ad_mask = _tfa_masks(hp)
    return _lamb_common(
        hp, bias_correction="none", weight_decay_mask=wd_mask, trust_ratio_mask=ad_mask
    )


def _tfa(hp):
    if _checks._concrete(hp["eps"]) == 0.0:
        raise _checks.HyperparameterError(
            "eps=0.0 is invalid for variant 'tfa': TF-Addons replaces a falsy epsilon by the "
            "Keras backend epsilon 1e-7; pass eps=1e-7 to reproduce what it runs"
        )
    wd_mask, ad_mask = _tfa_masks(hp)
    return _lamb_common(
        hp, bias_correction="moments", weight_decay_mask=wd_mask, trust_ratio_mask=ad_mask
    )


def _optax(hp):
    _no_adaptation_list("optax", "optax.lamb", hp)
    wd, _ = _lists(hp)
    return _lamb_common(hp, bias_correction="moments", weight_decay_mask=exclude(*wd))


def _timm(trust_clip: bool = False, decoupled: bool = False):
    def build(hp):
        _checks.flag("always_adapt", hp["always_adapt"])
        _checks.flag("bias_correction", hp["bias_correction"])
        wd_mask, ad_mask = _group_rule("timm", "timm Lamb", hp)
        return _lamb_common(
            hp,
            bias_correction="moments" if hp["bias_correction"] else "none",
            weight_decay_mask=wd_mask,
            trust_ratio_mask=ad_mask,
            max_grad_norm=hp["max_grad_norm"],
            max_trust_ratio=1.0 if trust_clip else None,
            decoupled_weight_decay=decoupled,
        )

    return build


def _torch_optimizer(debias: bool):
    def build(hp):
        _no_adaptation_list("torch_optimizer", "torch-optimizer Lamb", hp)
        _checks.positive("clamp_value", hp["clamp_value"])
        wd, _ = _lists(hp)
        return _lamb_common(
            hp,
            bias_correction="step_size" if debias else "none",
            phi=UpperClamp(float(hp["clamp_value"])),
            weight_decay_mask=exclude(*wd),
        )

    return build


def _keras3(hp):
    _no_adaptation_list("keras3", "Keras 3 Lamb", hp)
    wd, _ = _lists(hp)
    return _lamb_common(
        hp, bias_correction="moments", weight_decay_mask=exclude(*wd), decoupled_weight_decay=True
    )


def _lars(hp):
    wd, ad = _lists(hp)
    return {
        "learning_rate": hp["learning_rate"],
        "momentum": hp["momentum"],
        "weight_decay": hp["weight_decay"],
        "phi": hp["phi"],
        "weight_decay_mask": exclude(*wd),
        "trust_ratio_mask": exclude(*ad),
    }


def _lars_2017(hp):
    _checks.flag("always_adapt", hp["always_adapt"])
    wd_mask, ad_mask = _group_rule("lars_2017", "timm Lars / torch-optimizer LARS", hp)
    return {
        k: hp[k]
        for k in (
            "learning_rate",
            "momentum",
            "weight_decay",
            "trust_coefficient",
            "eps",
            "nesterov",
        )
    } | {"weight_decay_mask": wd_mask, "trust_ratio_mask": ad_mask}


def _optax_lars(hp):
    wd, ad = _lists(hp)
    return {
        k: hp[k]
        for k in (
            "learning_rate",
            "momentum",
            "weight_decay",
            "trust_coefficient",
            "eps",
            "nesterov",
        )
    } | {"weight_decay_mask": exclude(*wd), "trust_ratio_mask": exclude(*ad)}


_EXCL = {"exclude_from_weight_decay": None, "exclude_from_layer_adaptation": None}
_ADAM = {"b1": 0.9, "b2": 0.999}
_TIMM = {
    **_ADAM,
    "eps": 1e-6,
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
    "always_adapt": False,
    "bias_correction": True,
    **_EXCL,
}
_TORCH_OPT = {**_ADAM, "eps": 1e-6, "weight_decay": 0.0, "clamp_value": 10.0, **_EXCL}

SPECS: dict[str, Spec] = {
    s.name: s
    for s in [
        Spec(
            "lamb",
            "lamb_family",
            "paper, Algorithm 2 (arXiv v4/v5)",
            "the paper's algorithm; exclusion lists independent",
            {
                **_ADAM,
                "eps": 1e-6,
                "weight_decay": 0.0,
                "phi": None,
                "bias_correction": True,
                **_EXCL,
            },
            _paper_lamb,
        ),
        Spec(
            "lamb_v3",
            "lamb_family",
            "paper v3 / authors' TF1 code (google-research/albert)",
            "no bias correction; adaptation list defaults to the decay list",
            {**_ADAM, "eps": 1e-6, "weight_decay": 0.0, **_EXCL},
            _lamb_v3,
        ),
        Spec(
            "tfa",
            "lamb_family",
            "tensorflow-addons 0.23.0 LAMB",
            "regex exclusions; adaptation list defaults to the decay list; eps=0 not possible",
            {**_ADAM, "eps": 1e-6, "weight_decay": 0.0, **_EXCL},
            _tfa,
        ),
        Spec(
            "optax",
            "lamb_family",
            "optax 0.2.8 lamb",
            "weight-decay mask only; the trust ratio is never masked",
            {
                **_ADAM,
                "eps": 1e-6,
                "weight_decay": 0.0,
                "exclude_from_weight_decay": None,
                "exclude_from_layer_adaptation": None,
            },
            _optax,
        ),
        Spec(
            "timm",
            "lamb_family",
            "timm 1.0.31 Lamb",
            "global grad-norm clip (1.0); trust ratio only where weight decay != 0 "
            "unless always_adapt; default weight decay 0.01",
            _TIMM,
            _timm(),
        ),
        Spec(
            "timm_lambc",
            "lamb_family",
            "timm 1.0.31 Lamb(trust_clip=True)",
            "as timm, trust ratio capped at 1",
            _TIMM,
            _timm(trust_clip=True),
        ),
        Spec(
            "timm_lambw",
            "lamb_family",
            "timm 1.0.31 Lamb(decoupled_decay=True)",
            "as timm, decoupled decay x ← x − ηλx before the trust ratio",
            _TIMM,
            _timm(decoupled=True),
        ),
        Spec(
            "torch_optimizer",
            "lamb_family",
            "torch-optimizer 0.3.0 Lamb",
            "no bias correction; φ(‖w‖) = min(‖w‖, clamp_value); ε on the raw √v",
            _TORCH_OPT,
            _torch_optimizer(debias=False),
        ),
        Spec(
            "torch_optimizer_debias",
            "lamb_family",
            "torch-optimizer 0.3.0 Lamb(debias=True)",
            "moments not corrected; η·√(1−β2^t)/(1−β1^t) applied after the trust ratio",
            _TORCH_OPT,
            _torch_optimizer(debias=True),
        ),
        Spec(
            "keras3",
            "lamb_family",
            "keras 3.15.1 Lamb",
            "decoupled decay x ← x − ηλx before the trust ratio; eps default 1e-7",
            {**_ADAM, "eps": 1e-7, "weight_decay": 0.0, **_EXCL},
            _keras3,
        ),
        Spec(
            "lars",
            "lars",
            "paper, Algorithm 1",
            "the paper's algorithm: dampened momentum on g + λx, then φ(‖x‖)/‖m‖",
            {"momentum": 0.9, "weight_decay": 0.0, "phi": None, **_EXCL},
            _lars,
        ),
        Spec(
            "lars_2017",
            "lars_2017",
            "timm 1.0.31 Lars / torch-optimizer 0.3.0 LARS",
            "You et al. 2017: c‖w‖/(‖g‖+λ‖w‖+ε), momentum on the trust-scaled step, η after "
            "the buffer; adapted only where weight decay != 0 unless always_adapt",
            {
                "momentum": 0.0,
                "weight_decay": 0.0,
                "trust_coefficient": 0.001,
                "eps": 1e-8,
                "nesterov": False,
                "always_adapt": False,
                **_EXCL,
            },
            _lars_2017,
        ),
        Spec(
            "optax_lars",
            "optax_lars",
            "optax 0.2.8 lars",
            "trust denominator ‖g + λw‖ + ε, η inside the momentum buffer",
            {
                "momentum": 0.9,
                "weight_decay": 0.0,
                "trust_coefficient": 0.001,
                "eps": 0.0,
                "nesterov": False,
                **_EXCL,
            },
            _optax_lars,
        ),
    ]
}

NAMES: tuple[str, ...] = tuple(SPECS)


def resolve(name: str, hp: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(family, kwargs)`` for variant ``name`` with hyperparameters ``hp``."""
    if name not in SPECS:
        raise _checks.HyperparameterError(
            f"variant={name!r} is unknown; the named variants are {list(NAMES)}"
        )
    spec = SPECS[name]
    _checks.unknown_keys(
        f"variant {name!r} ({spec.library})", hp, ("learning_rate", *spec.defaults)
    )
    if "learning_rate" not in hp:
        raise _checks.HyperparameterError(
            f"learning_rate is required for variant {name!r} (a float or a schedule)"
        )
    full = {**spec.defaults, **hp}
    return spec.family, spec.build(full)
