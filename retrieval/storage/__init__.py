"""Storage: the SQLite file (through sqlite-utils) that holds coverage and the bot's state.

`schema` owns every table (one ordered migration list), `store` every statement on the
coverage tables, `identity` which stored coverage and post an import is, `merge` the merging
of coverages stored twice, `transactions` the one way to group writes.
"""
