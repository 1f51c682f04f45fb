"""Reduce a saved real page for tests/fixtures/real (the rules are in that folder's README).

    .venv/bin/python scripts/reduce_real_page.py ORIGINAL.html[.gz] REDUCED.html [--url URL]

The page is parsed with lxml and written back without what no importer and no reader needs
(scripts other than JSON-LD, styles, SVG, forms, most `<link>`/`<meta>`, comments, image-set,
tracking and event-handler attributes). Every element, the visible text and all structured
data stay. Then both versions are imported and compared post by post: the script refuses to
write a reduction that the importer reads differently from the original.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

import lxml.etree
import lxml.html

from retrieval.sources.detect import decode
from retrieval.sources.liveblog_html import parse

_DROP_TAGS = ("style", "svg", "noscript", "iframe", "source", "form", "button")
_KEEP_META = re.compile(
    r"^(?:og:.*|article:.*|author|description|application-name|twitter:site)$", re.I
)
# Attributes that carry only image sets, tracking, event handlers or a client script's state.
_DROP_ATTRIBUTES = re.compile(
    r"^(?:on[a-z]+|srcset|sizes|data-srcset|data-sizes|data-ga.*|data-newga|data-scrollga|"
    r"data-link-name|data-track.*|data-vars-.*|data-analytics.*|props)$",
    re.I,
)


def reduce_page(html: str) -> str:
    root = lxml.html.document_fromstring(html)
    for comment in root.xpath("//comment()"):
        parent = comment.getparent()
        if parent is not None:
            if comment.tail:
                previous = comment.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + comment.tail
                else:
                    parent.text = (parent.text or "") + comment.tail
            parent.remove(comment)
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        tag = element.tag.lower()
        script_type = (element.get("type") or "").split(";")[0].strip().lower()
        if (
            tag in _DROP_TAGS
            or (tag == "script" and script_type != "application/ld+json")
            or (
                tag == "link"
                and element.get("itemprop") is None
                and (element.get("rel") or "").lower() != "canonical"
            )
            or (
                tag == "meta"
                and element.get("itemprop") is None
                and not _KEEP_META.match(element.get("property") or element.get("name") or "")
            )
        ):
            element.drop_tree()  # keeps the tail text
    for element in root.iter():
        if isinstance(element.tag, str):
            for name in [n for n in element.attrib if _DROP_ATTRIBUTES.match(n)]:
                del element.attrib[name]
    return "<!DOCTYPE html>\n" + lxml.html.tostring(root, encoding="unicode")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("original", type=Path)
    parser.add_argument("reduced", type=Path)
    parser.add_argument("--url", help="the page's URL, if it has no canonical link")
    args = parser.parse_args()
    raw = args.original.read_bytes()
    if args.original.suffix == ".gz":
        raw = gzip.decompress(raw)
    html = decode(raw, None, what=str(args.original))
    reduced = reduce_page(html)
    before, after = parse(html, url=args.url), parse(reduced, url=args.url)
    if before.coverage != after.coverage or before.posts != after.posts:
        for one, two in zip(before.posts, after.posts, strict=False):
            if one != two:
                print(f"differs: {one}\n         {two}", file=sys.stderr)
                break
        print("the reduced page reads differently; nothing written", file=sys.stderr)
        return 1
    args.reduced.write_text(reduced, encoding="utf-8")
    print(
        f"{args.reduced}: {len(raw):,} -> {len(reduced.encode()):,} bytes, "
        f"{len(after.posts)} posts read alike"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
