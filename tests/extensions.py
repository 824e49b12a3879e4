"""The C extensions (setup.py) in tests: required, and current, wherever they can be built.

setup.py builds them as optional, so an install without a compiler still works; but that also
means a compile error only prints a warning, and the Python fallback would then pass every test
in silence. So where a C compiler and OpenSSL's headers are present, a missing extension fails
the run, and so does one older than its source (an edit not rebuilt: ``make`` rebuilds it, or
``pip install -e .``; ``pip install -v -e .`` shows a compile error).
"""

from __future__ import annotations

import importlib
import shutil
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def can_build(openssl: bool) -> bool:
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    compiler = shutil.which("cc") or shutil.which("gcc")
    headers = not openssl or Path("/usr/include/openssl/evp.h").exists()
    return bool(compiler) and include.exists() and headers


def require(module: str, source: str, *, openssl: bool = False) -> ModuleType:
    """The built ``module`` (its C ``source`` relative to the repository; ``openssl``: it needs
    OpenSSL's headers too), or skip where it cannot be built; fail where it should have been."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        if can_build(openssl):
            pytest.fail(
                f"{module} is not built though a compiler and headers are here: "
                "`pip install -v -e .` shows why",
                pytrace=False,
            )
        pytest.skip(f"{module} cannot be built here (no C compiler or headers)", allow_module_level=True)
    built = Path(mod.__file__ or "")
    if built.stat().st_mtime < (ROOT / source).stat().st_mtime:
        pytest.fail(
            f"{built.name} is older than {source}: rebuild it (`make`, or `pip install -e .`)", pytrace=False
        )
    return mod
