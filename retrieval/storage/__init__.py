"""Storage: the SQLite file (through sqlite-utils) that holds coverage and the bot's state."""
