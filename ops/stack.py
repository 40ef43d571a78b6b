"""`consent stack up|down|status` (`make up` / `make down`): the pipeline in the background.

For integrators who want to produce events and watch what comes out: the local broker on
127.0.0.1:9092, PostgreSQL on 127.0.0.1:54329, the worker, both sinks and an SMTP server
that stores every mail as an .eml file under .local/dev/mail/, and the one-click
unsubscribe endpoint on 127.0.0.1:8089 (the URL in every marketing mail). Processes are detached and
tracked by pid files, so `down` works from any shell.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ops.processes import REPO_ROOT, stack
from ops.topics import create_topics
from sinks.db import migrate
from sinks.settings import SinkSettings
from streams.settings import StreamSettings

console = Console()
DEV = REPO_ROOT / ".local" / "dev"
RUN, LOGS = DEV / "run", DEV / "logs"
SMTP_PORT = 8025

# name -> arguments of `consent`; started in this order, stopped in reverse
PROCESSES: dict[str, list[str]] = {
    "smtp-capture": ["smtp-capture", "--port", str(SMTP_PORT), "--dir", str(DEV / "mail")],
    "worker": ["worker"],
    "postgres-sink": ["sink", "postgres"],
    "mailer": ["sink", "mailer"],
    "unsubscribe-server": ["unsubscribe-server", "--port", "8089"],
}


def _env() -> dict[str, str]:
    return {"CONSENT_INSTANCE": "dev", "CONSENT_PYTHON": sys.executable,
            "CONSENT_DATA_DIR": os.environ.get("CONSENT_DATA_DIR", str(DEV / "worker")),
            "CONSENT_SMTP_PORT": os.environ.get("CONSENT_SMTP_PORT", str(SMTP_PORT))}


def _pid(name: str) -> int | None:
    path = RUN / f"{name}.pid"
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def up() -> int:
    env = _env()
    console.print("starting Kafka and PostgreSQL (instance dev)…")
    stack("up-infra", env)
    os.environ.update(env)
    for name, state in create_topics(StreamSettings()).items():
        console.print(f"  topic {name}: {state}")
    console.print(f"  migrations: {migrate(SinkSettings()) or 'up to date'}")
    RUN.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    for name, args in PROCESSES.items():
        if _pid(name):
            console.print(f"  {name}: already running")
            continue
        with (LOGS / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "ops", *args],
                                    env={**os.environ, **env}, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        (RUN / f"{name}.pid").write_text(str(proc.pid))
        console.print(f"  {name}: started (pid {proc.pid}, log {LOGS / (name + '.log')})")
    time.sleep(2)
    return status()


def down() -> int:
    for name in reversed(PROCESSES):
        pid = _pid(name)
        if pid is None:
            continue
        os.killpg(pid, signal.SIGTERM)
        for _ in range(150):
            if _pid(name) is None:
                break
            time.sleep(0.2)
        else:
            os.killpg(pid, signal.SIGKILL)
        (RUN / f"{name}.pid").unlink(missing_ok=True)
        console.print(f"stopped {name}")
    stack("down-infra", _env())
    console.print("stopped Kafka and PostgreSQL")
    return 0


def status() -> int:
    table = Table(title="consent stack (instance dev)")
    table.add_column("component")
    table.add_column("state")
    failed = False
    for name in PROCESSES:
        pid = _pid(name)
        failed |= pid is None
        table.add_row(name, f"[green]running[/green] (pid {pid})" if pid else "[red]stopped[/red]")
    infra = subprocess.run(["bash", str(REPO_ROOT / "deploy/local/stack.sh"), "status"],
                           env={**os.environ, **_env()}, capture_output=True, text=True,
                           check=False)
    table.add_row("kafka + postgres", infra.stdout.strip().replace("\n", "; ") or "?")
    console.print(table)
    console.print("bootstrap 127.0.0.1:9092 · postgresql://consent:consent@127.0.0.1:54329/consent"
                  f" · mail in {DEV / 'mail'}")
    return 1 if failed or infra.returncode else 0


def smtp_capture(port: int, directory: Path) -> int:
    """Run an SMTP server that stores each mail as an .eml file, until SIGTERM."""
    from ops.smtp_capture import CaptureServer

    directory.mkdir(parents=True, exist_ok=True)
    stop = False

    def on_signal(_s: int, _f: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with CaptureServer(port=port) as server:
        console.print(f"SMTP capture on 127.0.0.1:{server.port}, writing to {directory}")
        written = 0
        while not stop:
            for msg in server.mailbox.snapshot()[written:]:
                rid = str(msg.get("X-Request-ID", f"mail-{written}")).replace("/", "_")
                (directory / f"{rid}.eml").write_bytes(msg.as_bytes())
                written += 1
            time.sleep(0.2)
    return 0
