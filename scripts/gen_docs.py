"""Regenerate the generated parts of the docs: python scripts/gen_docs.py"""

from __future__ import annotations

from pathlib import Path

from locoreg.decision.rules import rule_table_markdown

ROOT = Path(__file__).resolve().parents[1]


def clinical_logic() -> str:
    head = (ROOT / "docs" / "clinical-logic.md.in").read_text(encoding="utf-8")
    return head + rule_table_markdown() + "\n"


if __name__ == "__main__":
    (ROOT / "docs" / "clinical-logic.md").write_text(clinical_logic(), encoding="utf-8")
