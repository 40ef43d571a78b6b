"""The pipeline under test, supervised as `make up` supervises it, with handles for the faults.

The components restart with the same backoff as `consent stack supervise`
(`ops.supervisor.Supervised`), so a SIGKILLed worker comes back the way it would in production;
the tending runs in a thread because the driver and the faults need the main one.
"""

import logging
import os
import signal
import threading
import time
from pathlib import Path

from ops.deployment import Deployment
from ops.supervisor import Supervised, kind_of

log = logging.getLogger("consent.chaos")


class ChaosStack:
    def __init__(self, deployment: Deployment, env: dict[str, str], log_dir: Path) -> None:
        self.deployment, self.env, self.log_dir = deployment, env, log_dir
        self._procs: dict[str, Supervised] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tend, name="chaos-supervisor", daemon=True)

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Supervised:
        own = self.deployment.env_for(kind_of(args))
        proc = Supervised(name, list(args), {**own, **self.env, **(env or {})}, self.log_dir)
        with self._lock:  # started before the tending thread can see it without a process
            proc.start()
            self._procs[name] = proc
        if not self._thread.is_alive():
            self._thread.start()
        return proc

    def remove(self, name: str) -> None:
        """Stop a component for good (SIGTERM, as a scale-down does); it is not restarted."""
        with self._lock:
            proc = self._procs.pop(name)
        proc.stop()

    def kill(self, name: str) -> int:
        """SIGKILL a component's process group, as a crash would; return how many restarts it
        had, so the caller can wait for the next one."""
        with self._lock:
            proc = self._procs[name]
            comp = proc.component
            restarts = proc.restarts
        if comp is not None and comp.proc.poll() is None:
            os.killpg(comp.proc.pid, signal.SIGKILL)
        return restarts

    def restarts(self, name: str) -> int:
        with self._lock:
            return self._procs[name].restarts

    def running(self, name: str) -> bool:
        with self._lock:
            proc = self._procs.get(name)
            return (proc is not None and proc.component is not None
                    and proc.component.proc.poll() is None)

    def all_restarts(self) -> dict[str, int]:
        with self._lock:
            return {name: p.restarts for name, p in self._procs.items()}

    def log_paths(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log"))

    def _tend(self) -> None:
        while not self._stop.wait(0.25):
            # under the lock: a component being removed must not be restarted behind its back
            with self._lock:
                now = time.monotonic()
                for p in self._procs.values():
                    p.tend(now)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock:
            procs = list(reversed(self._procs.values()))
            self._procs.clear()
        for p in procs:
            p.stop()
