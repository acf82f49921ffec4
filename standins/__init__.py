"""The providers' stand-ins: the in-process fakes and the HTTP simulators of the payout
and SMS providers, with the magic payee rules they share (``magic_payees``).

Tests, the demo, the benchmarks and ``make run``'s stack (``stack/``) use them; no
production module imports them (``tests/surface/test_layers.py``)."""
