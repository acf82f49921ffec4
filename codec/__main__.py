"""``python -m codec [--host H] [--port P]``: serve the codec server (``make run`` starts it)."""

from codec.server import main

main()
