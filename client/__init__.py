"""Talking to Temporal from outside a workflow: connecting with encrypted payloads
(``connection.py``), the typed withdrawal client every face uses (``withdrawals.py``) and the
audit-anchor schedule the worker makes sure exists (``schedules.py``), and the one loop that
waits for another process to answer (``polling.py``).

Kept import-free: the CLI imports ``client.withdrawals`` only when a command needs Temporal.
"""
