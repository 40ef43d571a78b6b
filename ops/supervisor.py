"""Starting and stopping the pipeline's processes and local servers (demo, tests, `make up`).

Each component runs as its own OS process, as in production, so a crash is a crash and the
demo exercises the same entry points an operator uses.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from prometheus_client import CollectorRegistry, Gauge

from ops.exceptions import InfraError
from schemas.exceptions import ConsentError

log = logging.getLogger("consent.processes")

REPO_ROOT = Path(__file__).resolve().parents[1]
STACK = REPO_ROOT / "deploy" / "local" / "stack.sh"


def stack(command: str, env: dict[str, str]) -> None:
    if not STACK.exists():
        raise InfraError(f"{STACK} not found: the local stack needs a source checkout")
    proc = subprocess.run(["bash", str(STACK), command], env={**os.environ, **env},
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InfraError(f"`stack.sh {command}` failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")


class LocalInfra:
    """Broker + PostgreSQL of one local instance; stops them on exit if it started them.

    `brokers=3` starts a three-node KRaft cluster (`LOCAL_KAFKA_BROKERS=3`) instead of one node.
    `secured=True` starts them with `LOCAL_KAFKA_SECURITY=sasl_ssl` and `LOCAL_PG_ROLES=1`
    (deploy/local/env.sh): the admin's client file, the principals' files (once `ops.access`
    made them) and the roles' DSNs are then under `instance_dir`. Either way the mode is set
    explicitly, so a variable exported in the caller's shell cannot change it.
    """

    def __init__(self, instance: str, kafka_port: int, controller_port: int, pg_port: int,
                 *, secured: bool = False, brokers: int = 1) -> None:
        if brokers not in (1, 3):
            raise InfraError(f"a local Kafka has 1 or 3 brokers, not {brokers}")
        self.env = {
            "CONSENT_INSTANCE": instance,
            "LOCAL_KAFKA_PORT": str(kafka_port),
            "LOCAL_KAFKA_CONTROLLER_PORT": str(controller_port),
            "LOCAL_PG_PORT": str(pg_port),
            "CONSENT_PYTHON": sys.executable,
            "LOCAL_KAFKA_SECURITY": "sasl_ssl" if secured else "plaintext",
            "LOCAL_PG_ROLES": "1" if secured else "0",
            "LOCAL_KAFKA_BROKERS": str(brokers),
        }
        self.secured = secured
        self.brokers = brokers
        # node i listens on kafka_port + 10*(i-1) (deploy/local/env.sh)
        self.bootstrap = ",".join(f"127.0.0.1:{kafka_port + 10 * n}" for n in range(brokers))
        # three brokers: every topic on all three, writes acknowledged by two (min ISR, kafka.sh)
        self.replication_factor = 3 if brokers == 3 else 1
        local = Path(os.environ.get("CONSENT_LOCAL_DIR", REPO_ROOT / ".local"))
        self.instance_dir = (local if local.is_absolute() else Path.cwd() / local) / instance
        self.clients_dir = self.instance_dir / "clients"
        self._default_url = f"postgresql://consent:consent@127.0.0.1:{pg_port}/consent"

    @property
    def admin_config(self) -> Path:
        """The Kafka super user's client file (setup only: topics, users, ACLs)."""
        return self.clients_dir / "admin.properties"

    def client_config(self, principal: str) -> Path:
        """A principal's client file, for its process's CONSENT_KAFKA_CLIENT_CONFIG."""
        return self.clients_dir / f"{principal}.properties"

    def role_url(self, role: str) -> str:
        """A PostgreSQL role's DSN (LOCAL_PG_ROLES=1), written by postgres.sh at start."""
        path = self.instance_dir / "postgres" / "roles" / f"{role}.url"
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InfraError(f"no DSN for role {role} ({path}): is the secured stack up?") from exc

    @property
    def database_url(self) -> str:
        """Where migrations run: the migration owner when secured, else the one project role."""
        return self.role_url("consent_owner") if self.secured else self._default_url

    def __enter__(self) -> "LocalInfra":
        try:
            stack("up-infra", self.env)
        except BaseException:
            stack("down-infra", self.env)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        stack("down-infra", self.env)


class Component:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "ops", *args],
                                     env={**os.environ, **env}, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def check_alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise ConsentError(f"{self.name} exited with code {code}; last log lines:\n{tail}")

    def terminate(self) -> None:
        """SIGTERM without waiting, so many components can be stopped at once."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets flushed or committed."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()


def kind_of(args: list[str] | tuple[str, ...]) -> str:
    """Which kind of pipeline process a `consent` command line starts (`ops.deployment`)."""
    if list(args[:2]) == ["sink", "postgres"]:
        return "postgres-sink"
    if list(args[:2]) == ["sink", "mailer"]:
        return "mailer"
    return args[0]


class Components:
    """A set of running components, all stopped on exit (on failure too).

    `env_for` gives each kind of process its own environment (its Kafka principal and its
    database role, `ops.deployment.Deployment.env_for`); `env` is added to every one.
    """

    def __init__(self, env: dict[str, str], log_dir: Path,
                 env_for: Callable[[str], dict[str, str]] | None = None) -> None:
        self.env, self.log_dir = env, log_dir
        self.env_for = env_for
        self.running: dict[str, Component] = {}

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Component:
        if (old := self.running.get(name)) is not None:
            old.stop()  # a restart under the same name: the old process and its log are done
        own = self.env_for(kind_of(args)) if self.env_for is not None else {}
        # a stable process id per name: a restarted processor aborts what its predecessor left
        comp = Component(name, list(args), {**own, **self.env, "CONSENT_PROCESS_ID": name,
                                             **(env or {})}, self.log_dir)
        self.running[name] = comp
        return comp

    def check_alive(self) -> None:
        for comp in self.running.values():
            comp.check_alive()

    def __enter__(self) -> "Components":
        return self

    def terminate(self) -> None:
        """Ask every component to stop (SIGTERM) without waiting; `__exit__` then waits."""
        for comp in reversed(list(self.running.values())):
            comp.terminate()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.terminate()  # all at once: each then only has to be waited for
        for comp in reversed(list(self.running.values())):
            comp.stop()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.25, check: Callable[[], None] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check is not None:
            check()
        if predicate():
            return
        time.sleep(interval)
    raise ConsentError(f"timed out after {timeout:.0f}s waiting for {what}")


# ------------------------------------------------------------------------------ supervision

RESTART_DELAYS_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
STABLE_AFTER_S = 60.0  # a process up this long has its backoff reset


class Supervised:
    """One component kept running: restarted with growing delays, restarts counted."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env, self.log_dir = name, args, env, log_dir
        self.component: Component | None = None
        self.restarts = 0
        self.last_exit: int | None = None
        self.started_at = 0.0
        self.next_start = 0.0
        self._failures = 0

    def start(self) -> None:
        self.component = Component(self.name, self.args, {**self.env,
                                                          "CONSENT_PROCESS_ID": self.name},
                                   self.log_dir)
        self.started_at = time.monotonic()

    def tend(self, now: float) -> None:
        """Restart the component if it exited and its backoff has passed."""
        comp = self.component
        if comp is not None:
            code = comp.proc.poll()
            if code is None:
                if now - self.started_at > STABLE_AFTER_S:
                    self._failures = 0
                return
            comp.stop()
            self.component = None
            self.last_exit = code
            delay = RESTART_DELAYS_S[min(self._failures, len(RESTART_DELAYS_S) - 1)]
            self._failures += 1
            self.next_start = now + delay
            log.warning("%s exited with code %s; restarting in %.0fs", self.name, code, delay)
            return
        if now >= self.next_start:
            if self.started_at:
                self.restarts += 1
            self.start()

    def status(self) -> dict[str, object]:
        comp = self.component
        running = comp is not None and comp.proc.poll() is None
        return {"pid": comp.proc.pid if running and comp else None, "running": running,
                "restarts": self.restarts, "last_exit": self.last_exit,
                "log": str(self.log_dir / f"{self.name}.log")}

    def stop(self) -> None:
        if self.component is not None:
            self.component.stop()
            self.component = None


class Supervisor:
    """Keeps a set of components running until told to stop; writes its state as JSON.

    It also serves `consent_component_restarts` and `consent_component_up` per component, so a
    restart loop pages someone (deploy/prometheus/alerts.yml) instead of going unnoticed.
    """

    def __init__(self, components: list[Supervised], state_file: Path,
                 registry: CollectorRegistry | None = None) -> None:
        self.components = components
        self.state_file = state_file
        self._stop = False
        self.registry = registry or CollectorRegistry()
        self._restarts = Gauge("consent_component_restarts", "Restarts of a supervised component so far",
                               ["component"], registry=self.registry)
        self._up = Gauge("consent_component_up", "1 while a supervised component runs",
                         ["component"], registry=self.registry)

    def request_stop(self, *_: object) -> None:
        self._stop = True

    def run(self, interval: float = 0.5) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        try:
            while not self._stop:
                now = time.monotonic()
                for c in self.components:
                    c.tend(now)
                self._write_state()
                time.sleep(interval)
        finally:
            for c in reversed(self.components):
                c.stop()
            self._write_state()

    def _write_state(self) -> None:
        for c in self.components:
            status = c.status()
            self._restarts.labels(c.name).set(c.restarts)
            self._up.labels(c.name).set(1 if status["running"] else 0)
        state = {"supervisor_pid": os.getpid(), "updated_at": time.time(),
                 "components": {c.name: c.status() for c in self.components}}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)
