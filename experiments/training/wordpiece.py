"""A WordPiece vocabulary trained locally on a stdlib text corpus (:mod:`.corpus`), and token ids.

The tokenizer is BERT's (``tokenizers`` library): ``BertNormalizer`` (lower-casing, accent
stripping), ``BertPreTokenizer`` (whitespace and punctuation), a ``WordPiece`` model with the
``##`` continuation prefix and the special tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` at ids 0-4.

Determinism: the ``tokenizers`` WordPiece trainer numbers the ``##c`` continuation symbols in
hash-map order, so merge-count ties break differently from run to run (the vocabulary changes).
We therefore pass every ``##c`` of the corpus alphabet to the trainer up front, in sorted order
(as reserved symbols, after the five special tokens): then every initial symbol has a fixed id,
ties break by id, and the trained vocabulary is identical on every run. The final tokenizer is
rebuilt from that vocabulary with only the five real special tokens.

Documents are split into training and validation by a hash of their text (stable under any
reordering), tokenised without special tokens, and concatenated with ``[SEP]`` after each
document. :func:`pack` cuts such a stream into ``[CLS] … [SEP]`` sequences of fixed length.

Cache: ``<cache_dir>/wordpiece-<key>/`` holds ``tokenizer.json``, ``train.npy``, ``valid.npy``
and ``meta.json`` (written last, atomically: a directory without it is incomplete and rebuilt).
The key hashes the Python version, the corpus' name and hash, the vocabulary size, the
validation fraction and the ``tokenizers`` version.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tokenizers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from experiments.cache import atomic_write_bytes, atomic_write_text
from experiments.training import corpus as corpus_mod

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = range(5)
N_SPECIAL = len(SPECIAL_TOKENS)
# Bump when tokenisation, splitting or the file layout changes: it enters the cache key.
FORMAT_VERSION = 1
MIN_VOCAB, MAX_VOCAB = 256, 65536


@dataclass(frozen=True, eq=False)
class TextData:
    """The tokenised corpus.

    Attributes:
        tokenizer_json: the trained tokenizer (``Tokenizer.from_str`` loads it).
        vocab_size: the vocabulary's actual size (<= the requested one).
        train_ids, valid_ids: int32 token streams, each document followed by ``[SEP]``.
        n_documents, n_train_documents, n_valid_documents, n_characters: corpus sizes.
        python_version, corpus_sha256, corpus_name, cache_key: provenance.
        from_cache: True if read from the cache rather than built.
    """

    tokenizer_json: str
    vocab_size: int
    train_ids: np.ndarray
    valid_ids: np.ndarray
    n_documents: int
    n_train_documents: int
    n_valid_documents: int
    n_characters: int
    python_version: str
    corpus_sha256: str
    corpus_name: str
    cache_key: str
    from_cache: bool

    @property
    def n_tokens(self) -> int:
        """Tokens in the corpus, document separators excluded."""
        return len(self.train_ids) + len(self.valid_ids) - self.n_documents

    def tokenizer(self) -> Tokenizer:
        return Tokenizer.from_str(self.tokenizer_json)


def _check_vocab_size(vocab_size: int) -> None:
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
        raise ValueError(f"vocab_size={vocab_size!r} is invalid: expected an int")
    if not MIN_VOCAB <= vocab_size <= MAX_VOCAB:
        raise ValueError(
            f"vocab_size={vocab_size!r} is invalid: expected {MIN_VOCAB} <= vocab_size <= "
            f"{MAX_VOCAB}"
        )


def _check_fraction(valid_fraction: float) -> None:
    if not (isinstance(valid_fraction, float | int) and 0 < valid_fraction < 1):
        raise ValueError(f"valid_fraction={valid_fraction!r} is invalid: expected 0 < f < 1")


def _bert_pipeline(tok: Tokenizer) -> Tokenizer:
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def train_tokenizer(documents: tuple[str, ...], vocab_size: int) -> Tokenizer:
    """A deterministic WordPiece tokenizer of at most ``vocab_size`` tokens (module docstring)."""
    _check_vocab_size(vocab_size)
    probe = _bert_pipeline(Tokenizer(models.WordPiece(unk_token="[UNK]")))
    alphabet: set[str] = set()
    for doc in documents:
        for word, _ in probe.pre_tokenizer.pre_tokenize_str(probe.normalizer.normalize_str(doc)):
            alphabet.update(word)
    reserved = [*SPECIAL_TOKENS, *sorted("##" + c for c in alphabet)]
    if len(reserved) + len(alphabet) >= vocab_size:
        raise ValueError(
            f"vocab_size={vocab_size!r} is invalid for this corpus: its {len(alphabet)} characters "
            f"need {len(reserved) + len(alphabet)} entries before any merge; use a larger size"
        )
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=reserved, show_progress=False
    )
    probe.train_from_iterator(list(documents), trainer)
    vocab = probe.get_vocab()
    tok = _bert_pipeline(
        Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    )
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i, (t, tok.token_to_id(t))
    return tok


def is_validation(document: str, valid_fraction: float) -> bool:
    """The document's split: validation iff its text hash falls in the first ``fraction``."""
    h = int.from_bytes(hashlib.sha256(document.encode()).digest()[:8], "big")
    return h / 2.0**64 < valid_fraction


def _stream(tok: Tokenizer, documents: list[str]) -> np.ndarray:
    out: list[int] = []
    for enc in tok.encode_batch(documents, add_special_tokens=False):
        out.extend(enc.ids)
        out.append(SEP)
    return np.asarray(out, dtype=np.int32)


def _save_npy(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write_bytes(path, buf.getvalue())


@functools.cache
def _corpus(name: str = "docstrings") -> corpus_mod.Corpus:
    return corpus_mod.by_name(name)


def cache_key(corpus: corpus_mod.Corpus, vocab_size: int, valid_fraction: float) -> str:
    body = {
        "python": corpus.python_version,
        "corpus": corpus.sha256,
        "corpus_name": corpus.name,
        "collector": corpus_mod.COLLECTOR_VERSION,
        "vocab_size": vocab_size,
        "valid_fraction": float(valid_fraction),
        "tokenizers": tokenizers.__version__,
        "format": FORMAT_VERSION,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _build(corpus: corpus_mod.Corpus, vocab_size: int, valid_fraction: float) -> dict:
    """Train and tokenise (memoised in memory: a second cache directory does not retrain)."""
    tok = train_tokenizer(corpus.documents, vocab_size)
    valid = [is_validation(d, valid_fraction) for d in corpus.documents]
    docs_train = [d for d, v in zip(corpus.documents, valid, strict=True) if not v]
    docs_valid = [d for d, v in zip(corpus.documents, valid, strict=True) if v]
    meta = {
        "vocab_size": tok.get_vocab_size(),
        "n_documents": len(corpus.documents),
        "n_train_documents": len(docs_train),
        "n_valid_documents": len(docs_valid),
        "n_characters": corpus.n_characters,
        "python_version": corpus.python_version,
        "corpus_sha256": corpus.sha256,
        "corpus_name": corpus.name,
    }
    return {
        "tokenizer_json": tok.to_str(),
        "train_ids": _stream(tok, docs_train),
        "valid_ids": _stream(tok, docs_valid),
        "meta": meta,
    }


@functools.lru_cache(maxsize=8)
def load(
    cache_dir: str | os.PathLike | None = None,
    vocab_size: int = 1000,
    valid_fraction: float = 0.1,
    corpus: str = "docstrings",
) -> TextData:
    """A tokenised corpus, built once and cached on disk (if ``cache_dir``) and in memory.

    Args:
        cache_dir: directory for the cache (created if needed); None keeps it in memory only.
        vocab_size: requested WordPiece vocabulary size, in [256, 65536].
        valid_fraction: share of documents held out for validation, in (0, 1).
        corpus: the corpus' name (``experiments.training.corpus.CORPORA``).
    """
    _check_vocab_size(vocab_size)
    _check_fraction(valid_fraction)
    if corpus not in corpus_mod.CORPORA:
        raise ValueError(
            f"corpus={corpus!r} is invalid: expected one of {sorted(corpus_mod.CORPORA)}"
        )
    text = _corpus(corpus)
    key = cache_key(text, vocab_size, valid_fraction)
    directory = None if cache_dir is None else Path(cache_dir) / f"wordpiece-{key}"
    if directory is not None and (directory / "meta.json").exists():
        meta = json.loads((directory / "meta.json").read_text())
        parts = {
            "tokenizer_json": (directory / "tokenizer.json").read_text(),
            "train_ids": np.load(directory / "train.npy"),
            "valid_ids": np.load(directory / "valid.npy"),
            "meta": meta,
        }
        from_cache = True
    else:
        parts = _build(text, vocab_size, valid_fraction)
        from_cache = False
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            atomic_write_text(directory / "tokenizer.json", parts["tokenizer_json"])
            _save_npy(directory / "train.npy", parts["train_ids"])
            _save_npy(directory / "valid.npy", parts["valid_ids"])
            atomic_write_text(directory / "meta.json", json.dumps(parts["meta"], indent=1))
    return TextData(
        tokenizer_json=parts["tokenizer_json"],
        train_ids=parts["train_ids"],
        valid_ids=parts["valid_ids"],
        cache_key=key,
        from_cache=from_cache,
        **parts["meta"],
    )


def corpus_stats(
    cache_dir: str | os.PathLike | None = None,
    vocab_size: int = 1000,
    valid_fraction: float = 0.1,
    corpus: str = "docstrings",
) -> dict:
    """Corpus size and provenance: documents, characters, tokens (per split), vocabulary."""
    data = load(cache_dir, vocab_size, valid_fraction, corpus)
    return {
        "python_version": data.python_version,
        "corpus_sha256": data.corpus_sha256,
        "corpus": corpus,
        "n_sources": len(_corpus(corpus).modules),
        "n_documents": data.n_documents,
        "n_characters": data.n_characters,
        "n_tokens": data.n_tokens,
        "n_train_tokens": len(data.train_ids) - data.n_train_documents,
        "n_valid_tokens": len(data.valid_ids) - data.n_valid_documents,
        "vocab_size": data.vocab_size,
        "tokenizers_version": tokenizers.__version__,
    }


def pack(stream: np.ndarray, seq_len: int) -> np.ndarray:
    """Cut a token stream into sequences ``[CLS] t_1 … t_{L-2} [SEP]`` of length ``seq_len``.

    The stream's tail that does not fill a sequence is dropped. Returns int32 [n, seq_len].
    """
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 8:
        raise ValueError(f"seq_len={seq_len!r} is invalid: expected an integer >= 8")
    body = seq_len - 2
    n = len(stream) // body
    if n == 0:
        raise ValueError(
            f"seq_len={seq_len!r} is invalid: the stream has only {len(stream)} tokens"
        )
    out = np.empty((n, seq_len), np.int32)
    out[:, 0], out[:, -1] = CLS, SEP
    out[:, 1:-1] = np.asarray(stream[: n * body], np.int32).reshape(n, body)
    return out
