"""The curl lines of docs/calling-from-a-backend.md (linked from the README) work as
printed: run against the test stack, only its address, key file and the withdrawal id
substituted."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tests.api.conftest import Api
from tests.launched import new_id

README = Path(__file__).parents[2] / "docs" / "calling-from-a-backend.md"
SECTION = "# Calling from a backend"


def readme_commands() -> list[str]:
    text = README.read_text()
    section = text[text.index(SECTION) :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_curl_examples_work_as_printed(api: Api) -> None:
    withdrawal_id = new_id("w-readme")
    key_file = api.stack.config.data_dir / "api-key.dev"
    outputs = []
    env = dict(os.environ)
    for line in readme_commands():
        command = (
            line.replace("http://localhost:8805", api.stack.urls.http)
            .replace(".data/api-key.dev", str(key_file))
            .replace("w-backend-0001", withdrawal_id)
        )
        if command.startswith("KEY="):
            env["KEY"] = key_file.read_text().strip()  # what the printed line sets
            continue
        result = subprocess.run(
            ["bash", "-c", command],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env=env,
        )
        assert result.returncode == 0, (command, result.stderr)
        outputs.append(result.stdout)
    withdrawable, created, code, status, listed, csv, cancelled = outputs
    assert json.loads(withdrawable)["withdrawable"] == "200.00"
    assert (json.loads(created)["id"], json.loads(created)["status"]) == (
        withdrawal_id,
        "awaiting_code",
    )
    assert json.loads(code)["verdict"] in ("wrong", "verified")
    assert json.loads(status)["id"] == withdrawal_id
    assert withdrawal_id in [w["id"] for w in json.loads(listed)["withdrawals"]]
    assert csv.startswith("at,type,direction,amount")
    assert json.loads(cancelled)["status"] == "cancelled"
