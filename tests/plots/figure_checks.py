"""Helpers for the figure tests: read what was drawn from the matplotlib artists."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def gids(fig, prefix: str) -> list[str]:
    """The ids of every artist of ``fig`` whose gid starts with ``prefix``, sorted."""
    found = fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))
    return sorted(a.get_gid() for a in found)


def svg_ids(path: Path) -> list[str]:
    """Parse the SVG (fails on malformed XML) and return every element id."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return [el.get("id", "") for el in root.iter()]


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000
