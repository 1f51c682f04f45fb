"""Structured data of a page (JSON-LD, microdata, RDFa) as one list of JSON-LD-shaped nodes.

Publishers describe the same things (a `LiveBlogPosting`, a `NewsArticle`, a `Person`) in
three syntaxes. JSON-LD is read here directly, so one bad block is skipped with a note instead
of losing the page; microdata and RDFa are read with extruct and reshaped like JSON-LD, so the
importers ask one question of all three: "which nodes of which type, with which values".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import lxml.html

from retrieval.sources.html_text import html_to_paragraphs

_SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


@dataclass
class Structured:
    """Every structured-data node of a page, an index of nodes by `@id`, and how it was read."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    index: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def of_type(self, *names: str) -> list[dict[str, Any]]:
        """Nodes whose `@type` is one of `names` (short names: "LiveBlogPosting")."""
        wanted = set(names)
        return [node for node in self.nodes if types(node) & wanted]


def read_structured(root: lxml.html.HtmlElement, html: str, base: str | None) -> Structured:
    """JSON-LD blocks first (in page order), then microdata and RDFa items when the page has any."""
    found = Structured()
    blocks: list[Any] = []
    scripts = [
        s
        for s in root.iter("script")
        if (s.get("type") or "").split(";")[0].strip().lower() == "application/ld+json"
    ]
    for number, script in enumerate(scripts, start=1):
        raw = _unwrap_script(script.text or "")
        if not raw:
            continue
        try:
            blocks.append(json.loads(raw, strict=False))
        except ValueError as exc:
            found.notes.append(f"JSON-LD block {number} skipped: bad JSON ({_one_line(exc)})")
    blocks.extend(_microdata_and_rdfa(html, base, found.notes))
    found.nodes = list(walk(blocks))
    found.index = {
        node["@id"]: node
        for node in reversed(found.nodes)
        if isinstance(node.get("@id"), str) and len(node) > 1
    }
    return found


def _microdata_and_rdfa(html: str, base: str | None, notes: list[str]) -> list[Any]:
    """extruct's reading of microdata and RDFa, keys shortened to schema.org names."""
    syntaxes = []
    if "itemscope" in html:
        syntaxes.append("microdata")
    if re.search(r"\btypeof=", html):
        syntaxes.append("rdfa")
    if not syntaxes:
        return []
    import extruct

    try:
        data = extruct.extract(html, base_url=base or "", syntaxes=syntaxes, uniform=True)
    except Exception as exc:  # extruct raises whatever its parsers raise on broken markup
        notes.append(f"microdata/RDFa skipped: {_one_line(exc)}")
        return []
    items: list[Any] = list(data.get("microdata") or [])
    items.extend(_short_keys(item) for item in data.get("rdfa") or [])
    return items


def _short_keys(value: Any) -> Any:
    """RDFa nodes use full property IRIs; schema.org ones become JSON-LD's short names."""
    if isinstance(value, list):
        return [_short_keys(v) for v in value]
    if not isinstance(value, dict):
        return value
    shortened: dict[str, Any] = {}
    for key, item in value.items():
        for prefix in _SCHEMA_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        shortened[key] = _short_keys(item)
    return shortened


def _unwrap_script(text: str) -> str:
    """Script text without the comment/CDATA wrappers some CMSs still put around JSON."""
    text = text.strip().removesuffix(";").strip()
    for prefix, suffix in (("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>")):
        if text.startswith(prefix) and text.endswith(suffix):
            text = text[len(prefix) : -len(suffix)].strip()
    return text


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every node in a block: top level, arrays, `@graph` and nested values."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            yield item
            stack.extend(reversed([v for v in item.values() if isinstance(v, (dict, list))]))


def types(node: dict[str, Any]) -> set[str]:
    """Short type names of a node ("https://schema.org/NewsArticle" -> "NewsArticle")."""
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {re.split(r"[/:#]", n)[-1] for n in names if isinstance(n, str)}


# --- values -------------------------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def resolve(value: Any, index: dict[str, Any]) -> Any:
    """A node for a bare `{"@id": …}` reference, so updates may live elsewhere in the graph."""
    if isinstance(value, dict) and set(value) == {"@id"}:
        return index.get(value["@id"], value)
    if isinstance(value, str) and value in index:
        return index[value]
    return value


def text(value: Any) -> str | None:
    """A literal as stripped text: plain strings, `{"@value": …}`, first of a list."""
    if isinstance(value, list):
        return next((t for t in (text(v) for v in value) if t), None)
    if isinstance(value, dict):
        value = value.get("@value", value.get("value", value.get("@id")))
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        stripped = str(value).strip()
        return stripped or None
    return None


def plain(value: Any) -> str | None:
    """A literal as one line of reader's text: entities decoded (also double-encoded), no tags,
    no invisible characters (zero-width spaces)."""
    raw = text(value)
    if raw is None:
        return None
    line = " ".join(html_to_paragraphs(raw))
    if "&" in line and re.search(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", line, re.I):
        line = " ".join(html_to_paragraphs(line))
    line = " ".join(line.translate(_INVISIBLE).split())
    return line or None


def names(value: Any, index: dict[str, Any]) -> tuple[str, ...]:
    """Names of a Person/Organization, or of several, or of plain strings; no duplicates."""
    found: list[str] = []
    for item in as_list(value):
        item = resolve(item, index)
        if isinstance(item, dict):
            name = text(item.get("name")) or text(item.get("legalName"))
            if not name:
                parts = [text(item.get("givenName")), text(item.get("familyName"))]
                name = " ".join(p for p in parts if p) or None
        else:
            name = text(item) if isinstance(item, str) and "://" not in item else None
        if name:
            name = " ".join(html_to_paragraphs(name))
            if name and name not in found:
                found.append(name)
    return tuple(found)


def publisher(node: dict[str, Any], index: dict[str, Any]) -> str | None:
    found = names(node.get("publisher"), index)
    return found[0] if found else None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
