"""Training models: parameter names (key paths), shapes, dtypes, and config validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.training import bert, nn, vision
from lamb_ref import leaf_names

# Shapes, names and dtypes by abstract evaluation (no compilation: the test stays fast); the
# numerics are exercised by the training tests.
KEY = jax.ShapeDtypeStruct((2,), jnp.uint32)


def shaped(fn, *args):
    return jax.eval_shape(fn, *args)


def test_bert_names_shapes_and_logits():
    cfg = bert.config("tiny", vocab_size=300, max_len=16)
    params = shaped(lambda k: bert.init(k, cfg), KEY)
    names = leaf_names(params)
    for expected in (
        "embeddings/word_embeddings/embedding",
        "embeddings/position_embeddings/embedding",
        "embeddings/LayerNorm/scale",
        "encoder/layer_0/attention/query/kernel",
        "encoder/layer_0/attention/query/bias",
        "encoder/layer_1/attention/output/kernel",
        "encoder/layer_1/attention/LayerNorm/scale",
        "encoder/layer_1/intermediate/kernel",
        "encoder/layer_1/output/LayerNorm/bias",
        "mlm/transform/kernel",
        "mlm/LayerNorm/scale",
        "mlm/output_bias",
    ):
        assert expected in names
    assert len(names) == 4 + 16 * cfg.layers + 5
    shapes = dict(zip(names, (x.shape for x in jax.tree.leaves(params)), strict=True))
    H, F = cfg.hidden, cfg.intermediate
    assert shapes["embeddings/word_embeddings/embedding"] == (300, H)
    assert shapes["encoder/layer_0/intermediate/kernel"] == (H, F)
    assert shapes["encoder/layer_0/output/kernel"] == (F, H)
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(params))
    ids = jax.ShapeDtypeStruct((3, 16), jnp.int32)
    positions = jax.ShapeDtypeStruct((3, 2), jnp.int32)
    logits = shaped(lambda p, i, q: bert.apply(p, cfg, i, q), params, ids, positions)
    assert logits.shape == (3, 2, 300) and logits.dtype == jnp.float32


def test_bert_untied_head_and_errors():
    cfg = bert.config("tiny", vocab_size=300, max_len=16, tie_embeddings=False)
    params = shaped(lambda k: bert.init(k, cfg), KEY)
    assert "mlm/decoder/kernel" in leaf_names(params) and "mlm/output_bias" not in leaf_names(
        params
    )
    ids, pos = jax.ShapeDtypeStruct((2, 16), jnp.int32), jax.ShapeDtypeStruct((2, 3), jnp.int32)
    assert shaped(lambda p, i, q: bert.apply(p, cfg, i, q), params, ids, pos).shape == (2, 3, 300)
    with pytest.raises(ValueError, match="hidden=30 is invalid"):
        bert.BertConfig(300, hidden=30, heads=4)
    with pytest.raises(ValueError, match="size='huge' is invalid"):
        bert.config("huge", 300, 16)


def test_mlp_and_cnn():
    mlp = vision.mlp_config("tiny", 64, 10)
    p = shaped(lambda k: vision.mlp_init(k, mlp), KEY)
    assert leaf_names(p) == ["dense_0/bias", "dense_0/kernel", "head/bias", "head/kernel"]
    x = jax.ShapeDtypeStruct((5, 8, 8, 1), jnp.float32)
    assert shaped(lambda p, x: vision.mlp_apply(p, mlp, x), p, x).shape == (5, 10)
    cnn = vision.cnn_config("tiny")
    q = shaped(lambda k: vision.cnn_init(k, cnn), KEY)
    assert leaf_names(q)[:2] == ["conv_0/bias", "conv_0/kernel"]
    assert q["conv_0"]["kernel"].shape == (3, 3, 1, 8) and q["conv_1"]["kernel"].shape == (
        3,
        3,
        8,
        16,
    )
    out = shaped(lambda q, x: vision.cnn_apply(q, cnn, x), q, x)
    assert out.shape == (5, 10) and out.dtype == jnp.float32
    assert all(v.dtype == jnp.float32 for v in jax.tree.leaves((p, q)))
    assert nn.count_parameters(p) == 64 * 64 + 64 + 64 * 10 + 10
    with pytest.raises(ValueError, match="hidden="):
        vision.MLPConfig(64, [64])
    with pytest.raises(ValueError, match=r"channels=\(\)"):
        vision.CNNConfig(channels=())


def test_im2col_convolution_equals_lax_conv():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 3), jnp.float32)
    k = jax.random.normal(jax.random.PRNGKey(1), (3, 3, 3, 5), jnp.float32)
    reference = jax.lax.conv_general_dilated(
        x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    np.testing.assert_allclose(vision.conv3x3_same(x, k), reference, rtol=1e-5, atol=1e-5)


def test_layer_norm_and_cross_entropy_closed_forms():
    x = jnp.array([[1.0, 2.0, 3.0, 6.0]], jnp.float32)
    y = nn.layer_norm(nn.layer_norm_init(4), x)
    np.testing.assert_allclose(y.mean(), 0.0, atol=1e-6)
    np.testing.assert_allclose(y.std(), 1.0, rtol=1e-5)
    logits = jnp.log(jnp.array([[0.2, 0.3, 0.5]], jnp.float32))
    np.testing.assert_allclose(nn.cross_entropy(logits, jnp.array([2])), [-np.log(0.5)], rtol=1e-6)
