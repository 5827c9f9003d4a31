"""The optional compiled build of the engine core, and the guard against a stale one.

``scripts/build_core.py`` compiles ``COMPILED`` (the hot modules, unchanged ``.py`` sources) with
mypyc into extension modules next to the sources, and writes ``BUILD_FILE``: the digest of every
``engine/core/*.py`` it was built from. Python imports an extension module in preference to the
``.py`` of the same name, so an extension built from older sources would silently shadow an
edited file. This module, run by the package's ``__init__`` before anything else is imported,
prevents that: unless the compiled modules match the current sources (or
``ENGINE_CORE_PURE=1`` is set), it makes the compiled names import from their ``.py`` files.

``MODE`` says what is in use: ``"compiled"``, ``"pure"`` (nothing built, or ``ENGINE_CORE_PURE``)
or ``"pure (stale build ignored)"``. Plain Python only: no imports from the rest of the package.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import sys
import warnings

__all__ = ["COMPILED", "BUILD_FILE", "MODE", "sources_digest", "compiled_files", "select"]

PACKAGE = __name__.rpartition(".")[0]  # "engine.core"
DIR = os.path.dirname(os.path.abspath(__file__))
COMPILED = (
    "engine",
    "book",
    "ledger",
    "market",
    "events",
    "emit",
    "errors",
    "reserves",
    "placement",
    "matching",
    "cancels",
    "triggers",
    "commands",
)
BUILD_FILE = os.path.join(DIR, "_native_build.txt")
_EXT = importlib.machinery.EXTENSION_SUFFIXES[0]  # ".cpython-311-x86_64-linux-gnu.so"

MODE = "pure"


def sources_digest() -> str:
    """blake2b over the names and contents of every ``engine/core/*.py`` (sorted)."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(f for f in os.listdir(DIR) if f.endswith(".py")):
        with open(os.path.join(DIR, name), "rb") as f:
            data = f.read()
        h.update(name.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def compiled_files() -> list[str]:
    """The extension modules present for this interpreter (``COMPILED`` names that are built).
    None without the shared library they all load (mypyc's ``*__mypyc`` module): an import
    would fail rather than fall back."""
    if not any(f.endswith(_EXT) and "__mypyc" in f for f in os.listdir(DIR)):
        return []
    return [m for m in COMPILED if os.path.exists(os.path.join(DIR, m + _EXT))]


class _SourceFinder:
    """A meta-path finder that loads ``engine.core.<COMPILED>`` from the ``.py`` files."""

    def __init__(self) -> None:
        self.names = {f"{PACKAGE}.{m}": os.path.join(DIR, m + ".py") for m in COMPILED}

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001 - importlib protocol
        src = self.names.get(name)
        return None if src is None else importlib.util.spec_from_file_location(name, src)


def select() -> str:
    """Decides compiled or pure (once, before the package imports its modules); returns ``MODE``."""
    global MODE
    built = compiled_files()
    if not built:
        MODE = "pure"
        return MODE
    if os.environ.get("ENGINE_CORE_PURE", "") not in ("", "0"):
        MODE = "pure"
    else:
        try:
            with open(BUILD_FILE) as f:
                recorded = f.read().split()
        except OSError:
            recorded = []
        if recorded[:1] == [sources_digest()] and sorted(built) == sorted(COMPILED):
            MODE = "compiled"
            return MODE
        MODE = "pure (stale build ignored)"
        warnings.warn(
            "engine.core: the compiled modules do not match the .py sources (edited since the "
            "build?); using the pure-Python sources. Rebuild with `make core-native` or remove "
            "the build with `make core-pure`.",
            RuntimeWarning,
            stacklevel=3,
        )
    if not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())
    return MODE
