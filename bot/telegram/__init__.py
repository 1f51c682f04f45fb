"""The Telegram adapter (python-telegram-bot): the only package that imports `telegram`.

It maps updates to the core, renders `Reply` as Telegram HTML and owns delivery.

Threads: PTB's event loop receives, guards, renders and sends, and never touches the library.
Every core call, the poll's imports, the digest batch and its claims, alert matching and the
refresh from other processes run on the library worker (`worker.LibraryWorker`): one thread
with its own asyncio loop, one call at a time, so the index and the SQLite connection never
see a reader beside a writer. Bot API lookups the core needs hop back to PTB's loop
(`chats.TelegramDirectory`); the loop-lag probe (`lag.LoopLagProbe`) watches that the loop
stays free.
"""
