"""The command core: a command or question plus a plain chat becomes a `Reply`.

Transport-free: nothing here imports `telegram`; the Telegram adapter, the terminal chat and
the CLI all call it, so every surface gives the same answer.
"""
