"""The payout provider's callback receiver (``receiver.py``, run as ``python -m callbacks``):
signed callbacks in, ``payout_update`` signals out."""
