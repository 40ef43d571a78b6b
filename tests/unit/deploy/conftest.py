"""Fixtures of the deploy-file checks: promtool (installed when missing) and the code's metrics."""

import subprocess
from pathlib import Path

import pytest

from tests.unit.deploy.catalogue import DEPLOY, exported_metrics


@pytest.fixture(scope="session")
def promtool() -> Path:
    """Debian's promtool, installed by deploy/local/promtool.sh if missing; never skipped."""
    proc = subprocess.run(["bash", str(DEPLOY / "local" / "promtool.sh"), "path"],
                          capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        pytest.fail(f"promtool could not be installed:\n{proc.stdout}{proc.stderr}", pytrace=False)
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def exported() -> dict[str, str]:
    return exported_metrics()
