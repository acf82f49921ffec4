"""Reading a workflow history the way an outsider would: every payload, undecoded."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import MarkerRecordedEventAttributes
from temporalio.client import WorkflowHistory

# Search attributes are indexed by the server, so never encoded: they carry ids only.
UNENCODED_FIELDS = frozenset({"search_attributes"})


# A local activity's marker carries, beside its encrypted result, the SDK's own
# bookkeeping (activity id and type, attempt, times) as plain JSON: no payload of ours.
LOCAL_ACTIVITY_MARKER = "core_local_activity"
LOCAL_ACTIVITY_BOOKKEEPING = "data"
# A ``workflow.patched`` marker carries only the patch id (docs/changing-the-workflow.md),
# written by the SDK's core as plain JSON: no payload of ours.
PATCH_MARKER = "core_patch"


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every ``Payload`` inside ``message`` (inputs, results, failures, headers, summaries)."""
    if isinstance(message, Payload):
        yield message
        return
    if isinstance(message, MarkerRecordedEventAttributes):
        if message.marker_name == PATCH_MARKER:
            return
        for key, payloads in message.details.items():
            if message.marker_name == LOCAL_ACTIVITY_MARKER and key == LOCAL_ACTIVITY_BOOKKEEPING:
                continue
            yield from payloads.payloads
        if message.HasField("failure"):
            yield from payloads_in(message.failure)
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE or field.name in UNENCODED_FIELDS:
            continue
        entry_type = field.message_type
        assert entry_type is not None  # a message field has a message type
        if entry_type.GetOptions().map_entry:
            value_field = entry_type.fields_by_name["value"]
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in value.values():
                    yield from payloads_in(item)
        elif field.is_repeated:
            for item in value:
                yield from payloads_in(item)
        else:
            yield from payloads_in(value)


def history_payloads(history: WorkflowHistory) -> list[Payload]:
    return [payload for event in history.events for payload in payloads_in(event)]


def raw_bytes(history: WorkflowHistory, extra: Iterable[Message] = ()) -> bytes:
    """The history as stored: protobuf bytes (payload data verbatim) plus its JSON."""
    parts = [event.SerializeToString() for event in history.events]
    parts += [message.SerializeToString() for message in extra]
    return b"".join(parts) + history.to_json().encode()
