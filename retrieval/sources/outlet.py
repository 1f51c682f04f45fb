"""The outlet name a reader recognises ("The Mirror", not "mirror" or "Express.co.uk").

Pages name their outlet in several places (`og:site_name`, the publisher's `name`, the
host), often in a CMS's internal form: a lowercase slug, a domain, an e-mail address or the
page's own title. The first name that looks like a name wins; a few well-known hosts whose
every published form is a slug or a domain are named from a short table.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Hosts whose pages name themselves only in a slug or domain form (checked on real pages).
_KNOWN = {
    "theguardian.com": "The Guardian",
    "mirror.co.uk": "The Mirror",
    "express.co.uk": "Express",
    "corkbeo.ie": "Cork Beo",
    "timesofindia.indiatimes.com": "The Times of India",
    "sports.ndtv.com": "NDTV Sports",  # before ndtv.com: its og:site_name is "NDTVSports.com"
    "ndtv.com": "NDTV",
    "repubblica.it": "la Repubblica",
    "bbc.com": "BBC News",
    "bbc.co.uk": "BBC News",
    "apnews.com": "AP News",
    "reuters.com": "Reuters",
    "nytimes.com": "The New York Times",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.I)
_DOMAIN = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}", re.I)


def outlet_name(
    candidates: list[str | None], *, url: str | None, page_title: str | None = None
) -> str | None:
    """The first candidate that reads as an outlet's name; the host's known name before slugs."""
    host = _host(url)
    usable = [c for c in (_clean(c, page_title) for c in candidates) if c]
    for name in usable:
        if not _looks_like_slug(name):
            return _capitalised(name)
    if host:
        for known_host, name in _KNOWN.items():
            if host == known_host or host.endswith("." + known_host):
                return name
    if usable:
        return _capitalised(usable[0]) if not _DOMAIN.fullmatch(usable[0]) else usable[0]
    return host


def _clean(name: str | None, page_title: str | None) -> str | None:
    if not name:
        return None
    name = " ".join(name.split()).strip(" -|·")
    if not name or len(name) > 60 or _EMAIL.search(name) or "://" in name or name[0] == "@":
        return None
    if page_title and name.casefold() == " ".join(page_title.split()).casefold():
        return None
    return name


def _looks_like_slug(name: str) -> bool:
    """ "mirror", "express", "Express.co.uk", "dw.com", "Sports_NDTV" (a handle): an internal
    or host form, not a name."""
    if " " not in name and ("_" in name or name.islower()):
        return True
    return bool(_DOMAIN.fullmatch(name))


def _capitalised(name: str) -> str:
    """ "the Guardian" -> "The Guardian"; a brand's own casing is kept otherwise."""
    if name.startswith("the "):
        return "The " + name[4:]
    if name.islower() and " " not in name:
        return name.capitalize()
    return name


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname
    return host.removeprefix("www.") if host else None
