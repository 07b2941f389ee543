"""Which matching core runs: the compiled one where it was built from the sources on disk, else the source.

setup.py compiles book.py and engine.py with Cython (their .pxd files declare the types), and Python
imports a compiled module found next to its source in preference to the source. A build from older
sources would then run old code (an engine.py edited after `make install`, say), so each build leaves
beside each compiled module a fingerprint of the sources it compiled, and the package checks it before
anything imports the core: when a fingerprint is missing or differs, both modules load from source
instead, with a warning that says how to rebuild. Both or neither: the compiled engine expects the
compiled book's types.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import sys
import warnings
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
MODULES = ("book", "engine")  # in import order: the engine imports the book
SOURCES = ("book.py", "book.pxd", "engine.py", "engine.pxd")
FINGERPRINT_SUFFIX = ".source-sha256"


def source_fingerprint(directory: Path = DIRECTORY) -> str:
    """SHA-256 over the compiled core's sources (the .pxd files decide the compiled layout too)."""
    digest = hashlib.sha256()
    for name in SOURCES:
        path = directory / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"<missing>") + b"\0")
    return digest.hexdigest()


def extension_path(module: str, directory: Path = DIRECTORY) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / f"{module}{suffix}"
        if path.exists():
            return path
    return None


def stale_reason(directory: Path = DIRECTORY) -> str | None:
    """Why the compiled modules must not run (None: they may, or there are none)."""
    built = {module: extension_path(module, directory) for module in MODULES}
    if not any(built.values()):
        return None
    fingerprint = source_fingerprint(directory)
    for module, path in built.items():
        if path is None:
            return f"matching/{module} has no compiled module beside the others"
        stamp = path.with_name(path.name + FINGERPRINT_SUFFIX)
        if not stamp.exists() or stamp.read_text().strip() != fingerprint:
            return f"{path.name} was built from other sources than {', '.join(SOURCES)} now hold"
    return None


def load_sources(directory: Path = DIRECTORY) -> None:
    """Import the core's modules from their .py files, ahead of any compiled module beside them."""
    for module in MODULES:
        name = f"{__package__}.{module}"
        spec = importlib.util.spec_from_file_location(name, directory / f"{module}.py")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        spec.loader.exec_module(loaded)
        setattr(sys.modules[__package__], module, loaded)  # as the import system does for a submodule


def choose() -> bool:
    """Make the core's modules load from source when the compiled ones are stale; True if compiled ones run."""
    reason = stale_reason()
    if reason is not None:
        warnings.warn(f"the compiled matching core is out of date ({reason}); running the Python source, "
                      f"which is slower: run `make install` to rebuild it", RuntimeWarning, stacklevel=3)
        load_sources()
        return False
    return extension_path("engine") is not None
