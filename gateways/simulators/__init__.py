"""HTTP simulators of the payout and SMS providers, with fault injection.

Run one with ``python -m gateways.simulators payout --port 8801`` or
``python -m gateways.simulators sms --port 8802``; build one in-process with
``create_payout_app(settings)`` / ``create_sms_app(settings)``; or start one on a free
port and wait for it with ``gateways.simulators.runner.start_simulator``.
"""

from gateways.simulators.faults import PayoutFaults, SmsFaults
from gateways.simulators.payout_app import PayoutSimulatorSettings, create_payout_app
from gateways.simulators.sms_app import SmsSimulatorSettings, create_sms_app

__all__ = [
    "PayoutFaults",
    "PayoutSimulatorSettings",
    "SmsFaults",
    "SmsSimulatorSettings",
    "create_payout_app",
    "create_sms_app",
]
