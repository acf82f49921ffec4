"""``starter.py demo`` and ``make run``'s demo data: the fixture's accounts and reviewers
(``data.py``), every withdrawal path the demo walks (``paths.py``) and the driver that walks
them against the running stack (``runner.py``)."""
