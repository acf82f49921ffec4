"""``python -m callbacks [--host H] [--port P]``: serve the payout callback receiver
(``make run`` starts it)."""

from callbacks.receiver import main

main()
