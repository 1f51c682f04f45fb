"""The bot's log at DEBUG: ours and the libraries' requests, never numba's compiler passes."""

import subprocess
import sys
from pathlib import Path


def test_debug_log_of_a_cold_kernel_compile_holds_no_numba_chatter(tmp_path: Path) -> None:
    # A fresh process with an empty numba cache compiles the kernels, as a new install does.
    script = (
        "from bot.logs import configure_logging\n"
        "configure_logging('DEBUG', 'text', None)\n"
        "import logging\n"
        "logging.getLogger('liveblog').debug('ours')\n"
        "from retrieval.index import BM25Index\n"
        "index = BM25Index.build([('a', ['kyiv', 'drone']), ('b', ['bakhmut']), ('c', ['x'])])\n"
        "print(index.top_k(['kyiv'], 1))\n"
    )
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "DEBUG liveblog: ours" in done.stderr
    assert "numba" not in done.stderr
