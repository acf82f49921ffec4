"""``make run`` (``python -m stack``): the whole stack in the foreground, stopped cleanly by
Ctrl-C.

Starts, in order: the Temporal dev server (state in ``<data dir>/temporal.db``; its Web UI
decrypts payloads through the codec server), the payout and SMS simulators, the payout
callback receiver, the codec server, the database schema and demo accounts, then the
worker, which is restarted if it dies. Ctrl-C or SIGTERM stops everything in the
reverse order. Child output goes to ``<data dir>/logs/``; the terminal gets a banner and the
events that matter.

Tests start the same stack on free ports through the same code::

    stack = await Stack.start(StackConfig.local(data_dir=tmp_path, ports=Ports.free()))
    ... stack.urls.temporal_address ...
    stack.stop()

``await stack.restart_temporal()`` stops and starts only the dev server, on the same state
file (fault tests); the worker and the callback receiver reconnect by themselves.

Flags and environment (defaults follow docs/interface.md): ``--temporal-port``/``TEMPORAL_PORT``
7233, ``--ui-port``/``TEMPORAL_UI_PORT`` 8233, ``--payout-port``/``PAYOUT_SIMULATOR_PORT``
8801, ``--sms-port``/``SMS_SIMULATOR_PORT`` 8802, ``--callback-port``/``PAYOUT_CALLBACK_PORT``
8803, ``--codec-port``/``CODEC_SERVER_PORT`` 8804, ``--http-port``/``HTTP_PORT`` 8805 (the HTTP
API, ``api/``, with a dev key in ``<data dir>/api-key.dev`` unless ``API_KEYS``),
``--data-dir``/``WITHDRAWALS_DATA_DIR`` ``.data``,
``--max-settle-seconds``/``SIM_MAX_SETTLE_SECONDS`` 10; ``DATABASE_URL``,
``TEMPORAL_NAMESPACE`` and ``TEMPORAL_TASK_QUEUE`` as everywhere else.

Payload keys: ``PAYLOAD_KEYS`` or ``PAYLOAD_KEY_FILE`` when set, else a dev key file in the
data directory, handed to every child (and to the CLI through the banner's exports) so
they all read each other's payloads. The codec server's token: ``CODEC_SERVER_TOKEN``, else
a dev token in ``<data dir>/codec-server.token``.

The modules, by job: ``config`` (ports, data directory, URLs, secrets), ``child_process``
(one child, its log, its stop), ``dev_server`` (the Temporal dev server's command and
readiness), ``readiness`` (free ports, waiting for answers), ``database`` (schema and demo
data), ``running`` (``Stack``: start in order, stop in reverse), ``supervisor`` (restarting
the worker), ``banner``, and ``foreground`` (flags, environment, Ctrl-C).
"""

from stack.config import DEFAULT_FIXTURE, REPO_ROOT, LaunchError, Ports, StackConfig, StackUrls
from stack.running import Stack

__all__ = [
    "DEFAULT_FIXTURE",
    "REPO_ROOT",
    "LaunchError",
    "Ports",
    "Stack",
    "StackConfig",
    "StackUrls",
]
