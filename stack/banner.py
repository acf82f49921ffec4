"""The banner ``make run`` prints once the stack is up: what runs where, and what to try."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.keys import DEV_KEY_FILE_NAME as API_KEY_FILE_NAME
from callbacks.receiver import CALLBACK_PATH
from codec.encryption import DEV_KEY_FILE_NAME
from config import settings
from gateways.http_payout import DEFAULT_PAYOUT_GATEWAY_URL
from gateways.http_sms import DEFAULT_SMS_GATEWAY_URL
from observability.runtime import metrics_address_from_env
from stack.config import REPO_ROOT

if TYPE_CHECKING:
    from stack.running import Stack

# What the CLI assumes when a variable is unset (docs/interface.md); the banner exports the rest.
# The callback URL matters to the worker only.
_CLI_DEFAULTS = {
    "TEMPORAL_ADDRESS": settings.DEFAULT_TEMPORAL_ADDRESS,
    "TEMPORAL_NAMESPACE": settings.DEFAULT_NAMESPACE,
    "TEMPORAL_TASK_QUEUE": settings.DEFAULT_TASK_QUEUE,
    "DATABASE_URL": f"sqlite:///{REPO_ROOT / '.data' / 'withdrawals.db'}",
    "PAYOUT_GATEWAY_URL": DEFAULT_PAYOUT_GATEWAY_URL,
    "SMS_GATEWAY_URL": DEFAULT_SMS_GATEWAY_URL,
}
_CLI_DEFAULTS["PAYLOAD_KEY_FILE"] = str(REPO_ROOT / ".data" / DEV_KEY_FILE_NAME)
# The CLI reads the dev review signing key under the data directory: export it too.
_CLI_DEFAULTS["WITHDRAWALS_DATA_DIR"] = str(REPO_ROOT / ".data")
_WORKER_ONLY_ENV = frozenset({"PAYOUT_CALLBACK_URL", "PAYLOAD_KEYS"})


def banner(stack: Stack) -> str:
    """What is running where, and the next commands to try."""
    urls, config = stack.urls, stack.config
    logs = ", ".join(sorted(p.name for p in config.logs_dir.glob("*.log")))
    lines = [
        "",
        "The withdrawal stack is up.",
        "",
        f"  Temporal Web UI    {urls.ui}",
        f"  Temporal gRPC      {urls.temporal_address}   namespace {config.namespace}, "
        f"task queue {config.task_queue}",
        f"  state kept in      {config.data_dir}  (temporal.db; database {urls.database_url})",
        f"  logs               {config.logs_dir}/  ({logs})",
        f"  payout simulator   {urls.payout}  (settles every route within "
        f"{config.max_settle_seconds:g} s)",
        f"  SMS simulator      {urls.sms}",
        f"  payout callbacks   {urls.callbacks}{CALLBACK_PATH}",
        f"  codec server       {urls.codec}  (decrypts payloads for the Web UI and CLI)",
        f"  HTTP API           {urls.http}/v1  (docs {urls.http}/docs)",
        f"  reviewer console   {urls.http}/console  (demo reviewers below)",
        *_api_key_lines(stack),
        f"  worker metrics     http://{metrics_address_from_env()}/metrics  (Prometheus; "
        "alert rules and a dashboard in deploy/)",
        "",
        *_codec_lines(stack),
        "",
        f"Try, in another terminal, from {REPO_ROOT}:",
        *_example_commands(stack),
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def _api_key_lines(stack: Stack) -> list[str]:
    key = stack.api_key
    if key is None:
        return ["  API keys           from API_KEYS"]
    path = stack.config.data_dir / API_KEY_FILE_NAME
    return [f"  dev API key        {key}  (in {path}; docs/calling-from-a-backend.md)"]


def _codec_lines(stack: Stack) -> list[str]:
    """Payloads are encrypted: how to see them in clear, for whoever holds the token."""
    token = stack.secrets.codec_token
    return [
        "Payloads in Temporal are encrypted. The Web UI above decrypts them through the",
        "codec server; a Temporal UI started elsewhere needs the dev server flag",
        f"  --ui-codec-endpoint {stack.ui_codec_endpoint}",
        "and the temporal CLI needs",
        f"  --codec-endpoint {stack.urls.codec} --codec-auth 'Bearer {token}'",
    ]


def _example_commands(stack: Stack) -> list[str]:
    exports = [
        f"{key}={value}"
        for key, value in stack.client_env().items()
        if key not in _WORKER_ONLY_ENV and _CLI_DEFAULTS.get(key) != value
    ]
    lines = [f"  export {' '.join(exports)}"] if exports else []
    cli = "  .venv/bin/python starter.py"
    demo = stack.demo
    if demo is not None:
        account = demo.withdraw_account_id
        lines += [
            f"{cli} withdrawable {demo.account_id}",
            f"{cli} withdraw --account {account} --order {demo.order_id} --amount {demo.amount}",
            f"{cli} sms-inbox --account {account}",
        ]
    lines += [f"{cli} code WITHDRAWAL_ID CODE", f"{cli} status WITHDRAWAL_ID"]
    lines.append(f"{cli} reviews")
    lines.append(f"{cli} attention   # what needs a person now (exit 4 if anything)")
    if demo is not None and demo.reviewer_id is not None:
        lines.append(f"{cli} approve WITHDRAWAL_ID --reviewer {demo.reviewer_id}")
        lines.append("    (asks for the reviewer's password; or set REVIEWER_PASSWORD)")
    if stack.demo_reviewers:
        lines.append("  demo reviewers (id, role, password):")
        lines += [f"    {rid:<10} {role:<16} {pw}" for rid, role, pw in stack.demo_reviewers]
    lines += [f"{cli} demo", "  make test"]
    return lines
