"""HTTP simulators of the payout and SMS providers, with fault injection.

Run one with ``python -m standins.simulators payout --port 8801`` or
``python -m standins.simulators sms --port 8802``; build one in-process with
``create_payout_app(settings)`` / ``create_sms_app(settings)``; or start one on a free
port and wait for it with ``standins.simulators.runner.start_simulator``.
"""

from standins.simulators.faults import PayoutFaults, SmsFaults
from standins.simulators.payout_app import PayoutSimulatorSettings, create_payout_app
from standins.simulators.sms_app import SmsSimulatorSettings, create_sms_app

__all__ = [
    "PayoutFaults",
    "PayoutSimulatorSettings",
    "SmsFaults",
    "SmsSimulatorSettings",
    "create_payout_app",
    "create_sms_app",
]
