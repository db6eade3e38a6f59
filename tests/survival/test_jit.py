"""Where the compiled kernels cache their machine code (``survival/_jit.py``).

numba refuses to compile a ``cache=True`` function when neither the source's ``__pycache__``
nor the user's cache directory is writable (a read-only installation run without a home, as
in many containers); ``_cache_directory`` then picks a temporary directory, or no disk cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from locoreg.survival import _jit


@pytest.mark.parametrize(
    ("writable", "expected"),
    [
        ({"__pycache__", "numba", "tmp"}, ""),  # next to the source: numba's own choice
        ({"numba", "tmp"}, ""),  # the user's cache directory: numba's own choice
        ({"tmp"}, "tmp"),  # neither: a per-user temporary directory
        (set(), None),  # nothing writable: compiled in each process, no disk cache
    ],
)
def test_cache_directory_falls_back_to_what_is_writable(
    writable: set[str], expected: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_jit.config, "CACHE_DIR", "", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.setattr(_jit.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))

    def writable_dir(directory: Path) -> bool:
        if directory.name == "__pycache__":
            return "__pycache__" in writable
        if directory.name == "numba":
            return "numba" in writable
        return "tmp" in writable

    monkeypatch.setattr(_jit, "_writable", writable_dir)
    got = _jit._cache_directory()
    if expected == "tmp":
        assert got is not None and Path(got).parent == tmp_path / "tmp"
        assert Path(got).name.startswith("locoreg-numba-")
    else:
        assert got == expected


def test_shared_temporary_directory_must_be_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Cached machine code is loaded and run: a fallback directory that another user could
    write (group/world-writable, or a symlink to elsewhere) is not used."""
    monkeypatch.setattr(_jit.config, "CACHE_DIR", "", raising=False)
    monkeypatch.setattr(_jit.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(_jit, "_writable", lambda directory: directory.parent == tmp_path)
    got = _jit._cache_directory()
    assert got is not None and (Path(got).stat().st_mode & 0o777) == 0o700
    Path(got).chmod(0o777)
    assert _jit._cache_directory() is None
    Path(got).rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    Path(got).symlink_to(tmp_path / "elsewhere")
    assert _jit._cache_directory() is None


def test_user_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jit.config, "CACHE_DIR", "/somewhere/else", raising=False)
    monkeypatch.setattr(_jit, "_writable", lambda directory: False)
    assert _jit._cache_directory() == ""


def test_writable_probe(tmp_path: Path) -> None:
    assert _jit._writable(tmp_path / "new" / "dir")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert not _jit._writable(blocker / "sub")
