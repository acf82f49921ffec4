"""Webhook sending in the worker: the outbox's reader that starts one delivery workflow per
status event (``dispatch.py``). The events are written by ``ledger.events``, each attempt is
made by ``activities.webhooks``."""
