"""The numba settings shared by the compiled loops (``_cox_kernels``, ``_concordance_kernels``,
``_table_kernels``, ``_logistic_kernels``).

``kernel`` compiles a function to machine code on its first call, releasing the GIL while it
runs (``nogil``: the engine's two worker threads run kernels in parallel), without bounds
checks (the callers pass consistent shapes), with numpy's floating-point rules (a division by
zero gives inf or nan, which the Newton iteration treats as a failed step, instead of raising
ZeroDivisionError mid-loop), and caches the machine code on disk so that later processes load
it in milliseconds instead of compiling again.

Where the cache goes: numba writes next to the source (``__pycache__``) or in the user's cache
directory, and refuses to compile at all when neither is writable - a read-only installation
run by a user without a writable home, as in many containers. Then the cache goes to a
per-user directory under the system's temporary directory, and if even that is not usable
the kernels are compiled afresh in each process (a few seconds, once per process).
``NUMBA_CACHE_DIR`` set by the user always wins.

The cache holds machine code and pickled index files that the process loads and runs, so
the shared temporary directory is used only through a directory of this user that nobody
else can write (created with mode 0700; refused if it is a symlink, belongs to someone
else, or is group- or world-writable): otherwise another user could plant code there.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from numba import config, njit


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def _private(directory: Path) -> bool:
    """Whether ``directory`` (created with mode 0700 if missing) is a real directory of this
    user that no other user can write."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):  # a symlink or a file planted under that name
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _cache_directory() -> str | None:
    """Empty: numba's own choice; a path: use it instead; None: no disk cache at all."""
    if getattr(config, "CACHE_DIR", "") or _writable(Path(__file__).parent / "__pycache__"):
        return ""
    try:
        home_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "numba"
    except (RuntimeError, KeyError):  # no home directory at all
        home_cache = None
    if home_cache is not None and _writable(home_cache):
        return ""
    user = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"locoreg-numba-{user}"
    return str(fallback) if _private(fallback) and _writable(fallback) else None


_CACHE = _cache_directory()
if _CACHE:
    config.CACHE_DIR = _CACHE  # type: ignore[attr-defined]  # numba's stubs omit it

kernel = njit(cache=_CACHE is not None, nogil=True, boundscheck=False, error_model="numpy")
