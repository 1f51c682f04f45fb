"""The rooms of the design stay apart: who may import whom.

retrieval/ knows no bot and no Telegram; the command core (bot/core/) knows neither Telegram
nor the terminal; only the Telegram adapter (bot/telegram/) imports `telegram`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _touches(imported: set[str], forbidden: set[str]) -> set[str]:
    return {
        name for name in imported for f in forbidden if name == f or name.startswith(f + ".")
    }


@pytest.mark.parametrize("path", _modules("retrieval"), ids=str)
def test_retrieval_imports_neither_the_bot_nor_telegram(path: Path) -> None:
    assert not _touches(imported_modules(path), {"bot", "telegram"})


@pytest.mark.parametrize("path", _modules("bot/core"), ids=str)
def test_the_core_knows_no_transport(path: Path) -> None:
    forbidden = {"telegram", "bot.telegram", "bot.terminal", "bot.cli", "rich"}
    assert not _touches(imported_modules(path), forbidden)


@pytest.mark.parametrize("path", _modules("bot/terminal"), ids=str)
def test_the_terminal_knows_no_telegram(path: Path) -> None:
    assert not _touches(imported_modules(path), {"telegram", "bot.telegram"})


@pytest.mark.parametrize("path", _modules("bot"), ids=str)
def test_only_the_telegram_adapter_imports_telegram(path: Path) -> None:
    if (ROOT / "bot" / "telegram") not in path.parents:
        assert not _touches(imported_modules(path), {"telegram"})


def test_every_package_says_what_it_is_for() -> None:
    for init in [*_modules("retrieval"), *_modules("bot")]:
        if init.name == "__init__.py":
            assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), init
