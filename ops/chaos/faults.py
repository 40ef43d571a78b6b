"""The faults, each as an operator meets it, run one at a time beside the traffic.

Each fault records what happened and how long recovery took (`Faults.events`), because "the
worker came back after 1.2 s" is part of the verdict an SRE reads, not only the zeros.
"""

import logging
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ops.chaos import plan as p
from ops.chaos.stack import ChaosStack
from ops.exceptions import InfraError
from ops.supervisor import REPO_ROOT, LocalInfra

log = logging.getLogger("consent.chaos")

KAFKA_SH = REPO_ROOT / "deploy" / "local" / "kafka.sh"
WORKER_ARGS = ("worker",)


def postgres_processes(port: int) -> list[int]:
    """The postmaster listening on `port` and its children (backends, writer, WAL, ...).

    Found through each running postmaster's `postmaster.pid` (line 4 is its port), so no SQL is
    needed: the point is to freeze the database the pipeline talks to, and only that one.
    """
    postmaster = None
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            argv = (pid_dir / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or not argv[0].endswith(b"postgres") or b"-D" not in argv:
            continue
        data_dir = Path(argv[argv.index(b"-D") + 1].decode())
        try:
            lines = (data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            continue
        if len(lines) > 3 and lines[0] == pid_dir.name and lines[3].strip() == str(port):
            postmaster = int(pid_dir.name)
            break
    if postmaster is None:
        raise InfraError(f"no PostgreSQL postmaster found listening on port {port}")
    children = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            stat = (pid_dir / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == postmaster:
            children.append(int(pid_dir.name))
    return [postmaster, *children]


class Faults:
    """Runs the scheduled faults in a thread of their own, in order, one at a time."""

    def __init__(self, stack: ChaosStack, infra: LocalInfra, plan: p.Plan,
                 started: float) -> None:
        self.stack, self.infra, self.plan, self.started = stack, infra, plan, started
        self.events: list[str] = []
        self.errors: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="chaos-faults", daemon=True)
        self._thread.start()
        self._actions: dict[str, Callable[[], str]] = {
            p.WORKER_KILL: self.kill_worker, p.WORKER_JOIN: self.worker_join,
            p.WORKER_LEAVE: self.worker_leave, p.BROKER_RESTART: self.restart_broker,
            p.POSTGRES_PAUSE: self.pause_postgres, p.MAILER_KILL: self.kill_mailer,
        }

    def inject(self, fault: str) -> None:
        self._queue.put(fault)

    def wait(self) -> None:
        """Until every injected fault has finished (the broker back, the database resumed)."""
        self._queue.put(None)
        self._thread.join()

    @property
    def busy(self) -> bool:
        return self._thread.is_alive() and self._queue.unfinished_tasks > 0

    def _at(self) -> str:
        return f"{time.monotonic() - self.started:6.1f}s"

    def _run(self) -> None:
        while True:
            fault = self._queue.get()
            try:
                if fault is None:
                    return
                at = self._at()
                try:
                    what = self._actions[fault]()
                except Exception as exc:  # a fault that could not be injected spoils the run
                    self.errors.append(f"{fault}: {exc}")
                    log.error("fault %s could not be injected: %s", fault, exc)
                else:
                    self.events.append(f"{at}  {what}")
                    log.info("%s  %s", at, what)
            finally:
                self._queue.task_done()

    def _wait_restart(self, name: str, before: int, timeout: float = 60.0) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.stack.restarts(name) > before and self.stack.running(name):
                return time.monotonic() - t0
            time.sleep(0.05)
        raise InfraError(f"{name} was not restarted within {timeout:.0f}s")

    def kill_worker(self) -> str:
        before = self.stack.kill("worker-1")
        took = self._wait_restart("worker-1", before)
        return f"worker-1 SIGKILLed; the supervisor restarted it after {took:.1f}s"

    def worker_join(self) -> str:
        data_dir = self.stack.deployment.data_dir / "worker-2"  # a disk of its own
        t0 = time.monotonic()
        proc = self.stack.start("worker-2", *WORKER_ARGS, env={"CONSENT_DATA_DIR": str(data_dir)})
        log_path = proc.log_dir / "worker-2.log"
        while "restored" not in (log_path.read_text(errors="replace") if log_path.exists()
                                 else ""):
            if time.monotonic() - t0 > 90:
                raise InfraError("worker-2 was never assigned partitions within 90s")
            time.sleep(0.2)
        return (f"worker-2 joined the group and took partitions after "
                f"{time.monotonic() - t0:.1f}s (rebalance)")

    def worker_leave(self) -> str:
        self.stack.remove("worker-2")
        return "worker-2 stopped (SIGTERM; rebalance: its partitions move back)"

    def _kafka(self, *args: str) -> None:
        proc = subprocess.run(["bash", str(KAFKA_SH), *args], env={**os.environ, **self.infra.env},
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            said = [line for line in proc.stderr.splitlines() if "ERROR" in line] or ["?"]
            raise InfraError(f"kafka.sh {' '.join(args)} failed: {said[-1][-300:]}")

    def restart_broker(self) -> str:
        node = "2" if self.infra.brokers > 1 else "1"
        t0 = time.monotonic()
        self._kafka("stop-node", node)
        stopped = time.monotonic() - t0
        time.sleep(self.plan.broker_down_s)
        self._kafka("start-node", node)
        return (f"broker node {node} stopped (took {stopped:.1f}s), down "
                f"{self.plan.broker_down_s:.0f}s, restarted after {time.monotonic() - t0:.1f}s")

    def pause_postgres(self) -> str:
        pids = postgres_processes(int(self.infra.env["LOCAL_PG_PORT"]))
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(self.plan.postgres_pause_s)
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        return f"PostgreSQL paused (SIGSTOP, {len(pids)} processes) for {self.plan.postgres_pause_s:.0f}s"

    def kill_mailer(self) -> str:
        before = self.stack.kill("mailer")
        took = self._wait_restart("mailer", before)
        return f"mailer SIGKILLed mid-send; restarted after {took:.1f}s"
