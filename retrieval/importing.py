"""Reading coverage from where it lives (a file, later a URL) into `Parsed`, refusing bad input."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from retrieval.sources import Parsed, SourceError, plaintext

SAMPLE_NAME = "cnn-russia-ukraine-2023-05-02.txt"


def bundled_sample() -> bytes:
    """The sample coverage shipped inside the package, so a fresh install has something to ask."""
    return (resources.files("retrieval") / "data" / SAMPLE_NAME).read_bytes()


def read_location(location: str) -> Parsed:
    """Parse the coverage at a path; every failure is a `SourceError` with a one-line reason."""
    path = Path(location).expanduser()
    if not path.exists():
        raise SourceError(f"no such file: {location}")
    if path.is_dir():
        raise SourceError(f"{location} is a folder; give a coverage file")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {location}: {exc.strerror or exc}") from None
    return parse_content(content, origin=str(path))


def parse_content(content: bytes, *, origin: str | None = None) -> Parsed:
    """Decode raw content and hand it to the importer for its format."""
    return plaintext.parse(decode(content), origin=origin)


def decode(content: bytes) -> str:
    """UTF-8 text, or a clear refusal for binary files."""
    if not content.strip():
        raise SourceError("the file is empty")
    if b"\x00" in content[:8192]:
        raise SourceError("this looks like a binary file, not coverage text")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError("this looks like a binary file, not UTF-8 coverage text") from None
