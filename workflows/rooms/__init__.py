"""The withdrawal workflow's rooms, one per phase (issue 23 item 2).

``WithdrawalWorkflow`` (workflows/withdrawal.py) puts them together: its ``run`` walks
the phases and its ``@workflow.*`` handlers delegate to the room that owns them. Every
room shares one ``Run`` (``context.py``: the request and the state dataclasses) and
writes the status only through ``StatusRoom.transition``.

| room | phase |
| --- | --- |
| ``status_record.py`` | the record (status, timeline, search attributes), the settle |
| ``code.py`` | R15 verification code: send, check, resend, expiry |
| ``review.py`` | R17 review: decisions received, weighed, refused, the invariant |
| ``review_keys.py`` | the review keys a proof's signature is checked with (review, cancel) |
| ``cancel.py`` | R2/R18 cancel before payout |
| ``payout.py`` | submit, watch, callbacks, parked payouts, ops resolutions |
| ``payout_before_patches.py`` | the settlement loop of runs from before the watch |
"""
