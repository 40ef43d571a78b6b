"""`make up` (`consent stack`): a second stack beside the test one, supervised (issue 6, finding 9)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ops.supervisor import LocalInfra

pytestmark = pytest.mark.integration

PORTS = {"LOCAL_KAFKA_PORT": "9692", "LOCAL_KAFKA_CONTROLLER_PORT": "9693",
         "LOCAL_PG_PORT": "54335", "CONSENT_UNSUBSCRIBE_PORT": "18389",
         "CONSENT_INGEST_PORT": "18390",
         "CONSENT_SMTP_PORT": "18325", "CONSENT_METRICS_BASE_PORT": "19390"}


def _consent(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_stack_runs_beside_another_and_restarts_what_crashes(infra: LocalInfra, tmp_path):
    """A stack on its own instance and ports starts while the test stack runs, from a folder
    the postgres OS user cannot enter (pytest's tmp folders are mode 700, like root's home);
    a component killed with SIGKILL comes back and `status` counts the restart; `down` leaves
    nothing running."""
    env = {**os.environ, "CONSENT_INSTANCE": "stacktest", "CONSENT_LOCAL_DIR":
           str(tmp_path / "local"), "COLUMNS": "250", **PORTS}
    (tmp_path / "local").mkdir()
    assert os.stat(tmp_path.parent.parent).st_mode & 0o777 == 0o700
    up = _consent(env, "stack", "up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state_file = tmp_path / "local" / "stacktest" / "run" / "supervisor.json"
        comps = json.loads(state_file.read_text())["components"]
        assert all(c["running"] for c in comps.values()), comps
        os.kill(comps["mailer"]["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            mailer = json.loads(state_file.read_text())["components"]["mailer"]
            if mailer["restarts"] == 1 and mailer["running"]:
                break
            time.sleep(0.5)
        assert mailer["restarts"] == 1 and mailer["running"] and mailer["last_exit"] == -9
        status = _consent(env, "stack", "status")
        assert status.returncode == 0
        assert "mailer" in status.stdout and " 1 " in status.stdout and "-9" in status.stdout
        assert f"127.0.0.1:{PORTS['LOCAL_KAFKA_PORT']}" in status.stdout
    finally:
        down = _consent(env, "stack", "down")
        cluster = tmp_path / "local" / "stacktest" / "postgres"
        relocated = cluster.is_symlink()
        if relocated:  # the cluster outlives `down` (data is kept); this test's is not needed
            shutil.rmtree(cluster.resolve(), ignore_errors=True)
    assert down.returncode == 0, down.stdout + down.stderr
    assert relocated, "the cluster was moved where the postgres OS user can reach it"
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True,
                               check=False).stdout.split()
    assert leftovers == []
