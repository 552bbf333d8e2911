"""BERT's masked-language-model corruption (Devlin et al. 2018, §3.1 and Appendix A.1).

For each sequence, K = max(1, round(p·L)) positions are chosen uniformly without replacement
among the non-special tokens (p = 0.15, L the sequence length, as ``create_pretraining_data.py``
does with ``max_predictions_per_seq`` >= K). At each chosen position the input token becomes

    [MASK]                                         with probability 0.8,
    a random non-special token, uniform over ids 5..V-1    with probability 0.1,
    itself (unchanged)                             with probability 0.1,

and the model must predict the original token there. A fixed K per sequence gives static shapes
(the MLM head runs on [B, K] positions only). All randomness comes from one explicit JAX key.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from experiments.training.wordpiece import MASK, N_SPECIAL

MASK_PROB = 0.15
P_MASK_TOKEN, P_RANDOM_TOKEN = 0.8, 0.1  # the remaining 0.1 keeps the original token


def num_predictions(seq_len: int, mask_prob: float = MASK_PROB) -> int:
    """K = max(1, round(p·L)), the number of predicted positions per sequence."""
    if not 0 < mask_prob < 1:
        raise ValueError(f"mask_prob={mask_prob!r} is invalid: expected 0 < mask_prob < 1")
    return max(1, round(seq_len * mask_prob))


def mask_tokens(key: jax.Array, ids: jax.Array, vocab_size: int, n_predict: int) -> dict:
    """Corrupt a batch of token ids [B, L] for MLM (module docstring).

    Args:
        key: JAX PRNG key; the only source of randomness.
        ids: int32 token ids [B, L]; ids < 5 are special and never chosen.
        vocab_size: V, the range of random replacement tokens (ids 5..V-1).
        n_predict: K, positions to predict per sequence (<= non-special tokens per sequence).

    Returns:
        ``{"input_ids": [B, L], "positions": [B, K] (ascending), "labels": [B, K]}``, int32.
    """
    B, L = ids.shape
    K = n_predict
    # One draw of random bits for everything (each separate jax.random call costs compile time):
    # L position scores, K choices of the corruption kind, K random tokens.
    bits = jax.random.bits(key, (B, L + 2 * K), jnp.uint32)
    u = (bits >> 8).astype(jnp.float32) * (2.0**-24)  # uniform on [0, 1), 24-bit grid
    # Special tokens scored below every real one: the top K are a uniform K-subset of the real
    # tokens (exact ties have probability < L²/2²⁵ per sequence and break by position).
    scores = jnp.where(ids < N_SPECIAL, -1.0, u[:, :L])
    positions = jnp.sort(jax.lax.top_k(scores, K)[1], axis=-1).astype(jnp.int32)
    labels = jnp.take_along_axis(ids, positions, axis=1)
    kind = u[:, L : L + K]
    span = jnp.uint32(vocab_size - N_SPECIAL)  # modulo bias < V/2³² (negligible)
    random_tokens = (N_SPECIAL + bits[:, L + K :] % span).astype(jnp.int32)
    new = jnp.where(
        kind < P_MASK_TOKEN,
        jnp.int32(MASK),
        jnp.where(kind < P_MASK_TOKEN + P_RANDOM_TOKEN, random_tokens, labels),
    )
    rows = jnp.arange(B, dtype=jnp.int32)[:, None]
    input_ids = ids.at[rows, positions].set(new)
    return {"input_ids": input_ids, "positions": positions, "labels": labels}
