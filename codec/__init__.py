"""Payload encryption (``encryption.py``: the key ring and the Temporal payload codec every
process uses) and the codec server that lets the Web UI and the ``temporal`` CLI decrypt
(``server.py``, run as ``python -m codec``)."""
