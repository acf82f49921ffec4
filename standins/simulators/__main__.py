"""``python -m standins.simulators {payout,sms} [--port P] [...]``: one simulator, foreground.

Ctrl-C (or SIGTERM) stops it. The access log is off: an SMS inbox URL carries a phone
number, and logs must not.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from observability.log_filter import install_personal_data_filter
from standins.simulators.faults import PayoutFaults, SmsFaults
from standins.simulators.payout_app import (
    DEFAULT_MAX_SETTLE_SECONDS,
    PayoutSimulatorSettings,
    create_payout_app,
)
from standins.simulators.sms_app import SmsSimulatorSettings, create_sms_app

DEFAULT_PAYOUT_PORT = 8801
DEFAULT_SMS_PORT = 8802


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m standins.simulators")
    kinds = parser.add_subparsers(dest="kind", required=True)
    payout = kinds.add_parser("payout", help="the payout provider simulator")
    payout.add_argument("--port", type=int, default=DEFAULT_PAYOUT_PORT)
    payout.add_argument(
        "--max-settle-seconds",
        type=float,
        default=DEFAULT_MAX_SETTLE_SECONDS,
        help="real seconds the longest route (15 business days) takes; 0 settles at once",
    )
    payout.add_argument(
        "--settle-scale",
        type=float,
        default=None,
        help="real seconds per simulated second; overrides --max-settle-seconds",
    )
    payout.add_argument(
        "--return-after-seconds",
        type=float,
        default=None,
        help="real seconds from success to return for the magic returned payees; "
        "default: 30 days scaled like settlement",
    )
    sms = kinds.add_parser("sms", help="the SMS provider simulator")
    sms.add_argument("--port", type=int, default=DEFAULT_SMS_PORT)
    for sub in (payout, sms):
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--faults", default="{}", help="fault settings as JSON")
        sub.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    install_personal_data_filter()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    if args.kind == "payout":
        app = create_payout_app(
            PayoutSimulatorSettings(
                max_settle_seconds=args.max_settle_seconds,
                settle_scale=args.settle_scale,
                return_after_seconds=args.return_after_seconds,
                faults=PayoutFaults.model_validate_json(args.faults),
            )
        )
    else:
        faults = SmsFaults.model_validate_json(args.faults)
        app = create_sms_app(SmsSimulatorSettings(faults=faults))
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level=args.log_level)


if __name__ == "__main__":
    main()
