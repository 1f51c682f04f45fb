"""What a feed's entries carry besides the story: trailers, promos, adverts, and who publishes it.

Feed generators append their own lines to every entry (WordPress's "The post … appeared first
on …", Medium's "… was originally published in … on Medium", Reddit's "submitted by /u/… [link]
[comments]", the Guardian's "Continue reading...") and newsrooms slip in "Read more: …" promos
and sponsored items. Left in, they are the commonest words of every post, so answers would
quote them. Each rule here is a pattern seen in real feeds (tests/fixtures/real/feeds/).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# A paragraph that is nothing but a pointer elsewhere.
_PROMO_PARAGRAPH = re.compile(
    r"""^(?:
        (?:read|see)\s+(?:more|also)\s*[:>»→].*       # "Read more: …" (Reach plc), "See also: …"
      | (?:more|related)\s*:.*                         # "MORE: …", the Guardian's "Related: …"
      | (?:photo|image|picture|illustration)s?\s*(?:by|:|courtesy\s+of)\s.{1,120}  # credits
      | (?:continue|keep)\s+reading\b.*
      | read\s+(?:the\s+)?(?:full|whole|entire|rest\s+of\s+the)\s+(?:article|story|post)\b.*
      | read\s+more\W*$                                # a bare "Read More..." button
      | the\s+post\s+.+\s+appeared\s+first\s+on\s+.+   # WordPress (Yoast) footer
      | this\s+(?:post|article)\s+(?:appeared|was\s+originally\s+published)\s+.+
      | .+\s+was\s+originally\s+published\s+in\s+.+\s+on\s+medium\b.*   # Medium footer
      | submitted\s+by\s+\S.*                          # Reddit's line under every entry
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# The same trailers glued to the end of the last sentence instead of standing alone.
_TRAILING = re.compile(
    r"""\s*(?:
        (?:continue\s+reading|read\s+(?:the\s+)?full\s+(?:article|story)|read\s+more)
            \s*(?:\.\.\.|…|>>|»|→|\[…\]|\.)?
      | the\s+post\s+.+?\s+appeared\s+first\s+on\s+[^.]+\.?
      | submitted\s+by\s+\S+\s+to\s+\S+(?:\s*\[link\])?(?:\s*\[[^\]]*comments?\])?
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_SUBMITTED_BY = re.compile(r"\bsubmitted\s+by\s+(?:/u/)?(?P<who>[\w-]{2,})\s+to\b", re.IGNORECASE)

_SPONSORED_WORDS = re.compile(
    r"\b(?:sponsored|sponsor\s+content|advertis(?:er|ement|ing|ers)|advertorial|promoted|"
    r"paid\s+(?:content|post|partnership)|partner\s+content|brand\s+(?:studio|content)|"
    r"anzeige|publicidade|publicidad|patrocinado|patrocinada|publi-?reportagem|"
    r"publirreportaje|contenu\s+sponsoris[ée]|sponsoris[ée])\b",
    re.IGNORECASE,
)
_SPONSORED_TITLE = re.compile(
    r"^\s*[\[(]?\s*(?:sponsored|advertisement|advertorial|ad|promoted|featured\s+advertiser|"
    r"partner\s+content|paid\s+content|anzeige|publicidade|publicidad|patrocinado)\s*[\])]?\s*[:|–—-]",
    re.IGNORECASE,
)

# Hosts whose name a reader knows in a form the host does not show.
_KNOWN_OUTLETS = {
    "theguardian.com": "The Guardian",
    "guardian.co.uk": "The Guardian",
    "mirror.co.uk": "The Mirror",
    "express.co.uk": "Daily Express",
    "dailystar.co.uk": "Daily Star",
    "corkbeo.ie": "Cork Beo",
    "dublinlive.ie": "Dublin Live",
    "manchestereveningnews.co.uk": "Manchester Evening News",
    "liverpoolecho.co.uk": "Liverpool Echo",
    "birminghammail.co.uk": "Birmingham Mail",
    "walesonline.co.uk": "WalesOnline",
    "dailyrecord.co.uk": "Daily Record",
    "bbc.co.uk": "BBC",
    "bbc.com": "BBC",
    "nytimes.com": "The New York Times",
    "washingtonpost.com": "The Washington Post",
    "reuters.com": "Reuters",
    "apnews.com": "AP",
    "cnn.com": "CNN",
    "reddit.com": "Reddit",
    "medium.com": "Medium",
    "github.com": "GitHub",
    "heise.de": "heise online",
    "uol.com.br": "UOL",
    "biorxiv.org": "bioRxiv",
}
_SEPARATOR = re.compile(r"\s*(?::|\s[-–—|·»]\s|\|)\s*")
_EMAIL = re.compile(r"[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+")
_ON_PLATFORM = re.compile(r"^(?:stories|posts|articles)\s+by\s+.+\s+on\s+(?P<platform>\S+)$", re.I)
_OUTLET_WORDS = 4
_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "ac", "edu", "ne", "or"}


# WordPress cuts excerpts with " [...]" (or "[…]"): an ellipsis says the same honestly.
_CUT_MARK = re.compile(r"\s*\[(?:\.\.\.|…|&hellip;)\]\s*$")


def clean_body(paragraphs: Iterable[str]) -> tuple[tuple[str, ...], str | None]:
    """The paragraphs without trailers and promo lines, and the author a trailer names."""
    kept: list[str] = []
    author: str | None = None
    for paragraph in paragraphs:
        submitted = _SUBMITTED_BY.search(paragraph)
        if submitted and author is None:
            author = submitted["who"]
        if _PROMO_PARAGRAPH.match(paragraph):
            continue
        trimmed = _CUT_MARK.sub("…", _TRAILING.sub("", paragraph)).strip()
        if trimmed:
            kept.append(trimmed)
    return tuple(kept), author


def is_sponsored(title: str, categories: Iterable[str], authors: Iterable[str]) -> bool:
    """An advert dressed as an entry: a sponsored category or byline, or a title saying so."""
    if _SPONSORED_TITLE.match(title):
        return True
    labels = [*categories, *authors]
    return any(_SPONSORED_WORDS.search(label) for label in labels if len(label) <= 80)


def outlet_name(candidates: Iterable[str | None], title: str, url: str | None) -> str:
    """The outlet as a reader knows it: a named publisher or author, a feed title that is a
    name (not a headline), or the host; never an e-mail address."""
    for candidate in candidates:
        name = _name(candidate)
        if name:
            return name
    host = _host(url)
    known = _known(host)
    platform = _ON_PLATFORM.match(title)
    if platform:  # "Stories by Jo on Medium"
        return _known(f"{platform['platform'].lower()}.com") or platform["platform"]
    parts = [p for p in _SEPARATOR.split(title) if p]
    label = _main_label(host)
    for part in parts:  # "reddit: the front page of the internet", "bioRxiv Subject Collection"
        for word in part.split():
            if label and word.lower().strip(",.!") == label.lower():
                return known or _proper(word.strip(",.!"))
    if known:
        return known
    if len(parts) == 1 and 0 < len(title.split()) <= _OUTLET_WORDS and not _EMAIL.search(title):
        return title
    if label:
        return _proper(label)
    return title or "unknown source"


def _name(value: str | None) -> str | None:
    if not value:
        return None
    text = " ".join(_EMAIL.sub("", value).replace("()", "").split()).strip(" ()<>,;")
    return text or None


def _known(host: str | None) -> str | None:
    if not host:
        return None
    labels = host.split(".")
    for start in range(len(labels) - 1):
        found = _KNOWN_OUTLETS.get(".".join(labels[start:]))
        if found:
            return found
    return None


def _main_label(host: str | None) -> str | None:
    """The host's own name: "mirror" of www.mirror.co.uk, "uol" of noticias.uol.com.br."""
    if not host:
        return None
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        labels = labels[:-1]
    return labels[-2] if len(labels) >= 2 else labels[0]


def _host(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def _proper(word: str) -> str:
    """A name written all in lower case gets a capital ("reddit" -> "Reddit"); others stay."""
    return word[:1].upper() + word[1:] if word.islower() else word
