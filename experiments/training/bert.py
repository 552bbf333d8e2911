"""A small BERT-style encoder with a masked-language-model head (pure functions, named params).

Devlin et al. 2018 architecture, scaled down: token + learned position embeddings → LayerNorm →
``layers`` × [multi-head self-attention → residual → LayerNorm → feed-forward (GELU) →
residual → LayerNorm] (post-LN, as BERT) → MLM head (dense + GELU + LayerNorm, then the output
projection, tied to the word embeddings or untied, plus an output bias). No dropout: the runs
are deterministic functions of the seed. No padding mask: the MLM sequences are packed to full
length (:mod:`experiments.training.wordpiece`).

Parameter names (key paths), as in the BERT/TF checkpoints the authors' exclusion regexes were
written for (``LayerNorm``, ``bias``)::

    embeddings/word_embeddings/embedding            [V, H]
    embeddings/position_embeddings/embedding        [L, H]
    embeddings/LayerNorm/{scale,bias}
    encoder/layer_<i>/attention/{query,key,value,output}/{kernel,bias}
    encoder/layer_<i>/attention/LayerNorm/{scale,bias}
    encoder/layer_<i>/intermediate/{kernel,bias}    [H, F]
    encoder/layer_<i>/output/{kernel,bias}          [F, H]
    encoder/layer_<i>/output/LayerNorm/{scale,bias}
    mlm/transform/{kernel,bias}, mlm/LayerNorm/{scale,bias}
    mlm/output_bias                                 [V]      (tied)
    mlm/decoder/kernel                              [H, V]   (untied only)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from experiments.training import nn
from experiments.training.nn import Params

# Model sizes. "tiny" is for 2 shared CPU cores: with V = 1000 and L = 32, 85k parameters and
# about 8-15 ms per batch-64 LAMB step (≈ 4k sequences/s). "full" is a small BERT for a GPU
# (BERT-Mini-like: 4 layers, H = 256; 3.5M parameters at V = 1000).
SIZES = {
    "tiny": {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64},
    "full": {"hidden": 256, "layers": 4, "heads": 4, "intermediate": 1024},
}


@dataclass(frozen=True)
class BertConfig:
    """Sizes of the encoder.

    Attributes:
        vocab_size: V, the WordPiece vocabulary size (ids 0..V-1).
        max_len: L, the sequence length (number of position embeddings).
        hidden: H, the model width; must be divisible by ``heads``.
        layers: number of transformer blocks.
        heads: attention heads.
        intermediate: F, the feed-forward width.
        tie_embeddings: output projection = word embeddingsᵀ (BERT) or a separate kernel.
        initializer_range: σ of the truncated-normal initialiser (BERT: 0.02).
    """

    vocab_size: int
    max_len: int = 32
    hidden: int = 32
    layers: int = 2
    heads: int = 2
    intermediate: int = 64
    tie_embeddings: bool = True
    initializer_range: float = 0.02

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_len", "hidden", "layers", "heads", "intermediate"):
            nn.check_positive_int(name, getattr(self, name))
        if self.hidden % self.heads:
            raise ValueError(
                f"hidden={self.hidden!r} is invalid: must be divisible by heads={self.heads}"
            )
        if not isinstance(self.tie_embeddings, bool):
            raise ValueError(f"tie_embeddings={self.tie_embeddings!r} is invalid: expected a bool")
        if not self.initializer_range > 0:
            raise ValueError(
                f"initializer_range={self.initializer_range!r} is invalid: expected > 0"
            )


def config(size: str, vocab_size: int, max_len: int, **overrides) -> BertConfig:
    """The :data:`SIZES` preset ``size`` ("tiny" or "full") for a vocabulary and length."""
    if size not in SIZES:
        raise ValueError(f"size={size!r} is invalid: expected one of {sorted(SIZES)}")
    fields = {**SIZES[size], **overrides}
    return dataclasses.replace(BertConfig(vocab_size, max_len), **fields)


def init(key: jax.Array, cfg: BertConfig) -> Params:
    """Random parameters (float32) with the names listed in the module docstring."""
    H, F, std = cfg.hidden, cfg.intermediate, cfg.initializer_range
    keys = iter(jax.random.split(key, 8 + 6 * cfg.layers))

    def dense(n_in, n_out):
        return nn.dense_init(next(keys), n_in, n_out, std)

    params: Params = {
        "embeddings": {
            "word_embeddings": {
                "embedding": nn.truncated_normal(next(keys), (cfg.vocab_size, H), std)
            },
            "position_embeddings": {
                "embedding": nn.truncated_normal(next(keys), (cfg.max_len, H), std)
            },
            "LayerNorm": nn.layer_norm_init(H),
        },
        "encoder": {},
        "mlm": {"transform": dense(H, H), "LayerNorm": nn.layer_norm_init(H)},
    }
    for i in range(cfg.layers):
        attention = {name: dense(H, H) for name in ("query", "key", "value", "output")}
        attention["LayerNorm"] = nn.layer_norm_init(H)
        output = dense(F, H)
        output["LayerNorm"] = nn.layer_norm_init(H)
        params["encoder"][f"layer_{i}"] = {
            "attention": attention,
            "intermediate": dense(H, F),
            "output": output,
        }
    if cfg.tie_embeddings:
        params["mlm"]["output_bias"] = jnp.zeros(cfg.vocab_size, nn.DTYPE)
    else:
        params["mlm"]["decoder"] = dense(H, cfg.vocab_size)
    return params


def _attention(p: Params, x: jax.Array, heads: int) -> jax.Array:
    """softmax(Q Kᵀ/√d_h) V per head, then the output projection."""
    B, L, H = x.shape
    split = lambda t: t.reshape(B, L, heads, H // heads)  # noqa: E731
    q, k, v = (split(nn.dense(p[name], x)) for name in ("query", "key", "value"))
    scores = jnp.einsum("blhd,bmhd->bhlm", q, k) / jnp.sqrt(jnp.asarray(H // heads, x.dtype))
    ctx = jnp.einsum("bhlm,bmhd->blhd", jax.nn.softmax(scores, axis=-1), v)
    return nn.dense(p["output"], ctx.reshape(B, L, H))


def encode(params: Params, cfg: BertConfig, ids: jax.Array) -> jax.Array:
    """Hidden states [B, L, H] of token ids [B, L] (L <= ``cfg.max_len``)."""
    emb = params["embeddings"]
    L = ids.shape[-1]
    x = emb["word_embeddings"]["embedding"][ids] + emb["position_embeddings"]["embedding"][:L]
    x = nn.layer_norm(emb["LayerNorm"], x)
    for i in range(cfg.layers):
        p = params["encoder"][f"layer_{i}"]
        x = nn.layer_norm(p["attention"]["LayerNorm"], x + _attention(p["attention"], x, cfg.heads))
        h = nn.gelu(nn.dense(p["intermediate"], x))
        x = nn.layer_norm(p["output"]["LayerNorm"], x + nn.dense(p["output"], h))
    return x


def mlm_logits(params: Params, cfg: BertConfig, hidden: jax.Array, positions: jax.Array):
    """Vocabulary logits [B, K, V] at the masked ``positions`` [B, K] of ``hidden`` [B, L, H].

    Only the K predicted positions go through the (V-wide) output layer, as in BERT's
    ``gather_indexes``: for V ≫ H this is most of the model's work otherwise.
    """
    h = jnp.take_along_axis(hidden, positions[..., None], axis=1)
    p = params["mlm"]
    h = nn.layer_norm(p["LayerNorm"], nn.gelu(nn.dense(p["transform"], h)))
    if cfg.tie_embeddings:
        return h @ params["embeddings"]["word_embeddings"]["embedding"].T + p["output_bias"]
    return nn.dense(p["decoder"], h)


def apply(params: Params, cfg: BertConfig, ids: jax.Array, positions: jax.Array) -> jax.Array:
    """MLM logits [B, K, V] for input ids [B, L] and the positions [B, K] to predict."""
    return mlm_logits(params, cfg, encode(params, cfg, ids), positions)
