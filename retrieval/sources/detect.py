"""Which importer reads a piece of content, and how its bytes become text.

Servers and file names lie often (feeds served as `text/plain`, UTF-8 pages declared as
ISO-8859-1), so the content itself decides whenever it is clear, and declared types and
charsets are only hints.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from pathlib import PurePosixPath

import charset_normalizer

from retrieval.sources import SourceError
from retrieval.sources.formats import Format

_SNIFF_BYTES = 64 * 1024

# Byte-order marks, longest first: UTF-32 LE starts with the UTF-16 LE mark.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Signatures of common binary files that could be handed to `import` by mistake.
_MAGIC: tuple[bytes, ...] = (
    b"%PDF-",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"SQLite format 3\x00",
    b"\x7fELF",
    b"RIFF",
    b"OggS",
    b"ID3",
)

# Browsers treat these labels as windows-1252 (WHATWG Encoding), and so do real pages.
_WINDOWS_1252_ALIASES = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii"}

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)["']""")
_LEADING_COMMENTS = re.compile(r"^(?:\s+|<!--.*?-->)*", re.S)
_HTML_START = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|title|base|link)\b", re.I)
_FEED_ROOT = re.compile(r"<(?:rss|feed|rdf:rdf)\b", re.I)

_BINARY_MESSAGE = "{what} looks like a binary file, not coverage"
_ENCODED_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")


def detect_format(
    content: bytes, content_type: str | None = None, name: str | None = None
) -> Format:
    """The importer for `content`: what the bytes say first, then the content type, then the name.

    Raises `SourceError` for binary content, which no importer can read.
    """
    text = decode(content, None, what=name or "the content")
    sniffed = _sniff(text[:_SNIFF_BYTES])
    if sniffed is not None:
        return sniffed
    hinted = _from_content_type(content_type) or _from_name(name)
    return hinted or "plaintext"


def decode(content: bytes, declared_charset: str | None, *, what: str = "the content") -> str:
    """Text of `content`, surviving a missing or wrong declared charset.

    Order: byte-order mark, valid UTF-8 (a wrong "ISO-8859-1" label on UTF-8 is the commonest
    lie on the web), the declared charset, the document's own `<meta charset>`/XML declaration,
    then charset_normalizer's guess. Binary content raises `SourceError` instead of a traceback.
    """
    if _looks_binary(content):
        raise SourceError(_BINARY_MESSAGE.format(what=what))
    text = _decode_text(content, declared_charset)
    if text is None or _mostly_control_characters(text):
        raise SourceError(_BINARY_MESSAGE.format(what=what))
    return text.lstrip("\ufeff")


def repair_encoded_surrogates(content: bytes, replacement: str = "\ufffd") -> bytes:
    """UTF-8 `content` with its encoded lone surrogates (bytes ED A0-BF xx, which no decoder
    accepts) replaced, when that is all that kept it from being valid UTF-8; else `content`.

    One hostile entry must not make the whole document look like another charset.
    """
    if b"\xed" not in content:
        return content
    repaired = _ENCODED_SURROGATE.sub(replacement.encode("utf-8"), content)
    if repaired == content:
        return content
    try:
        repaired.decode("utf-8")
    except UnicodeDecodeError:
        return content
    return repaired


def _decode_text(content: bytes, declared_charset: str | None) -> str | None:
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content.decode(encoding, errors="replace")
    if b"\x00" in content[:8192]:
        # Text with NUL bytes is UTF-16/32 without a byte-order mark (see `_looks_binary`).
        return _guess(content)
    try:
        return repair_encoded_surrogates(content).decode("utf-8")
    except UnicodeDecodeError:
        pass
    head = content[:4096]
    candidates: list[str | None] = [declared_charset]
    for pattern in (_XML_ENCODING, _META_CHARSET):
        found = pattern.search(head)
        if found:
            candidates.append(found.group(1).decode("ascii", errors="ignore"))
    for label in candidates:
        codec = _codec(label)
        if codec is None or codec == "utf-8":
            continue
        try:
            return content.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return _guess(content)


def _guess(content: bytes) -> str | None:
    """charset_normalizer's reading; among equally good Latin guesses, windows-1252.

    Short Western text decodes without errors as cp1250, cp1252 and cp1257 alike, and
    charset_normalizer may pick any of them; on the web, windows-1252 is by far the likeliest.
    """
    results = charset_normalizer.from_bytes(content)
    best = results.best()
    if best is None:
        return None
    for match in results:
        if (
            match.encoding == "cp1252"
            and match.chaos <= best.chaos + 0.01
            and match.coherence >= best.coherence - 0.05
        ):
            return str(match)
    return str(best)


def _codec(label: str | None) -> str | None:
    """Python's codec name for a charset label, or None for unknown or missing labels."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _WINDOWS_1252_ALIASES:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _looks_binary(content: bytes) -> bool:
    head = content[:8192]
    if head.startswith(_MAGIC):
        return True
    if any(head.startswith(bom) for bom, _ in _BOMS):
        return False
    if b"\x00" not in head:
        return False
    # NUL bytes are normal in UTF-16/32 text written without a byte-order mark.
    guess = charset_normalizer.from_bytes(head).best()
    return guess is None or not guess.encoding.startswith(("utf_16", "utf_32"))


def _mostly_control_characters(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    control = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    return control / len(sample) > 0.05


def _sniff(text: str) -> Format | None:
    start = _LEADING_COMMENTS.sub("", text.lstrip("\ufeff"), count=1)
    head = start[:4096]
    if head.startswith("<?xml"):
        # XHTML pages start with an XML declaration too; the root element decides.
        if _FEED_ROOT.search(head):
            return "feed"
        if _HTML_START.search(head):
            return "liveblog_html"
        return "feed"
    if _FEED_ROOT.match(head):
        return "feed"
    if _HTML_START.match(head):
        return "liveblog_html"
    first_line = next((line for line in start.split("\n") if line.strip()), "")
    if first_line.lstrip().startswith("{"):
        try:
            if isinstance(json.loads(first_line), dict):
                return "jsonl"
        except ValueError:  # also a line cut at the sniffing limit
            pass
        except RecursionError:  # a hostile or broken first line: the importer says which
            return "jsonl"
    return None


def _from_content_type(content_type: str | None) -> Format | None:
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return "liveblog_html"
    if media in (
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    ):
        return "feed"
    if media in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines"):
        return "jsonl"
    return None


def _from_name(name: str | None) -> Format | None:
    if not name:
        return None
    suffix = PurePosixPath(name.split("?", 1)[0]).suffix.lstrip(".").lower()
    by_suffix: dict[str, Format] = {
        "html": "liveblog_html",
        "htm": "liveblog_html",
        "xhtml": "liveblog_html",
        "rss": "feed",
        "atom": "feed",
        "xml": "feed",
        "jsonl": "jsonl",
        "ndjson": "jsonl",
    }
    return by_suffix.get(suffix)
