"""One pipeline deployment on a local stack: its names, its secrets, each process's environment.

Why one place: the environment of a pipeline (which Kafka principal and PostgreSQL role each
process runs as, the topic prefix, the app id, the key secret) used to be assembled four times,
by the demo, the bench, the tests and `make up`, and they drifted. Everything that starts
pipeline processes asks a `Deployment` for their environment, so every one of them runs
authenticated, as the principal and role of its own, with the secret of its stack.

Who runs as what (README, "Security and data protection"):

| process | Kafka principal | PostgreSQL role |
|---|---|---|
| `consent worker`, `consent filter` | worker | — |
| `consent sink postgres` | postgres-sink | consent_sink |
| `consent sink mailer` | mailer | consent_mailer |
| `consent unsubscribe-server` | unsubscribe | consent_unsubscribe (the preference centre's read) |
| `consent ingest-server` | ingest | — |
| `consent lookup`, `consent review` (listing) | — | consent_reader |
| `consent review confirm/reverse`, `import-suppressions` | preference-centre | consent_reader |
| `consent disclose` | dpo | consent_dpo |

The admin principal and the migration owner are used by setup (topics, ACLs, migrations) and
by the test and bench drivers that play every producer at once — never by a pipeline process.
"""

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.access import setup_access
from ops.supervisor import LocalInfra
from ops.topics import create_topics
from schemas.settings import ClientSettings
from sinks.db import migrate
from sinks.settings import SinkSettings
from streams.settings import StreamSettings

# process kind -> (Kafka principal, PostgreSQL role)
IDENTITIES: dict[str, tuple[str | None, str | None]] = {
    "worker": ("worker", None),
    "filter": ("worker", None),
    "postgres-sink": ("postgres-sink", "consent_sink"),
    "mailer": ("mailer", "consent_mailer"),
    "unsubscribe-server": ("unsubscribe", "consent_unsubscribe"),
    "ingest-server": ("ingest", None),
    "lookup": (None, "consent_reader"),
    "review": ("preference-centre", "consent_reader"),
    "import": ("preference-centre", None),
    "disclose": ("dpo", "consent_dpo"),
    "smtp-capture": (None, None),
}
KEY_SECRET_FILE = "key_secret"  # noqa: S105 - a file name, not a secret
INGEST_SECRETS_FILE = "ingest_secrets.json"  # noqa: S105 - a file name, not a secret
INGEST_SOURCES = ("shop", "helpdesk")
"""The webhook sources a local stack signs for (`IngestSettings.ingest_sources`' defaults)."""


def _generated(path: Path, make: Callable[[], str]) -> str:
    """A private file's text, written (mode 600, atomically) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(make(), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text(encoding="utf-8").strip()


def key_secret(instance_dir: Path) -> str:
    """The stack's contact-key secret: generated on first use, kept in the instance folder.

    Never the published development value: with it, keys are reversible and anyone can forge
    unsubscribe links.
    """
    return _generated(instance_dir / KEY_SECRET_FILE, lambda: secrets.token_urlsafe(32))


def ingest_secrets(instance_dir: Path) -> dict[str, str]:
    """The stack's webhook signing secrets, one per source, in the instance folder.

    Generated like the key secret, so no stack accepts webhooks signed with a published value;
    an integrator trying `make up` signs with the one in `.local/<instance>/ingest_secrets.json`.
    """
    text = _generated(instance_dir / INGEST_SECRETS_FILE, lambda: json.dumps(
        {source: secrets.token_urlsafe(32) for source in INGEST_SOURCES}, indent=2))
    return dict(json.loads(text))


@dataclass
class Deployment:
    infra: LocalInfra
    prefix: str
    app_id: str
    db_schema: str
    data_dir: Path
    settings_env: dict[str, str] = field(default_factory=dict)
    """More `CONSENT_*` settings every process and setup share (e.g. a short retention)."""

    @property
    def key_secret(self) -> str:
        return key_secret(self.infra.instance_dir)

    @property
    def ingest_secrets(self) -> dict[str, str]:
        return ingest_secrets(self.infra.instance_dir)

    def base_env(self) -> dict[str, str]:
        env = {
            "CONSENT_KAFKA_BOOTSTRAP": self.infra.bootstrap,
            "CONSENT_TOPIC_PREFIX": self.prefix,
            "CONSENT_APP_ID": self.app_id,
            "CONSENT_DB_SCHEMA": self.db_schema,
            "CONSENT_DATA_DIR": str(self.data_dir),
            "CONSENT_KEY_SECRET": self.key_secret,
            "CONSENT_REPLICATION_FACTOR": str(self.infra.replication_factor),
            **self.settings_env,
        }
        return env

    def env_for(self, kind: str) -> dict[str, str]:
        """The environment of one process kind: its principal's file and its role's DSN."""
        principal, role = IDENTITIES[kind]
        env = self.base_env()
        if principal is not None and self.infra.secured:
            env["CONSENT_KAFKA_CLIENT_CONFIG"] = str(self.infra.client_config(principal))
        if role is not None:
            env["CONSENT_DATABASE_URL"] = (self.infra.role_url(role) if self.infra.secured
                                           else self.infra.database_url)
        if kind == "ingest-server":  # only the process that verifies webhooks holds their secrets
            env["CONSENT_INGEST_SECRETS"] = json.dumps(self.ingest_secrets)
        return env

    def _fields(self) -> dict[str, Any]:
        shared = {k.removeprefix("CONSENT_").lower(): v for k, v in self.settings_env.items()}
        return {**shared, "kafka_bootstrap": self.infra.bootstrap, "topic_prefix": self.prefix,
                "key_secret": self.key_secret, "replication_factor": self.infra.replication_factor,
                "kafka_client_config": self.infra.admin_config if self.infra.secured else None}

    def admin_settings(self) -> StreamSettings:
        """For drivers playing every producer (tests, demo traffic, bench load) and setup."""
        return StreamSettings(**self._fields(), app_id=self.app_id, data_dir=self.data_dir)

    def admin_client(self) -> ClientSettings:
        return ClientSettings(**self._fields())

    def owner_sink_settings(self) -> SinkSettings:
        """Migrations and the drivers' own checks in PostgreSQL run as the owner."""
        return SinkSettings(**self._fields(), database_url=self.infra.database_url,
                            db_schema=self.db_schema)

    def setup(self) -> None:
        """Topics, users and ACLs for this prefix and app id, and the migrated schema."""
        admin = self.admin_settings()
        create_topics(admin)
        if self.infra.secured:
            setup_access(admin, self.prefix, self.app_id, self.infra.clients_dir)
        migrate(self.owner_sink_settings())
