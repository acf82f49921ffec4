"""Reconciliation (``starter.py reconcile``): the pure comparison of provider, ledger and
workflows (``compare.py``) and the readers that gather those views (``sources.py``)."""
