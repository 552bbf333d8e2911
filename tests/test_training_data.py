"""Training data: stdlib corpus, WordPiece tokenizer and cache, packing, BERT masking, digits,
teacher-student stream and epoch sampling — determinism, shapes and statistics."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.training import corpus, digits, masking, teacher, wordpiece
from experiments.training.tasks import epoch_indices

# Masking proportions over n = 4096·5 = 20480 predictions: the binomial standard deviation of
# each share is <= sqrt(0.25/20480) = 0.0035, so 0.02 is > 5σ (no flakes) yet catches any
# swapped or mis-set probability (differences of >= 0.1).
MASK_SHARE_ABS = 0.02


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    cache = tmp_path_factory.mktemp("wordpiece")
    wordpiece.load.cache_clear()
    return cache, wordpiece.load(cache, 1000)


def test_corpus_is_deterministic_and_recorded():
    a, b = corpus.collect(), corpus.collect()
    assert a.sha256 == b.sha256 and a.documents == b.documents
    assert len(a.documents) > 1000 and a.n_characters > 300_000
    assert len(set(a.documents)) == len(a.documents)  # deduplicated
    assert min(len(d) for d in a.documents) >= corpus.MIN_CHARS
    assert a.python_version.count(".") == 2
    for unsafe in ("antigravity", "this", "idlelib", "tkinter", "turtle"):
        assert unsafe not in corpus.MODULES
    with pytest.raises(ValueError, match=r"modules=\(\)"):
        corpus.collect(())


def test_tokenizer_training_is_deterministic_and_round_trips():
    docs = corpus.collect().documents[:400]
    a = wordpiece.train_tokenizer(docs, 400)
    b = wordpiece.train_tokenizer(docs, 400)
    assert a.to_str() == b.to_str()
    assert [a.token_to_id(t) for t in wordpiece.SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    sentence = "return the number of items in the list"
    enc = a.encode(sentence, add_special_tokens=False)
    assert wordpiece.UNK not in enc.ids
    assert a.decode(enc.ids) == sentence
    with pytest.raises(ValueError, match="vocab_size=10 is invalid"):
        wordpiece.train_tokenizer(docs, 10)


def test_corpus_cache_is_reused(text):
    cache, data = text
    assert not data.from_cache
    (entry,) = cache.glob("wordpiece-*")
    assert {p.name for p in entry.iterdir()} == {
        "meta.json",
        "tokenizer.json",
        "train.npy",
        "valid.npy",
    }
    assert json.loads((entry / "meta.json").read_text())["python_version"] == data.python_version
    wordpiece.load.cache_clear()
    again = wordpiece.load(cache, 1000)
    assert again.from_cache and again.cache_key == data.cache_key
    np.testing.assert_array_equal(again.train_ids, data.train_ids)
    assert again.tokenizer_json == data.tokenizer_json
    stats = wordpiece.corpus_stats(cache, 1000)
    assert stats["n_tokens"] == stats["n_train_tokens"] + stats["n_valid_tokens"] > 100_000
    assert stats["vocab_size"] == 1000 and stats["n_documents"] == data.n_documents
    assert 0.05 < stats["n_valid_tokens"] / stats["n_tokens"] < 0.15  # valid_fraction 0.1


def test_pack_shapes():
    seqs = wordpiece.pack(np.arange(10, 110), 12)
    assert seqs.shape == (10, 12) and seqs.dtype == np.int32
    assert (seqs[:, 0] == wordpiece.CLS).all() and (seqs[:, -1] == wordpiece.SEP).all()
    np.testing.assert_array_equal(seqs[1, 1:-1], np.arange(20, 30))
    with pytest.raises(ValueError, match="seq_len=4 is invalid"):
        wordpiece.pack(np.arange(100), 4)


def test_masking_statistics():
    B, L, V = 4096, 32, 1000
    K = masking.num_predictions(L)
    assert K == 5 and masking.num_predictions(128) == 19
    ids = np.random.default_rng(0).integers(5, V, (B, L)).astype(np.int32)
    ids[:, 0], ids[:, -1], ids[:, 7] = wordpiece.CLS, wordpiece.SEP, wordpiece.SEP
    ids = jnp.asarray(ids)
    mask = jax.jit(masking.mask_tokens, static_argnums=(2, 3))
    out, again = mask(jax.random.PRNGKey(1), ids, V, K), mask(jax.random.PRNGKey(1), ids, V, K)
    assert all(np.array_equal(out[k], again[k]) for k in out)
    pos, lab, inp = (np.asarray(out[k]) for k in ("positions", "labels", "input_ids"))
    assert pos.shape == lab.shape == (B, K) and inp.shape == (B, L)
    assert (np.diff(pos, axis=1) > 0).all()  # distinct, ascending
    assert not np.isin(pos, [0, 7, L - 1]).any()  # special tokens never chosen
    np.testing.assert_array_equal(lab, np.take_along_axis(np.asarray(ids), pos, 1))
    changed = np.ones((B, L), bool)
    np.put_along_axis(changed, pos, False, 1)
    np.testing.assert_array_equal(inp[changed], np.asarray(ids)[changed])  # others untouched
    new = np.take_along_axis(inp, pos, 1)
    share_mask = np.mean(new == wordpiece.MASK)
    share_same = np.mean(new == lab)
    share_random = 1 - share_mask - share_same
    assert share_mask == pytest.approx(0.8, abs=MASK_SHARE_ABS)
    assert share_same == pytest.approx(0.1 + 0.1 / (V - 5), abs=MASK_SHARE_ABS)
    assert share_random == pytest.approx(0.1, abs=MASK_SHARE_ABS)
    assert new.min() >= 5 or (new[new < 5] == wordpiece.MASK).all()
    # positions are uniform over the 29 real tokens: each is chosen with probability 5/29
    counts = np.bincount(pos.ravel(), minlength=L)[np.r_[1:7, 8 : L - 1]] / B
    assert np.abs(counts - K / 29).max() < 0.03


def test_digits_split():
    d = digits.load()
    assert d.x_train.shape == (1437, 8, 8, 1) and d.x_test.shape == (360, 8, 8, 1)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32
    assert abs(d.x_train.mean()) < 1e-5 and d.x_train.std() == pytest.approx(1.0, rel=1e-4)
    per_class_test = np.bincount(d.y_test, minlength=10)
    assert per_class_test.max() - per_class_test.min() <= 2  # stratified
    digits.load.cache_clear()
    np.testing.assert_array_equal(digits.load().x_test, d.x_test)


def test_teacher_stream():
    # (jit: one compilation each instead of one per eager operation)
    batch = jax.jit(teacher.batch, static_argnums=(0, 4))
    params = jax.jit(teacher.teacher_params, static_argnums=0)
    cfg = teacher.TeacherConfig(input_dim=6, hidden=8, n_classes=4)
    t = params(cfg)
    key = jax.random.PRNGKey(3)
    a, b, c = (batch(cfg, t, key, step, 16) for step in (5, 5, 6))
    assert np.array_equal(a["x"], b["x"]) and not np.array_equal(a["x"], c["x"])
    assert a["x"].shape == (16, 6) and a["y"].dtype == jnp.int32 and a["x"].dtype == jnp.float32
    ev = jax.jit(teacher.eval_set, static_argnums=0)(cfg, t)
    assert ev["x"].shape == (cfg.n_eval, 6) and len(np.unique(np.asarray(ev["y"]))) >= 3
    reg = teacher.TeacherConfig(input_dim=6, n_classes=0, noise=0.1)
    r = jax.eval_shape(lambda k: teacher.batch(reg, teacher.teacher_params(reg), k, 0, 16), key)
    assert r["y"].shape == (16, 1) and r["y"].dtype == jnp.float32
    with pytest.raises(ValueError, match=r"noise=0\.1 is invalid"):
        teacher.TeacherConfig(noise=0.1)
    with pytest.raises(ValueError, match="n_classes=1 is invalid"):
        teacher.TeacherConfig(n_classes=1)


@pytest.mark.parametrize("batch_size", [7, 10, 23])
def test_epoch_indices_visit_every_example_once_per_epoch(batch_size):
    n, key = 10, jax.random.PRNGKey(0)
    stream = np.concatenate(
        [np.asarray(epoch_indices(key, jnp.int32(s * batch_size), batch_size, n)) for s in range(6)]
    )
    for e in range(len(stream) // n):
        assert sorted(stream[e * n : (e + 1) * n]) == list(range(n))
    assert not np.array_equal(stream[:n], stream[n : 2 * n])  # a fresh permutation per epoch


def test_packed_sort_is_the_stable_argsort_of_the_random_keys():
    """The packed uint64 sort gives jnp.argsort's permutation, ties ordered by index."""
    from experiments.training.tasks import _argsort_u32

    rng = np.random.default_rng(0)
    for n, high in ((1437, 2**32), (1000, 7), (5, 2)):  # 7 and 2 distinct keys: many ties
        bits = jnp.asarray(rng.integers(0, high, n, dtype=np.uint64).astype(np.uint32))
        np.testing.assert_array_equal(
            np.asarray(_argsort_u32(bits)), np.argsort(bits, kind="stable")
        )
        np.testing.assert_array_equal(
            np.asarray(jax.jit(_argsort_u32)(bits)), np.asarray(jnp.argsort(bits))
        )


def test_epoch_indices_are_the_argsort_of_each_epochs_random_keys():
    """The data order is pinned: epoch e is argsort(bits(fold_in(key, e))) over uint32 keys."""
    n, batch_size, key = 97, 40, jax.random.PRNGKey(3)
    want = np.concatenate(
        [np.argsort(np.asarray(jax.random.bits(jax.random.fold_in(key, e), (n,), jnp.uint32)),
                    kind="stable") for e in range(4)]
    )  # fmt: skip
    got = np.concatenate(
        [np.asarray(epoch_indices(key, jnp.int32(s * batch_size), batch_size, n)) for s in range(9)]
    )
    np.testing.assert_array_equal(got, want[: len(got)])
