"""Build configuration that pyproject.toml cannot hold: the matching core's compiled modules.

- matching/_frozen_init.c: the C __init__ of the frozen dataclasses (matching/frozen.py).
- matching/book.py and matching/engine.py compiled by Cython, typed by their .pxd files. The .py files
  stay the one source; the compiled modules run in their place when built from the same sources
  (matching/compiled.py checks a fingerprint this build leaves beside each).

Every extension is optional: a machine without a C compiler still installs, and runs the Python
source (slower; the same behaviour). Everything else about the package is in pyproject.toml.
"""

import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, str(Path(__file__).resolve().parent / "matching"))
import compiled as core  # noqa: E402  (matching/compiled.py, without importing the package)

extensions = [Extension("matching._frozen_init", ["matching/_frozen_init.c"], optional=True)]
try:
    from Cython.Build import cythonize
except ImportError:  # installed without Cython: the core runs from source
    cythonize = None
if cythonize is not None:
    extensions += cythonize(
        [Extension(f"matching.{module}", [f"matching/{module}.py"], optional=True) for module in core.MODULES],
        # annotation_typing off: the annotations are for readers and mypy; the .pxd files say the C types.
        compiler_directives={"language_level": 3, "annotation_typing": False},
        quiet=True)


CORE_EXTENSIONS = {f"matching.{module}" for module in core.MODULES}


class BuildExt(build_ext):
    """Leaves each compiled core module's source fingerprint beside it, in the build and, for an
    editable install, in the source tree, where the compiled modules are copied."""

    def build_extension(self, ext):
        super().build_extension(ext)  # raises when it fails: no fingerprint then, so no stale module runs
        if ext.name in CORE_EXTENSIONS:
            built = self.get_ext_fullpath(ext.name)
            Path(built + core.FINGERPRINT_SUFFIX).write_text(
                core.source_fingerprint(Path(__file__).resolve().parent / "matching") + "\n")

    def copy_extensions_to_source(self):
        super().copy_extensions_to_source()
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            if ext.name in CORE_EXTENSIONS:
                # setuptools' own mapping from the build to the source tree (what it has just copied)
                in_place, built = self._get_inplace_equivalent(build_py, ext)
                stamp, in_place_stamp = Path(built + core.FINGERPRINT_SUFFIX), Path(in_place + core.FINGERPRINT_SUFFIX)
                if Path(built).exists() and stamp.exists():
                    self.copy_file(str(stamp), str(in_place_stamp))
                else:  # this build failed: setuptools keeps the old module, which must not run
                    in_place_stamp.unlink(missing_ok=True)


setup(ext_modules=extensions, cmdclass={"build_ext": BuildExt})
