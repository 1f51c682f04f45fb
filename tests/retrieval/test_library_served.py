"""The library as the bot serves it: loaded once, then kept out of the collector's walks."""

import subprocess
import sys
from pathlib import Path


def test_a_served_library_is_not_walked_by_a_full_garbage_collection(tmp_path: Path) -> None:
    # In a child process: gc.freeze() is process-wide and must not reach pytest's own objects.
    script = f"""
import gc
from pathlib import Path
from retrieval.library import open_served
library = open_served(Path({str(tmp_path / "liveblog.db")!r}))
terms = library.index._terms
walked = any(o is terms for o in gc.get_objects())
print(gc.get_freeze_count() > 0, walked)
library.close()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]
