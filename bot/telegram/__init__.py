"""The Telegram adapter (python-telegram-bot): the only package that imports `telegram`.

It maps updates to the core, renders `Reply` as Telegram HTML and owns delivery.
"""
