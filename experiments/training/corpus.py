"""Offline English text corpora from the documentation that ships with the running interpreter.

Nothing is downloaded. Two corpora, by name (:data:`CORPORA`):

* ``docstrings`` (:func:`collect`, about 0.7M characters): the docstrings of a fixed list of
  imported standard-library modules.
* ``stdlib`` (:func:`collect_stdlib_text`, about 2.1M characters): every docstring in the
  standard library's source files, read with ``ast`` (nothing imported), plus the help topics of
  ``pydoc_data.topics`` (the language reference text behind ``help("if")``).

:func:`collect` imports a fixed, sorted list of standard-library modules (:data:`MODULES`;
modules with import-time side effects — ``antigravity``, ``this``, ``idlelib``, ``tkinter``,
``turtle``, ``readline``… — are not in it, and a module that fails to import is skipped and
recorded), walks each module's public classes and functions defined in it (and the public
methods and properties of those classes) in sorted order, and keeps every ``inspect.getdoc``
text of at least :data:`MIN_CHARS` characters, first occurrence only (inherited docstrings repeat).

The corpus therefore depends on the Python version (it is recorded, and enters every cache key);
on one interpreter it is identical from run to run.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import platform
import sysconfig
import warnings
from dataclasses import dataclass
from pathlib import Path

# Fixed, sorted. Chosen for prose-rich docstrings and harmless imports; names missing from a
# Python version (removed modules) are skipped. Excluded on purpose (side effects or GUIs):
# antigravity, this, idlelib, tkinter, turtle, turtledemo, readline, rlcompleter, site, ensurepip,
# venv, lib2to3, test, and platform-specific modules (msvcrt, winreg, …).
MODULES: tuple[str, ...] = tuple(
    """
    abc argparse array ast asyncio asyncio.events asyncio.futures asyncio.locks asyncio.queues
    asyncio.streams asyncio.subprocess asyncio.tasks base64 bdb binascii bisect builtins bz2
    calendar cmath cmd code codecs codeop collections collections.abc colorsys compileall
    concurrent.futures configparser contextlib contextvars copy copyreg csv ctypes dataclasses
    datetime dbm decimal difflib dis doctest email email.charset email.generator email.header
    email.headerregistry email.message email.parser email.policy email.utils enum errno
    faulthandler filecmp fileinput fnmatch fractions ftplib functools gc getopt getpass gettext
    glob graphlib gzip hashlib heapq hmac html html.parser http http.client http.cookiejar
    http.cookies http.server imaplib importlib importlib.abc importlib.machinery
    importlib.metadata importlib.resources importlib.util inspect io ipaddress itertools json
    json.decoder json.encoder keyword linecache locale logging logging.config logging.handlers
    lzma mailbox marshal math mimetypes mmap modulefinder multiprocessing
    multiprocessing.connection multiprocessing.managers multiprocessing.pool
    multiprocessing.queues multiprocessing.shared_memory multiprocessing.synchronize netrc
    numbers opcode operator optparse os pathlib pdb pickle pickletools pkgutil platform plistlib
    poplib posixpath pprint profile pstats py_compile pyclbr pydoc queue quopri random re reprlib
    runpy sched secrets select selectors shelve shlex shutil signal smtplib socket socketserver
    sqlite3 ssl stat statistics string stringprep struct subprocess symtable sys sysconfig
    tabnanny tarfile tempfile textwrap threading time timeit token tokenize tomllib trace
    traceback tracemalloc types typing unicodedata unittest unittest.mock urllib.error
    urllib.parse urllib.request urllib.robotparser uuid warnings wave weakref wsgiref.handlers
    wsgiref.headers wsgiref.simple_server wsgiref.util wsgiref.validate xml.dom xml.dom.minidom
    xml.dom.pulldom xml.etree.ElementTree xml.parsers.expat xml.sax xml.sax.handler
    xml.sax.saxutils xml.sax.xmlreader xmlrpc.client xmlrpc.server zipapp zipfile zipimport zlib
    zoneinfo
    """.split()
)
assert list(MODULES) == sorted(MODULES), "MODULES must stay sorted (it fixes the corpus order)"

# Docstrings shorter than this are mostly one-word stubs ("Return self.") — not prose.
MIN_CHARS = 40
# Bump when a collection rule changes: it enters the cache keys.
COLLECTOR_VERSION = 2
# Source folders left out of the ``stdlib`` corpus: test suites (code fixtures more than prose),
# IDLE, third-party packages and the vendored pip/setuptools wheels' sources.
STDLIB_SKIP_DIRS = frozenset(
    {"test", "tests", "idle_test", "idlelib", "site-packages", "dist-packages", "ensurepip"}
)


@dataclass(frozen=True)
class Corpus:
    """The collected documents and where they came from.

    Attributes:
        documents: the docstrings, deduplicated, in collection order.
        modules: the modules actually imported (a subset of :data:`MODULES`).
        skipped: ``(module, reason)`` for those that failed to import.
        python_version: ``platform.python_version()`` of the interpreter that produced it.
        sha256: hash of the documents (joined by NUL), the corpus' identity in cache keys.
        name: which corpus (a key of :data:`CORPORA`).
    """

    documents: tuple[str, ...]
    modules: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    python_version: str
    sha256: str
    name: str = "docstrings"

    @property
    def n_characters(self) -> int:
        return sum(len(d) for d in self.documents)


def _docs_of_module(module) -> list[str]:
    """The module's docstring, then its public classes/functions and their public members."""
    out = [inspect.getdoc(module)]
    namespace = vars(module)
    for name in sorted(namespace):
        obj = namespace[name]
        if name.startswith("_") or not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue
        if getattr(obj, "__module__", None) != module.__name__:  # re-exports: documented once
            continue
        out.append(inspect.getdoc(obj))
        if inspect.isclass(obj):
            members = vars(obj)
            for member_name in sorted(members):
                member = members[member_name]
                if member_name.startswith("_"):
                    continue
                if isinstance(member, staticmethod | classmethod):
                    member = member.__func__
                if inspect.isroutine(member) or isinstance(member, property):
                    out.append(inspect.getdoc(member))
    return [d for d in out if isinstance(d, str)]


def collect(modules: tuple[str, ...] = MODULES) -> Corpus:
    """Import ``modules`` (in the given order) and collect their docstrings (module docstring).

    Raises:
        ValueError: if ``modules`` is empty or not a tuple of strings.
    """
    if not modules or not all(isinstance(m, str) for m in modules):
        raise ValueError(f"modules={modules!r} is invalid: expected a non-empty tuple of names")
    seen: set[str] = set()
    documents: list[str] = []
    imported: list[str] = []
    skipped: list[tuple[str, str]] = []
    for name in modules:
        # Deprecated modules (and deprecated attributes such as typing.io) warn when touched.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                module = importlib.import_module(name)
            except Exception as err:  # missing from this Python, or failing: recorded
                skipped.append((name, f"{type(err).__name__}: {err}"))
                continue
            docs = _docs_of_module(module)
        imported.append(name)
        for doc in docs:
            if len(doc) >= MIN_CHARS and doc not in seen:
                seen.add(doc)
                documents.append(doc)
    return _corpus("docstrings", documents, imported, skipped)


def _corpus(name: str, documents: list[str], sources: list[str], skipped: list) -> Corpus:
    digest = hashlib.sha256("\x00".join(documents).encode()).hexdigest()
    return Corpus(
        tuple(documents), tuple(sources), tuple(skipped), platform.python_version(), digest, name
    )


def stdlib_sources(root: str | Path | None = None) -> list[Path]:
    """The standard library's ``.py`` files under ``root`` (default: this interpreter's), sorted
    by relative path, without the folders of :data:`STDLIB_SKIP_DIRS`."""
    base = Path(sysconfig.get_paths()["stdlib"] if root is None else root)
    files = [
        p
        for p in base.rglob("*.py")
        if not STDLIB_SKIP_DIRS.intersection(p.relative_to(base).parts[:-1])
    ]
    return sorted(files, key=lambda p: p.relative_to(base).as_posix())


def collect_stdlib_text(root: str | Path | None = None) -> Corpus:
    """The ``stdlib`` corpus: every module, class and function docstring of
    :func:`stdlib_sources` (file by file, in source order, ``ast.get_docstring``), then the
    ``pydoc_data.topics`` help texts in sorted topic order; documents of at least
    :data:`MIN_CHARS` characters, first occurrence only. A file that does not parse is skipped
    and recorded. ``modules`` holds the relative paths read, then ``pydoc_data.topics``."""
    base = Path(sysconfig.get_paths()["stdlib"] if root is None else root)
    seen: set[str] = set()
    documents: list[str] = []
    sources: list[str] = []
    skipped: list[tuple[str, str]] = []

    def keep(doc: str | None) -> None:
        if doc is not None and len(doc) >= MIN_CHARS and doc not in seen:
            seen.add(doc)
            documents.append(doc)

    nodes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for path in stdlib_sources(base):
        rel = path.relative_to(base).as_posix()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escape sequences in old sources
                tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError) as err:
            skipped.append((rel, f"{type(err).__name__}: {err}"))
            continue
        sources.append(rel)
        for node in ast.walk(tree):
            if isinstance(node, nodes):
                keep(ast.get_docstring(node))
    try:
        from pydoc_data.topics import topics
    except ImportError as err:  # a Python built without its documentation
        skipped.append(("pydoc_data.topics", f"{type(err).__name__}: {err}"))
    else:
        sources.append("pydoc_data.topics")
        for topic in sorted(topics):
            keep(topics[topic].strip())
    if not documents:
        raise ValueError(f"root={str(base)!r} is invalid: no documentation text found under it")
    return _corpus("stdlib", documents, sources, skipped)


# The corpora by name: the masked-LM task's ``DataConfig.corpus`` picks one.
CORPORA = {"docstrings": collect, "stdlib": collect_stdlib_text}


def by_name(name: str) -> Corpus:
    """The corpus ``name`` (a key of :data:`CORPORA`)."""
    if name not in CORPORA:
        raise ValueError(f"corpus={name!r} is invalid: expected one of {sorted(CORPORA)}")
    return CORPORA[name]()
