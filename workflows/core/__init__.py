"""The withdrawal's decisions as pure functions (issue 23 item 1).

``decide.step(state, event, now)`` returns the next ``Core`` state and the commands to
run; nothing here imports Temporal or does I/O, so the simulator (``simulation/``) drives
it through thousands of seeded runs a minute. The workflow (``workflows/rooms/``) is the
shell: it asks the same rules ``step`` is made of (``rules``: code, callbacks, records,
settlement, resolutions; ``review``: R17; ``cancel``: R2/R18) and runs the commands its
saved histories expect.
"""
