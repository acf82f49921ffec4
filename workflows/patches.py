"""The withdrawal workflow's patch ids (docs/changing-the-workflow.md).

Each id marks a change of the command sequence; runs started before it replay the old
branch, kept word for word in the room that takes it (``workflows/rooms/``).
``workflows.withdrawal`` re-exports them under the same names.
"""

from __future__ import annotations

PATCH_PAYOUT_CONFIRMED = "payout-confirmed-by-lookup"  # bounded watch, unknown parked
PATCH_INVARIANT_RELEASES_HOLD = "review-invariant-broken-releases-hold"
# Runs started before PATCH_PAYOUT_CONFIRMED that reach "retries ran out" after the
# deploy park the payout too, instead of releasing money on one empty look-up.
PATCH_UNKNOWN_PARKED_IN_OLD_RUNS = "unknown-payout-parked-in-old-runs"
# The watch is no longer cancelled when a callback or a resolution arrives: it goes on
# polling and is reused by the next wait (or dropped when the run closes). A cancel could
# race the watch's own completion (both inside one workflow task) and name an activity the
# server had already closed: the task completion was refused (ACTIVITY_UNKNOWN).
PATCH_WATCH_NOT_CANCELLED = "payout-watch-not-cancelled"

# Behaviour added after histories were committed (``workflow.patched``; old runs replay
# the old branch). Review proofs: a decision is pre-checked in its signal handler and a
# refused one costs no activity past the first few; authorised cancel: a cancel runs the
# ``authorize_cancel`` activity before it counts.
PATCH_REVIEW_PROOFS = "review-decision-proofs"
PATCH_AUTHORISED_CANCEL = "authorised-cancel"
# Issue 22: every provider record passes the one check (``models.provider_record``).
# The submit is ``submit_payout_checked``, which answers a record that does not match (or
# a key conflict) at once instead of returning it unchecked; decided at the submit.
PATCH_SUBMIT_CHECKED = "payout-submit-checked"
# A record that does not match parks the payout (money held, the mismatch noted) and every
# later watch takes it as "not yet" on the parked schedule, instead of a new watch that
# answers at once again (a loop with no timer). Decided at the first such record, so a
# run past its submit at the deploy gets it too.
PATCH_MISMATCH_PARKED = "provider-mismatch-parked"
# Issue 25: a run that sees its transfer ``returned`` (paid, then sent back) posts the hold
# as paid (no patch: before returns existed no run could see that state) and then starts
# the return workflow itself, so the return follows even if its callback was lost.
PATCH_RETURN_FOLLOWS = "return-follows-a-returned-payout"
# Issue 22: no lock-out by refused input. The workflow checks a proof's signature itself
# (public keys loaded by the ``review_verify_keys`` local activity, ``ProofKeys``), so a
# forged decision is refused before it takes any of the room authorised ones need, and a
# cancel that is not authorised is refused by the update's validator (no history; the
# application layer audits it) instead of being counted. Decided at the first decision
# or cancel and kept in ``ProofKeys.decided``.
PATCH_PROOFS_VERIFIED_BY_WORKFLOW = "review-proofs-verified-by-workflow"
# A payout parked on a mismatch stays parked until the provider's matching record is
# final: its watch waits for a final record (on the parked schedule), so a record that
# flips between matching and not matching is never re-reported without a timer (it was:
# a matching ``processing`` unparked it, the next watch reported the mismatch at once,
# and so on). Decided at the first watch started, or record seen, while parked.
PATCH_PARKED_UNTIL_FINAL = "mismatch-parked-until-final-record"
# A cancel proof is spent once: its nonce is seen when the cancel is taken, so the
# validator refuses a replay (no history); a signed cancel the activity refuses counts
# towards ``MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON``, past which the validator refuses
# that person's cancels. Decided at the first cancel the workflow verifies itself.
PATCH_SIGNED_CANCELS_CAPPED = "cancel-proof-spent-once-refusals-capped"
