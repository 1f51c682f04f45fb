"""liveblog-bot: follow a live news story from Telegram or a terminal."""
