"""A deterministic simulator of the withdrawal's decision core (issue 23 item 3).

``python -m simulation --runs N --seed S`` (``make simulate``) drives
``workflows.core.decide.step`` through seeded runs of faults, lies, crashes and every
timer (``simulation.script``), executes its commands on an in-memory ledger and provider
(``simulation.world``) and checks the money invariants after every step
(``simulation.invariants``); a violation is shrunk to its shortest failing sequence.
"""
