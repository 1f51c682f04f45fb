"""The deployment recipes name only settings and commands the code has.

The Dockerfile and compose.yaml cannot be built or run here (no container engine, no image
registry), so this is what keeps them honest: every `LIVEBLOG_` variable in them (and in the
systemd unit, the nginx example and deploy/README.md) is a field of `bot.settings.Settings`,
and every `liveblog-bot <command>` they run is a subcommand of `bot.cli.build_parser()`.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RECIPES = [
    DEPLOY / "Dockerfile",
    DEPLOY / "compose.yaml",
    DEPLOY / "liveblog-bot.service",
    DEPLOY / "nginx" / "liveblog-bot.conf",
    DEPLOY / "README.md",
]
VARIABLE = re.compile(r"\bLIVEBLOG_([A-Z][A-Z0-9_]*[A-Z0-9])")
# `liveblog-bot` as a whole word (not /opt/liveblog-bot/src, not User=liveblog-bot) and the
# word after it, in shell or JSON-array form.
COMMAND = re.compile(r"""(?:^|[\s"'/`\[])liveblog-bot(?:"\s*,\s*"|[ \t]+)([^\s"'`\],]+)""", re.M)


def cli_commands() -> set[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("bot.cli.build_parser() has no subcommands")


def settings_variables() -> set[str]:
    return {f"LIVEBLOG_{name.upper()}" for name in Settings.model_fields}


def commands_in(text: str) -> set[str]:
    """Words that follow `liveblog-bot` and are not options (--help) or image-name context."""
    return {word for word in COMMAND.findall(text) if re.fullmatch(r"[a-z][a-z-]*", word)}


def readme_code(text: str) -> str:
    """Fenced blocks and inline code of a Markdown file: what an operator types."""
    fenced = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    outside = re.sub(r"```[a-z]*\n.*?```", "", text, flags=re.S)
    inline = re.findall(r"`([^`\n]+)`", outside)
    return "\n".join(fenced + inline)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines()
                                              if not line.lstrip().startswith("#")))  # fmt: skip
    out = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            out.append((instruction.upper(), args.strip()))
    return out


def argv(args: str) -> list[str]:
    """Exec form (a JSON array) or shell form of a Dockerfile instruction's arguments."""
    return list(json.loads(args)) if args.startswith("[") else shlex.split(args)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_liveblog_variable_a_recipe_names_is_a_setting(recipe: Path) -> None:
    named = {f"LIVEBLOG_{m}" for m in VARIABLE.findall(recipe.read_text(encoding="utf-8"))}
    assert named - settings_variables() == set()


def test_the_recipes_name_the_settings_a_deployment_needs() -> None:
    named = {
        f"LIVEBLOG_{m}" for r in RECIPES for m in VARIABLE.findall(r.read_text(encoding="utf-8"))
    }
    assert {
        "LIVEBLOG_DATABASE",
        "LIVEBLOG_TELEGRAM_TOKEN",
        "LIVEBLOG_TELEGRAM_API_URL",
        "LIVEBLOG_TELEGRAM_WEBHOOK_URL",
        "LIVEBLOG_TELEGRAM_WEBHOOK_SECRET",
        "LIVEBLOG_TELEGRAM_WEBHOOK_LISTEN",
        "LIVEBLOG_TELEGRAM_WEBHOOK_PORT",
    } <= named


def test_the_unit_runs_a_cli_command() -> None:
    text = (DEPLOY / "liveblog-bot.service").read_text(encoding="utf-8")
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", text, re.M)
    program, command, *_ = shlex.split(exec_start)
    assert program.endswith("/liveblog-bot")
    assert command in cli_commands()


def test_the_dockerfile_runs_cli_commands_as_a_non_root_user_on_a_data_volume() -> None:
    instructions = dockerfile_instructions((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    by_name: dict[str, list[str]] = {}
    for name, args in instructions:
        by_name.setdefault(name, []).append(args)
    assert len(by_name["FROM"]) >= 2, "multi-stage: build, then a runtime stage"
    assert all("slim" in f or "${PYTHON_IMAGE}" in f for f in by_name["FROM"])
    assert any("slim" in a for a in by_name["ARG"])
    (entrypoint,) = by_name["ENTRYPOINT"]
    (cmd,) = by_name["CMD"]
    assert argv(entrypoint) == ["liveblog-bot"]
    assert argv(cmd)[0] in cli_commands()
    (healthcheck,) = by_name["HEALTHCHECK"]
    options, _, probe = healthcheck.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    assert argv(probe) == ["liveblog-bot", "check"]
    assert "check" in cli_commands()
    (user,) = by_name["USER"]
    assert user not in {"root", "0"}
    (volume,) = by_name["VOLUME"]
    assert argv(volume) == ["/data"]
    env = " ".join(by_name["ENV"])
    assert "LIVEBLOG_DATABASE=/data/" in env
    assert "TOKEN" not in env  # the token comes at run time, never in the image
    for run in by_name["RUN"]:
        assert commands_in(run) <= cli_commands()


def test_compose_runs_the_image_with_a_cli_command() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    bot = re.search(r"^  bot:\n(.*?)(?=^  \S|^\S|\Z)", text, re.S | re.M)
    assert bot is not None, "compose.yaml has a `bot` service"
    assert "dockerfile: deploy/Dockerfile" in bot.group(1)
    (command,) = re.findall(r"^\s+command:\s*(\[.*\])\s*$", bot.group(1), re.M)
    assert json.loads(command)[0] in cli_commands()
    assert "/data" in bot.group(1)
    assert "LIVEBLOG_TELEGRAM_TOKEN" not in bot.group(1)  # from the env file, not the recipe
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert commands_in(code) <= cli_commands()


def test_every_liveblog_bot_command_in_the_readme_exists() -> None:
    code = readme_code((DEPLOY / "README.md").read_text(encoding="utf-8"))
    used = commands_in(code)
    assert {"run", "check", "backup", "import"} <= used  # the parser found them at all
    assert used - cli_commands() == set()


def test_the_command_pattern_tells_commands_from_names_and_paths() -> None:
    text = (
        "docker build -t liveblog-bot .\n"
        "/opt/liveblog-bot/src x\n"
        "-p User=liveblog-bot -p\n"
        "systemctl status liveblog-bot --no-pager\n"
        '["liveblog-bot", "check"]\n'
        "/opt/liveblog-bot/bin/liveblog-bot backup /x\n"
        "`liveblog-bot run`"
    )
    assert commands_in(text) == {"check", "backup", "run"}
