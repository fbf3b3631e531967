"""Build of the native SMEV transform; everything else is declared in setup.cfg.

The extension is not optional: when gcc or the Python headers are missing, `make install`
fails loudly instead of leaving the gateway on the slow reference transform.
"""
from setuptools import Extension, setup

setup(ext_modules=[
    Extension("signing._smev_native", ["signing/_smev_native.c"],
              extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]),
])
