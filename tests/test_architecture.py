"""The rooms of the design stay apart: retrieval/ knows no bot and no Telegram, and only the
Telegram adapter imports `telegram`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
ADAPTER = {
    "telegram_app",
    "telegram_digests",
    "telegram_send",
    "telegram_sources",
    "webhook_server",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "retrieval").rglob("*.py")), ids=str)
def test_retrieval_imports_neither_the_bot_nor_telegram(path: Path) -> None:
    roots = {name.split(".")[0] for name in imported_modules(path)}
    assert not roots & {"bot", "telegram"}


@pytest.mark.parametrize("path", sorted((ROOT / "bot").glob("*.py")), ids=str)
def test_only_the_telegram_adapter_imports_telegram(path: Path) -> None:
    roots = {name.split(".")[0] for name in imported_modules(path)}
    if path.stem not in ADAPTER:
        assert "telegram" not in roots
