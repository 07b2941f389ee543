"""matching.compiled: the Cython-compiled core runs only when built from the sources on disk, and runs them
exactly as the Python source does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import matching
from matching import compiled

PACKAGE = Path(matching.__file__).resolve().parent

# Runs a recorded stream (the benchmark's, with marketable orders, cancels and replaces) and prints which
# core ran, every event and the final book digest.
PROBE = """
import hashlib, sys, warnings
warnings.simplefilter("always")
import matching, matching.engine
from matching.bench import StreamRecorder, new_engine
recorder = StreamRecorder(200, 7)
engine = new_engine(True)
digest = hashlib.sha256()
for command in recorder.prefill(200) + recorder.stream(3000):
    for event in engine.process(command):
        digest.update(repr(event).encode())
engine.check_invariants()
print(matching.COMPILED, matching.engine.__file__, digest.hexdigest(), engine.digest())
"""


def _built() -> bool:
    return all(compiled.extension_path(module) is not None for module in compiled.MODULES)


needs_build = pytest.mark.skipif(not _built(), reason="the compiled core is not built here (no Cython or C "
                                                      "compiler at install): nothing to compare")


def _copy_of_the_package(tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(PACKAGE, root / "matching", ignore=shutil.ignore_patterns("__pycache__", "*.c"))
    return root


def _probe(root: Path) -> tuple[list[str], str]:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=root, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr
    return result.stdout.split(), result.stderr


@needs_build
def test_a_fresh_build_runs_compiled_and_gives_the_same_events_and_book_as_the_source(tmp_path):
    root = _copy_of_the_package(tmp_path)
    (ran_compiled, module, events, book), warnings = _probe(root)
    assert ran_compiled == "True" and module.endswith(".so") and "out of date" not in warnings

    for path in (root / "matching").glob(f"*{compiled.FINGERPRINT_SUFFIX}"):
        path.unlink()  # as if the build had failed: the source runs
    (from_source, module, source_events, source_book), warnings = _probe(root)
    assert from_source == "False" and module.endswith("engine.py")
    assert (source_events, source_book) == (events, book)


@needs_build
@pytest.mark.parametrize("edited", ["engine.py", "book.py", "engine.pxd", "book.pxd"])
def test_a_source_edited_after_the_build_runs_from_source_with_a_warning_saying_how_to_rebuild(tmp_path, edited):
    root = _copy_of_the_package(tmp_path)
    with open(root / "matching" / edited, "a") as source:
        source.write("\n# edited after the build\n")
    (ran_compiled, module, _, _), warnings = _probe(root)
    assert ran_compiled == "False" and module.endswith("engine.py")
    assert "the compiled matching core is out of date" in warnings and "make install" in warnings


@needs_build
def test_a_compiled_engine_without_its_compiled_book_is_not_run(tmp_path):
    root = _copy_of_the_package(tmp_path)
    compiled_book = compiled.extension_path("book", root / "matching")
    compiled_book.unlink()
    assert "no compiled module" in compiled.stale_reason(root / "matching")
    (ran_compiled, module, _, _), _ = _probe(root)
    assert ran_compiled == "False" and module.endswith("engine.py")


def test_without_any_compiled_module_the_source_runs_and_nothing_is_said(tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(PACKAGE, root / "matching",
                    ignore=shutil.ignore_patterns("__pycache__", "*.c", "*.so", f"*{compiled.FINGERPRINT_SUFFIX}"))
    (ran_compiled, module, _, _), warnings = _probe(root)
    assert ran_compiled == "False" and module.endswith("engine.py") and "out of date" not in warnings


def test_the_compiled_core_runs_where_the_suite_must_run_everything(missing_build):
    if not matching.COMPILED:
        missing_build("the matching core runs from source: it was not compiled at install (Cython or a C "
                      "compiler missing) or is out of date (make install rebuilds it)")
    assert matching.engine.__file__.endswith(".so") and matching.book.__file__.endswith(".so")
