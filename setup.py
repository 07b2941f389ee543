"""Build configuration that pyproject.toml cannot hold: the matching core's one C extension.

`optional`: a machine without a C compiler still installs, and matching.frozen falls back to Python
(slower events; the same behaviour). Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("matching._frozen_init", ["matching/_frozen_init.c"], optional=True)])
