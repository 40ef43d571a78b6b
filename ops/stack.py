"""`consent stack up|down|status` (`make up` / `make down` / `make status`): the pipeline in the
background, supervised.

For integrators who want to produce events and watch what comes out: the local broker,
PostgreSQL, the consent agent, the send filter, both sinks, an SMTP server that stores every
mail as an .eml file, the one-click unsubscribe endpoint (the URL in every marketing mail), and
webhook ingestion (signed purchases and support messages over HTTP).

Why a supervisor: a component that exits (a crash, a stall, a lost database) must come back
on its own, as it would under systemd or Kubernetes; `consent stack supervise` runs detached,
restarts each component with growing delays (`ops.supervisor.Supervisor`) and writes their
state, restarts included, for `status`. Every name and port comes from the environment, so two
stacks run side by side: `CONSENT_INSTANCE` (default `dev`), `LOCAL_KAFKA_PORT`,
`LOCAL_KAFKA_CONTROLLER_PORT`, `LOCAL_PG_PORT`, `CONSENT_UNSUBSCRIBE_PORT`,
`CONSENT_INGEST_PORT`, `CONSENT_SMTP_PORT` and `CONSENT_METRICS_BASE_PORT` (each process gets
the next port).
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ops.deployment import INGEST_SECRETS_FILE, Deployment
from ops.supervisor import REPO_ROOT, LocalInfra, Supervised, Supervisor, kind_of, stack
from schemas.exceptions import ConfigError
from schemas.metrics_endpoint import DEFAULT_PORTS, serve

console = Console()


def _brokers(instance: str) -> int:
    """`LOCAL_KAFKA_BROKERS` (`make up CLUSTER=3`), else the count the instance last started
    with (deploy/local/kafka.sh records it), so `make status`/`make down`/`consent stack env`
    follow a running cluster without being told."""
    value = os.environ.get("LOCAL_KAFKA_BROKERS")
    if value is None:
        local = Path(os.environ.get("CONSENT_LOCAL_DIR", REPO_ROOT / ".local"))
        try:
            value = (local / instance / "kafka" / "brokers").read_text(encoding="utf-8").strip()
        except OSError:
            value = "1"
    if value not in ("1", "3"):
        raise ConfigError(f"LOCAL_KAFKA_BROKERS must be 1 or 3, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class StackConfig:
    instance: str
    kafka_port: int
    controller_port: int
    pg_port: int
    unsubscribe_port: int
    ingest_port: int
    smtp_port: int
    metrics_base_port: int
    brokers: int = 1

    @classmethod
    def from_env(cls) -> "StackConfig":
        e = os.environ
        return cls(instance=e.get("CONSENT_INSTANCE", "dev"),
                   kafka_port=int(e.get("LOCAL_KAFKA_PORT", "9092")),
                   controller_port=int(e.get("LOCAL_KAFKA_CONTROLLER_PORT", "9093")),
                   pg_port=int(e.get("LOCAL_PG_PORT", "54329")),
                   unsubscribe_port=int(e.get("CONSENT_UNSUBSCRIBE_PORT", "8089")),
                   ingest_port=int(e.get("CONSENT_INGEST_PORT", "8090")),
                   smtp_port=int(e.get("CONSENT_SMTP_PORT", "8025")),
                   metrics_base_port=int(e.get("CONSENT_METRICS_BASE_PORT", "9300")),
                   brokers=_brokers(e.get("CONSENT_INSTANCE", "dev")))

    @property
    def home(self) -> Path:
        return Path(os.environ.get("CONSENT_LOCAL_DIR", REPO_ROOT / ".local")) / self.instance

    @property
    def state_file(self) -> Path:
        return self.home / "run" / "supervisor.json"

    def infra(self) -> LocalInfra:
        return LocalInfra(self.instance, self.kafka_port, self.controller_port, self.pg_port,
                          secured=True, brokers=self.brokers)

    def infra_env(self) -> dict[str, str]:
        return self.infra().env

    def deployment(self) -> Deployment:
        return Deployment(self.infra(), prefix="", app_id="consent", db_schema="consent",
                          data_dir=self.home / "worker")

    def pipeline_env(self) -> dict[str, str]:
        """What every process of the stack shares (each adds its principal and role)."""
        return {
            "CONSENT_SMTP_HOST": "127.0.0.1", "CONSENT_SMTP_PORT": str(self.smtp_port),
            "CONSENT_UNSUBSCRIBE_BASE_URL":
                f"http://127.0.0.1:{self.unsubscribe_port}/unsubscribe",
        }

    def processes(self) -> dict[str, list[str]]:
        """name -> arguments of `consent`; started in this order, stopped in reverse."""
        return {
            "smtp-capture": ["smtp-capture", "--port", str(self.smtp_port), "--dir",
                             str(self.home / "mail")],
            "worker": ["worker"],
            "filter": ["filter"],
            "postgres-sink": ["sink", "postgres"],
            "mailer": ["sink", "mailer"],
            "unsubscribe-server": ["unsubscribe-server", "--port", str(self.unsubscribe_port)],
            "ingest-server": ["ingest-server", "--port", str(self.ingest_port)],
        }

    def metrics_port(self, name: str) -> int:
        """Each kind's documented default port, moved by the base (two stacks side by side);
        the HTTP endpoints serve /metrics on their own port, the SMTP capture none."""
        if name == "unsubscribe-server":
            return self.unsubscribe_port
        if name == "ingest-server":
            return self.ingest_port
        default = DEFAULT_PORTS.get(name)
        return 0 if default is None else self.metrics_base_port + default - DEFAULT_PORTS["supervisor"]


def _supervisor_pid(cfg: StackConfig) -> int | None:
    try:
        pid = int(json.loads(cfg.state_file.read_text())["supervisor_pid"])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, KeyError):
        return None


def up() -> int:
    cfg = StackConfig.from_env()
    console.print(f"starting Kafka and PostgreSQL (instance {cfg.instance}, SASL_SSL and "
                  "a role per component)…")
    stack("up-infra", cfg.infra_env())
    cfg.deployment().setup()
    console.print("  topics, principals and ACLs, migrations: done")
    if _supervisor_pid(cfg):
        console.print("  supervisor already running")
        return status()
    (cfg.home / "run").mkdir(parents=True, exist_ok=True)
    (cfg.home / "logs").mkdir(parents=True, exist_ok=True)
    with (cfg.home / "logs" / "supervisor.log").open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ops", "stack", "supervise"],
                                env={**os.environ, **cfg.infra_env()},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _supervisor_pid(cfg) == proc.pid:
            break
        time.sleep(0.2)
    time.sleep(2)
    return status()


def supervise() -> int:
    """Run in the foreground until SIGTERM: what `up` starts detached."""
    cfg = StackConfig.from_env()
    deployment = cfg.deployment()
    components = [Supervised(name, args, {**deployment.env_for(kind_of(args)),
                                          **cfg.pipeline_env(),
                                          "CONSENT_METRICS_PORT": str(cfg.metrics_port(name))},
                             cfg.home / "logs")
                  for name, args in cfg.processes().items()]
    supervisor = Supervisor(components, cfg.state_file)
    serve(supervisor.registry, cfg.metrics_port("supervisor"), "supervisor")
    supervisor.run()
    return 0


def env(principal: str) -> int:
    """Shell exports to act as one principal of the running stack (`eval "$(consent stack env
    marketing)"`): its client file, the stack's key secret and the database's reader role (the
    DPO's own role for `dpo`, which `consent disclose` needs)."""
    from schemas.principals import principal as known

    known(principal)  # a clear error for a name that is not in the catalogue
    cfg = StackConfig.from_env()
    infra = cfg.infra()
    role = "consent_dpo" if principal == "dpo" else "consent_reader"  # `consent disclose`
    exports = {"CONSENT_KAFKA_CLIENT_CONFIG": str(infra.client_config(principal)),
               "CONSENT_KEY_SECRET": cfg.deployment().key_secret,
               "CONSENT_DATABASE_URL": infra.role_url(role)}
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def down() -> int:
    cfg = StackConfig.from_env()
    pid = _supervisor_pid(cfg)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)  # it stops every component, then itself
        deadline = time.monotonic() + 90
        while _supervisor_pid(cfg) == pid and time.monotonic() < deadline:
            time.sleep(0.2)
        if _supervisor_pid(cfg) == pid:
            os.killpg(pid, signal.SIGKILL)
        console.print("stopped the pipeline's processes")
    stack("down-infra", cfg.infra_env())
    console.print(f"stopped Kafka and PostgreSQL (instance {cfg.instance})")
    return 0


def status() -> int:
    cfg = StackConfig.from_env()
    table = Table(title=f"consent stack (instance {cfg.instance})")
    for col in ("component", "state", "restarts", "last exit", "metrics"):
        table.add_column(col)
    failed = False
    pid = _supervisor_pid(cfg)
    comps: dict[str, dict[str, object]] = {}
    if pid is not None:
        comps = json.loads(cfg.state_file.read_text())["components"]
    for name in cfg.processes():
        c = comps.get(name, {})
        running = bool(c.get("running"))
        failed |= not running
        state = f"[green]running[/green] (pid {c.get('pid')})" if running else "[red]stopped[/red]"
        port = cfg.metrics_port(name)
        table.add_row(name, state, str(c.get("restarts", "-")), str(c.get("last_exit", "-")),
                      f"http://127.0.0.1:{port}/metrics" if port else "-")
    infra = subprocess.run(["bash", str(REPO_ROOT / "deploy/local/stack.sh"), "status"],
                           env={**os.environ, **cfg.infra_env()}, capture_output=True,
                           text=True, check=False)
    table.add_row("kafka + postgres", infra.stdout.strip().replace("\n", "; ") or "?", "", "", "")
    console.print(table)
    secrets_file = cfg.infra().instance_dir / INGEST_SECRETS_FILE
    console.print(f"bootstrap 127.0.0.1:{cfg.kafka_port} (SASL_SSL) · postgresql "
                  f"127.0.0.1:{cfg.pg_port} · unsubscribe "
                  f"http://127.0.0.1:{cfg.unsubscribe_port}/unsubscribe · mail in "
                  f"{cfg.home / 'mail'}\nwebhooks: http://127.0.0.1:{cfg.ingest_port}"
                  "/webhooks/shop/purchase and /webhooks/helpdesk/message, signing secrets in "
                  f"{secrets_file}\nto produce as a system: eval \"$(consent stack env "
                  "marketing)\" (or ecommerce, support-desk, newsletter, preference-centre)")
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
