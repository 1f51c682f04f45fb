"""deploy/liveblog-bot.service: systemd accepts it, and what it starts answers in Telegram.

No systemd runs as PID 1 here, so the unit cannot be started as a service. Instead:
`systemd-analyze verify` and `systemd-analyze security --offline=yes` judge the unit file, and
the test starts the unit's own ExecStart= line with the environment systemd would give it
(Environment= lines, then the env file written as deploy/README.md documents it, with the
state directory mapped into a temporary folder), as an unprivileged user when the
test runs as root, against the Bot API emulator.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.emulator import Emulator, new_bot_token

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "liveblog-bot.service"
README = REPO / "deploy" / "README.md"
CONSOLE_SCRIPT = Path(sys.executable).with_name("liveblog-bot")
ENV_FILE_HEADER = "# /etc/liveblog-bot/env"
# What systemd puts in every service's environment before the unit's own settings.
SYSTEMD_BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
    "LANG": "C.UTF-8",
    "HOME": "/",  # a DynamicUser= user's home
}
NOBODY = 65534
NATO = "What did NATO say about fighting vehicles?"

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(text: str) -> Unit:
    """[Section] → [(key, value)], keeping repeated keys (Environment=, SystemCallFilter=)."""
    unit: Unit = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            unit.setdefault(section, [])
            continue
        assert section is not None, f"{UNIT}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{UNIT}: not key=value: {line!r}"
        unit[section].append((key.strip(), value.strip()))
    return unit


def values(unit: Unit, key: str, section: str = "Service") -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit: Unit, key: str, section: str = "Service") -> str:
    found = values(unit, key, section)
    assert len(found) == 1, f"{UNIT}: expected one {key}= in [{section}], found {found}"
    return found[0]


def parse_environment_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, optional quotes)."""
    env = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()), line
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def documented_env_file() -> str:
    """The env file example of deploy/README.md (the fenced block that starts with its path)."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if b.startswith(ENV_FILE_HEADER)]
    assert len(found) == 1, f"{README} must show the env file once, starting {ENV_FILE_HEADER!r}"
    return found[0]


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail(
            "systemd-analyze is missing: apt-get install -y --no-install-recommends systemd"
        )
    return found


def installed_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart= pointing at this checkout's console script."""
    text = UNIT.read_text(encoding="utf-8")
    text, count = re.subn(
        r"^ExecStart=\S+/liveblog-bot\b", f"ExecStart={CONSOLE_SCRIPT}", text, flags=re.M
    )
    assert count == 1, "ExecStart= must run a liveblog-bot console script"
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    return copy


def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    done = subprocess.run(
        [systemd_analyze(), "verify", str(installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout + done.stderr == ""


def test_the_sandbox_rates_ok_in_systemd_analyze_security(tmp_path: Path) -> None:
    done = subprocess.run(
        [systemd_analyze(), "security", "--offline=yes", "--threshold=20",
         "--no-pager", str(installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr  # exposure at most 2.0


def test_the_unit_runs_liveblog_bot_as_a_sandboxed_dynamic_user_with_the_token_outside() -> None:
    unit = parse_unit(UNIT.read_text(encoding="utf-8"))
    assert shlex.split(one(unit, "ExecStart"))[1:] == ["run"]
    assert one(unit, "DynamicUser") == "yes"
    assert one(unit, "StateDirectory") == "liveblog-bot"
    assert "LIVEBLOG_DATABASE=/var/lib/liveblog-bot/liveblog.db" in values(unit, "Environment")
    assert one(unit, "EnvironmentFile") == "/etc/liveblog-bot/env"  # no "-": it must exist
    assert one(unit, "Restart") == "on-failure"
    assert one(unit, "KillSignal") == "SIGTERM"
    assert re.fullmatch(r"\d+s", one(unit, "TimeoutStopSec"))
    for key, expected in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
    ]:
        assert one(unit, key) == expected, key
    for writable in ("ReadWritePaths", "CacheDirectory", "LogsDirectory", "RuntimeDirectory"):
        assert values(unit, writable) == [], "the state directory is the only writable one"
    settings = values(unit, "Environment") + values(unit, "ExecStart")
    assert not [s for s in settings if "TOKEN" in s.upper()], "the token belongs in the env file"
    readme = README.read_text(encoding="utf-8")
    assert "install -m 0600" in readme and "/etc/liveblog-bot/env" in readme


# -- the unit's command, run -------------------------------------------------------------------


@pytest.fixture(scope="module")
def api() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def _can_run_as_nobody() -> bool:
    """Whether an unprivileged user can read this checkout (not so under a private /root).

    The probe imports no numba: without the unit's NUMBA_CACHE_DIR, numba cannot cache its
    kernels for a user who may not write beside the code, and the import itself fails.
    """
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         sys.executable, "-c", "import telegram, bot.settings"],
        capture_output=True,
        check=False,
        cwd="/",
    )  # fmt: skip
    return probe.returncode == 0


def test_the_units_command_and_environment_answer_a_question_and_stop_on_sigterm(
    api: Emulator,
) -> None:
    unit = parse_unit(UNIT.read_text(encoding="utf-8"))
    as_nobody = _can_run_as_nobody()
    root = Path(tempfile.mkdtemp(prefix="liveblog-unit-"))
    root.chmod(0o711)  # like /var/lib: others may pass through to their own folder
    process: subprocess.Popen[str] | None = None
    try:
        # The directory systemd would create for StateDirectory=, owned by the service's user.
        state_path = f"/var/lib/{one(unit, 'StateDirectory')}"
        state = root / "state"
        state.mkdir(mode=0o700)
        if as_nobody:
            os.chown(state, NOBODY, NOBODY)

        def place(value: str) -> str:
            return re.sub(rf"^{re.escape(state_path)}(?=/|$)", str(state), value)

        # The env file, written as deploy/README.md shows it: root-only, token inside.
        token = new_bot_token()
        text = re.sub(
            r"^LIVEBLOG_TELEGRAM_TOKEN=.*$",
            f"LIVEBLOG_TELEGRAM_TOKEN={token}",
            documented_env_file(),
            count=1,
            flags=re.M,
        )
        assert token in text, "the documented env file must set LIVEBLOG_TELEGRAM_TOKEN"
        env_file = root / "env"
        env_file.write_text(text + f"LIVEBLOG_TELEGRAM_API_URL={api.url}\n", encoding="utf-8")
        env_file.chmod(0o600)

        env = dict(SYSTEMD_BASE_ENV)
        env["STATE_DIRECTORY"] = str(state)
        for assignment in values(unit, "Environment"):
            for item in shlex.split(assignment):
                key, _, value = item.partition("=")
                env[key] = place(value)
        env.update(parse_environment_file(env_file.read_text(encoding="utf-8")))  # wins

        argv = shlex.split(one(unit, "ExecStart"))
        assert Path(argv[0]).name == "liveblog-bot"
        argv[0] = str(CONSOLE_SCRIPT)
        if as_nobody:
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                    "--no-new-privs", *argv]  # fmt: skip
        log = root / "journal.log"
        with log.open("w") as journal:
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=place(one(unit, "WorkingDirectory")),
                stdin=subprocess.DEVNULL,
                stdout=journal,
                stderr=subprocess.STDOUT,
                text=True,
            )
        deadline = time.monotonic() + 30
        while not api.calls(token, "setMyCommands"):
            assert process.poll() is None, f"the bot exited at start:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the bot did not start:\n{log.read_text()}"
            time.sleep(0.05)

        alice = api.user(token)
        alice.send_message(NATO)
        (reply,) = alice.wait_for_replies(1, timeout=10)
        assert "98% of the <b>fighting</b> <b>vehicles</b>" in reply.text
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode(errors="replace")
        assert token.split(":")[1] not in cmdline

        database = Path(place(env["LIVEBLOG_DATABASE"]))
        assert database.is_file(), "LIVEBLOG_DATABASE must point into the state directory"
        assert database.parent == Path(env["STATE_DIRECTORY"])
        if as_nobody:
            assert database.stat().st_uid == NOBODY

        stop_within = int(one(unit, "TimeoutStopSec").removesuffix("s"))
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(stop_within) == 0, log.read_text()
        except subprocess.TimeoutExpired:
            raise AssertionError(f"not stopped within TimeoutStopSec={stop_within}s") from None
        journal_text = log.read_text()
        assert "Traceback" not in journal_text
        assert token.split(":")[1] not in journal_text
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
