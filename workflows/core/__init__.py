"""The withdrawal's decisions as pure functions (issue 23 item 1).

``decide.step(state, event, now)`` returns the next ``Core`` state and the commands to
run; nothing here imports Temporal or does I/O, so the simulator (``simulation/``) drives
it through thousands of seeded runs a minute, and the workflow (``workflows/rooms/``)
asks the same small decisions (``code_step``, ``callback_verdict``, ``record_action``,
``settlement_of``) before it runs the commands its saved histories expect.
"""
