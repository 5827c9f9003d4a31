#!/usr/bin/env python
"""Compiles the engine core's hot modules with mypyc (optional: the same .py files run as they are).

    .venv/bin/python scripts/build_core.py          # build: engine/core/*.so next to the sources
    .venv/bin/python scripts/build_core.py --clean  # remove the compiled modules (pure Python again)

Needs ``mypy`` (which ships mypyc) and a C compiler; the modules it produces need nothing at run
time but CPython of the same version. ``engine/core/_native_build.txt`` records the digest of
the sources the build came from; ``engine.core.native`` ignores a build that no longer matches
them, and ``engine.core.NATIVE`` says which build is in use.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.chdir(ROOT)

# engine/core/native.py: plain Python, imported without the package (which would run the guard)
_spec_path = os.path.join(ROOT, "engine", "core", "native.py")
_ns: dict = {"__name__": "engine.core.native", "__file__": _spec_path}
with open(_spec_path) as _f:
    exec(compile(_f.read(), _spec_path, "exec"), _ns)  # noqa: S102 - our own file
COMPILED: tuple[str, ...] = _ns["COMPILED"]
BUILD_FILE: str = _ns["BUILD_FILE"]
sources_digest = _ns["sources_digest"]

CORE = os.path.join("engine", "core")
BUILD_DIR = os.path.join("build", "mypyc")


def clean() -> None:
    removed = []
    for path in glob.glob(os.path.join(CORE, "*.so")) + glob.glob(os.path.join(CORE, "*.pyd")) + [BUILD_FILE]:
        if os.path.exists(path):
            os.remove(path)
            removed.append(path)
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    print(f"removed {len(removed)} file(s) and {BUILD_DIR}/: the engine core is pure Python")


def build(opt_level: str) -> None:
    from mypyc.build import mypycify  # needs mypy (ships mypyc) and a C compiler
    from setuptools import setup

    digest = sources_digest()  # of the sources as they are when the build starts
    clean()
    t = time.perf_counter()
    ext = mypycify(
        [os.path.join(CORE, m + ".py") for m in COMPILED],
        opt_level=opt_level,
        group_name="engine.core._native",  # one shared library: cross-module calls are native
        target_dir=BUILD_DIR,
    )
    setup(
        name="engine-core-native",
        packages=[],
        py_modules=[],
        ext_modules=ext,
        script_args=[
            "--quiet",
            "build_ext",
            "--inplace",
            "--build-temp",
            os.path.join(BUILD_DIR, "tmp"),
            "--build-lib",
            os.path.join(BUILD_DIR, "lib"),
        ],
    )
    if sources_digest() != digest:
        clean()
        sys.exit("engine/core changed during the build: run it again")
    with open(BUILD_FILE, "w") as f:
        f.write(f"{digest}\n")
    print(f"compiled {', '.join(COMPILED)} in {time.perf_counter() - t:.1f} s (mypyc, -O{opt_level})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clean", action="store_true", help="remove the compiled modules")
    ap.add_argument("--opt-level", default="3", choices="0123")
    args = ap.parse_args()
    if args.clean:
        clean()
    else:
        build(args.opt_level)


if __name__ == "__main__":
    main()
