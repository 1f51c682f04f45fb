"""/sources: the live blogs, feeds and channels the running bot keeps fresh (operators only).

The registry is `retrieval.polling.Sources` (the CLI's `liveblog-bot sources` edits the same
rows); channels are looked up through the surface's `Directory`, since only Telegram can.
"""

from __future__ import annotations

from bot.core.chat import ChannelInfo, Directory
from bot.core.reply import Block, Reply, info, invalid
from retrieval.channels import Channels
from retrieval.polling import Sources
from retrieval.sources import SourceError
from retrieval.sources.fetch import check_destination, public_only

SOURCES_USAGE = (
    "/sources — list; /sources add URL [5m] [as Outlet Name] — poll a live blog or feed "
    "(its posts credited to that outlet); /sources add @channel — import a channel's posts; "
    "/sources remove ID"
)


class SourcesCommands:
    """List, add and remove polled sources and followed channels."""

    def __init__(
        self,
        sources: Sources,
        channels: Channels,
        directory: Directory,
        *,
        allow_private: bool = False,
    ) -> None:
        self.sources = sources
        self.channels = channels
        self.directory = directory
        self.allow_private = allow_private

    async def run(self, args: str, *, from_chat: bool) -> Reply:
        """/sources [add URL [every] [as OUTLET] | add @channel | remove ID].

        `from_chat`: asked in a chat (Telegram), not by the operator at the terminal: the URL
        must lead to a public address, now and at every poll, unless private sources are
        allowed (LIVEBLOG_ALLOW_PRIVATE_SOURCES)."""
        words = args.split()
        try:
            if not words:
                return self.listing()
            if words[0] == "add" and len(words) == 2 and words[1].startswith("@"):
                return await self._add_channel(words[1])
            outlet = None
            if words[0] == "add" and "as" in words[2:]:
                # "/sources add URL [5m] as The Mirror": the outlet its posts are credited to
                at = words.index("as", 2)
                outlet = " ".join(words[at + 1 :]) or None
                if outlet is None:
                    return invalid(SOURCES_USAGE)
                words = words[:at]
            if words[0] == "add" and len(words) in (2, 3):
                guarded = from_chat and not self.allow_private
                if guarded:
                    check_destination(words[1], public_only)
                every = words[2] if len(words) == 3 else "5m"
                source = self.sources.add(words[1], every, from_chat=guarded, outlet=outlet)
                shown = f" as {source.outlet}" if source.outlet else ""
                return info(
                    f"Added source #{source.id}: {source.url}{shown}, polled every {source.every}."
                )
            if words[0] == "remove" and len(words) == 2 and words[1].lstrip("#").isdigit():
                removed = self.sources.remove(int(words[1].lstrip("#")))
                return info(f"Removed source #{removed.id}: {removed.url}.")
        except SourceError as exc:
            return invalid(str(exc))
        return invalid(SOURCES_USAGE)

    def listing(self) -> Reply:
        lines = []
        for source in self.sources.list():
            ok = source.last_success.strftime("%d %b %H:%M UTC") if source.last_success else "never"
            shown = f" as {source.outlet}" if source.outlet else ""
            line = f"#{source.id} {source.url}{shown} — every {source.every}, last success {ok}"
            if source.last_error:
                line += f"; last error: {source.last_error}"
            lines.append(line)
        lines += [f"Channel {c.title} (@{c.username or c.chat_id})" for c in self.channels.list()]
        if not lines:
            lines = ["No sources yet.", SOURCES_USAGE]
        return Reply(tuple(Block.of(line) for line in lines), kind="info")

    async def _add_channel(self, name: str) -> Reply:
        found = await self.directory.channel(name)
        if not isinstance(found, ChannelInfo):
            return invalid(found)
        channel = self.channels.add(found.id, found.title or name, found.username)
        return info(f"Following channel {channel.title}: its new posts become coverage.")
