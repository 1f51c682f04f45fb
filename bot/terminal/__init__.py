"""The terminal chat: the bot's commands and plain questions, answered in a terminal."""
