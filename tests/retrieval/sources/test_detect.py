"""Format detection by sniffing, and decoding that survives wrong charsets and binary files."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from retrieval.importing import bundled_sample
from retrieval.sources import SourceError
from retrieval.sources.detect import decode, detect_format

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sources"
NEWS = "Zelensky’s “counteroffensive” – café owners in Kyiv reopened, naïve as it may seem."


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("liveblog_schema_org.html", "liveblog_html"),
        ("liveblog_graph_blocks.html", "liveblog_html"),
        ("rss_liveblog.xml", "feed"),
        ("atom_liveblog.atom", "feed"),
        ("archive.jsonl", "jsonl"),
    ],
)
def test_fixtures_are_detected_from_their_content_alone(name: str, expected: str) -> None:
    assert detect_format((FIXTURES / name).read_bytes()) == expected


def test_bundled_plain_text_sample_is_plaintext() -> None:
    assert detect_format(bundled_sample(), "text/plain", "sample.txt") == "plaintext"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"<rss version='2.0'><channel></channel></rss>", "feed"),
        (b"\n  <feed xmlns='http://www.w3.org/2005/Atom'></feed>", "feed"),
        (b"<?xml version='1.0'?><rdf:RDF xmlns:rdf='x'></rdf:RDF>", "feed"),
        (b"<?xml version='1.0'?><something/>", "feed"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "liveblog_html"),
        (b"<HTML><BODY>shouting</BODY></HTML>", "liveblog_html"),
        (b"\xef\xbb\xbf<!-- cms --> \n<!doctype html><html></html>", "liveblog_html"),
        (
            b"<?xml version='1.0' encoding='utf-8'?>\n<!DOCTYPE html PUBLIC '-//W3C//DTD XHTML"
            b" 1.0 Strict//EN' 'x'>\n<html xmlns='http://www.w3.org/1999/xhtml'></html>",
            "liveblog_html",
        ),
        (b'\n\n{"title": "t", "body": "b"}\n{"title": "u"}\n', "jsonl"),
        (b'["not", "an", "object"]\n', "plaintext"),
        (b"{ this is not json", "plaintext"),
        (b"May 2, 2023 - Russia-Ukraine news | CNN\n\nText.", "plaintext"),
    ],
)
def test_content_is_sniffed(content: bytes, expected: str) -> None:
    assert detect_format(content) == expected


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b"<rss version='2.0'><channel/></rss>", "text/html; charset=utf-8", "feed"),
        (b"<rss version='2.0'><channel/></rss>", "text/plain", "feed"),
        (b"<!doctype html><html></html>", "application/rss+xml", "liveblog_html"),
        (b'{"title": "x"}\n', "text/html", "jsonl"),
    ],
)
def test_the_content_wins_over_a_wrong_content_type(
    content: bytes, content_type: str, expected: str
) -> None:
    assert detect_format(content, content_type) == expected


@pytest.mark.parametrize(
    ("content_type", "name", "expected"),
    [
        ("text/html", None, "liveblog_html"),
        ("application/atom+xml", None, "feed"),
        ("application/x-ndjson", None, "jsonl"),
        (None, "page.htm", "liveblog_html"),
        (None, "https://example.com/feed.rss?x=1", "feed"),
        (None, "dump.ndjson", "jsonl"),
        ("text/plain", "notes.txt", "plaintext"),
        (None, None, "plaintext"),
    ],
)
def test_type_and_name_decide_only_when_the_content_is_unclear(
    content_type: str | None, name: str | None, expected: str
) -> None:
    ambiguous = b"<div><p>An HTML fragment without an html element</p></div>"
    assert detect_format(ambiguous, content_type, name) == expected


def test_utf8_declared_as_latin1_is_still_read_as_utf8() -> None:
    assert decode(NEWS.encode("utf-8"), "iso-8859-1") == NEWS


def test_windows_1252_declared_as_utf8_is_still_decoded() -> None:
    assert decode(NEWS.encode("cp1252"), "utf-8") == NEWS


def test_latin1_label_is_read_as_windows_1252_like_browsers_do() -> None:
    assert decode(NEWS.encode("cp1252"), "ISO-8859-1") == NEWS


def test_html_meta_charset_is_used_when_nothing_is_declared() -> None:
    page = "<html><head><meta charset='windows-1251'></head><body>Москва: новые атаки</body>"
    assert decode(page.encode("cp1251"), None) == page


def test_unknown_charset_label_is_ignored_without_a_traceback() -> None:
    assert decode(NEWS.encode("cp1252"), "x-no-such-charset") == NEWS


def test_byte_order_marks_decide_the_encoding() -> None:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")):
        assert decode(bom + NEWS.encode(encoding), "iso-8859-1") == NEWS


def test_utf16_without_a_byte_order_mark_is_text_not_binary() -> None:
    assert decode(NEWS.encode("utf-16-le"), None) == NEWS


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"PK\x03\x04\x14\x00\x06\x00",
        b"\x00\x01\x02\x03" * 200,
        bytes(range(256)) * 8,
    ],
)
def test_binary_content_is_refused_in_one_line(content: bytes) -> None:
    with pytest.raises(SourceError) as decoding:
        decode(content, "utf-8")
    with pytest.raises(SourceError) as detecting:
        detect_format(content)
    for error in (decoding, detecting):
        assert str(error.value).endswith("looks like a binary file, not coverage")
        assert "\n" not in str(error.value)


def test_binary_refusal_names_the_file() -> None:
    with pytest.raises(SourceError, match=r"^photo\.png looks like a binary file"):
        detect_format(b"\x89PNG\r\n\x1a\n", None, "photo.png")


def test_jsonl_sniffing_reads_only_the_first_line() -> None:
    lines = [json.dumps({"n": 1}), "garbage"]
    assert detect_format("\n".join(lines).encode()) == "jsonl"
