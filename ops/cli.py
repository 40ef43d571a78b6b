"""The `consent` command: one entry point for every component and operation.

Errors of our own (`ConsentError`) print one readable line and exit 2; anything else is a bug
and keeps its traceback.
"""

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from rich.console import Console

from schemas.exceptions import ConsentError

console = Console(stderr=True)

Handler = Callable[[argparse.Namespace], int]


def _worker(args: argparse.Namespace) -> int:
    from streams.settings import StreamSettings
    from streams.worker import run_agent

    run_agent(StreamSettings())
    return 0


def _filter(args: argparse.Namespace) -> int:
    from streams.settings import StreamSettings
    from streams.worker import run_filter

    run_filter(StreamSettings())
    return 0


def _topics_create(args: argparse.Namespace) -> int:
    from ops.topics import create_topics
    from streams.settings import StreamSettings

    for name, report in create_topics(StreamSettings()).items():
        changed = ", ".join(f"{k} {old or 'default'} -> {new}"
                            for k, (old, new) in sorted(report.changed.items()))
        console.print(f"{report.status:8} {name:32} retention {report.retention}"
                      + (f"  ({changed})" if changed else ""), markup=False, highlight=False,
                      soft_wrap=True)
    return 0


def _db_migrate(args: argparse.Namespace) -> int:
    from sinks.db import migrate
    from sinks.settings import SinkSettings

    applied = migrate(SinkSettings())
    console.print(f"migrations applied: {applied or 'none (up to date)'}")
    return 0


def _access_setup(args: argparse.Namespace) -> int:
    from ops.access import run_access_setup

    return run_access_setup(prune=args.prune, clients_dir=args.clients_dir)


def _sink(args: argparse.Namespace) -> int:
    from sinks.settings import SinkSettings

    settings = SinkSettings()
    if args.which == "postgres":
        from sinks.postgres_sink import run_postgres_sink

        run_postgres_sink(settings)
    else:
        from sinks.mailer import run_mailer

        run_mailer(settings)
    return 0


def _lookup(args: argparse.Namespace) -> int:
    from ops.lookup import run_lookup

    return run_lookup(args.email, as_json=args.json)


def _disclose(args: argparse.Namespace) -> int:
    from ops.disclose import run_disclose

    return run_disclose(args.email, args.legal_basis, args.case_ref, args.authority, args.out,
                        args.wait, console)


def _demo(args: argparse.Namespace) -> int:
    from ops.demo import run_demo

    return run_demo(contacts=args.contacts, requests=args.requests, seed=args.seed)


def _bench(args: argparse.Namespace) -> int:
    from bench import run_bench

    return run_bench(contacts=args.contacts, requests=args.requests, out_dir=args.out,
                     repeat=args.repeat)


def _chaos(args: argparse.Namespace) -> int:
    from ops.chaos.command import main

    return main(args.pairs, args.brokers, args.seed, args.short, args.out)


def _stack(args: argparse.Namespace) -> int:
    from ops import stack

    if args.op == "env":
        return stack.env(args.principal or "marketing")
    return {"up": stack.up, "down": stack.down, "status": stack.status,
            "supervise": stack.supervise}[args.op]()


def _smtp_capture(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ops.stack import smtp_capture

    return smtp_capture(args.port, Path(args.dir))


def _review(args: argparse.Namespace) -> int:
    from ops import review
    from sinks.settings import SinkSettings

    settings = SinkSettings()
    if args.verdict is None:
        review.render(review.open_items(settings), Console())
        return 0
    if args.review_id is None:
        raise ConsentError("which item? consent review confirm|reverse REVIEW_ID")
    event = review.decide(settings, args.review_id, args.verdict)
    console.print(f"sent {event['data']['all']} for review item {args.review_id} "
                  f"(event {event['event_id']}); the item closes when the pipeline applies it")
    return 0


def _import_suppressions(args: argparse.Namespace) -> int:
    from ops.importing import run_import

    return run_import(args.file)


def _unsubscribe_server(args: argparse.Namespace) -> int:
    from sources.settings import SourceSettings
    from sources.unsubscribe.app import run_unsubscribe_server

    run_unsubscribe_server(SourceSettings(), host=args.host, port=args.port)
    return 0


def _ingest_server(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from schemas.envelope import describe_validation_error
    from schemas.exceptions import ConfigError
    from sources.ingest.app import run_ingest_server
    from sources.settings import IngestSettings

    # pydantic's own messages would print the secrets they were given: say where, not what
    try:
        settings = IngestSettings()
    except ValidationError as exc:
        raise ConfigError("invalid webhook ingestion settings: "
                          f"{describe_validation_error(exc, trusted_keys=True)}") from None
    except SettingsError as exc:
        raise ConfigError(f"invalid webhook ingestion settings: {exc}") from None
    run_ingest_server(settings, host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="consent", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("worker", help="run the consent agent (consent events → consent table, "
                   "ledger, profiles)").set_defaults(func=_worker)
    sub.add_parser("filter", help="run the send filter (mail requests → outbox or suppressed)"
                   ).set_defaults(func=_filter)
    topics = sub.add_parser("topics", help="manage topics").add_subparsers(dest="op", required=True)
    topics.add_parser("create", help="create every topic (idempotent)").set_defaults(
        func=_topics_create)
    db = sub.add_parser("db", help="manage the PostgreSQL schema").add_subparsers(dest="op",
                                                                                 required=True)
    db.add_parser("migrate", help="apply pending SQL migrations").set_defaults(func=_db_migrate)
    access = sub.add_parser("access", help="Kafka users and ACLs (schemas/principals.py)"
                            ).add_subparsers(dest="op", required=True)
    acc = access.add_parser("setup", help="SCRAM users, ACLs and a client file per principal, "
                            "as the admin of CONSENT_KAFKA_CLIENT_CONFIG (idempotent)")
    acc.add_argument("--prune", action="store_true",
                     help="also delete ACLs of this prefix and app id the catalogue no longer has")
    acc.add_argument("--clients-dir", help="where client files go (default: next to the "
                     "admin's file)")
    acc.set_defaults(func=_access_setup)
    sink = sub.add_parser("sink", help="run a sink")
    sink.add_argument("which", choices=["postgres", "mailer"])
    sink.set_defaults(func=_sink)
    lk = sub.add_parser("lookup", help="current consent and history of one e-mail address")
    lk.add_argument("email")
    lk.add_argument("--json", action="store_true",
                    help="everything held on the person as one JSON document (access request)")
    lk.set_defaults(func=_lookup)
    dc = sub.add_parser("disclose", help="legal disclosure: export what is held on a person to "
                        "a file and record it (DPO only)")
    dc.add_argument("email")
    dc.add_argument("--legal-basis", required=True, help="the law or order requiring it")
    dc.add_argument("--case-ref", required=True, help="the authority's case reference")
    dc.add_argument("--authority", required=True, help="who receives the data")
    dc.add_argument("--out", help="the file to write (must not exist; default "
                    "./disclosure-<id>.json), mode 600")
    dc.add_argument("--wait", type=float, default=30.0,
                    help="seconds to wait until PostgreSQL shows the record (default 30)")
    dc.set_defaults(func=_disclose)
    rv = sub.add_parser("review", help="detected text an agent should confirm or reverse")
    rv.add_argument("verdict", nargs="?", choices=["confirm", "reverse"])
    rv.add_argument("review_id", nargs="?")
    rv.set_defaults(func=_review)
    demo = sub.add_parser("demo", help="start everything locally and drive realistic traffic")
    demo.add_argument("--contacts", type=int, default=400)
    demo.add_argument("--requests", type=int, default=4000)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=_demo)
    bench = sub.add_parser("bench", help="measure the send filter against a bare pass-through")
    bench.add_argument("--contacts", type=int, default=1_000_000)
    bench.add_argument("--requests", type=int, default=100_000)
    bench.add_argument("--out", default="bench/results")
    bench.add_argument("--repeat", type=int, default=3,
                       help="runs of the throughput phases; medians are reported")
    bench.set_defaults(func=_bench)
    ch = sub.add_parser("chaos", help="opt-out/request pairs under worker kills, rebalances, a "
                        "broker restart, a paused database and a killed mailer; exit 1 on a leak")
    ch.add_argument("--pairs", type=int, default=None, help="default 10,000 (--short: 1,000)")
    ch.add_argument("--brokers", type=int, choices=[1, 3], default=3)
    ch.add_argument("--seed", type=int, default=11)
    ch.add_argument("--short", action="store_true",
                    help="the make-test run: one worker kill and one rebalance only")
    ch.add_argument("--out", default=None, help="where to write the JSON report")
    ch.set_defaults(func=_chaos)
    st = sub.add_parser("stack", help="the whole pipeline in the background (make up/down)")
    st.add_argument("op", choices=["up", "down", "status", "supervise", "env"])
    st.add_argument("principal", nargs="?", help="for `env`: whose client file (marketing)")
    st.set_defaults(func=_stack)
    imp = sub.add_parser("import-suppressions",
                         help="load a CSV suppression list as explicit opt-outs (idempotent)")
    imp.add_argument("file")
    imp.set_defaults(func=_import_suppressions)
    un = sub.add_parser("unsubscribe-server", help="RFC 8058 one-click unsubscribe endpoint")
    un.add_argument("--host", default="127.0.0.1")
    un.add_argument("--port", type=int, default=8089)
    un.set_defaults(func=_unsubscribe_server)
    ing = sub.add_parser("ingest-server", help="signed webhooks from the shop and the support "
                         "desk → purchases and support")
    ing.add_argument("--host", default="127.0.0.1")
    ing.add_argument("--port", type=int, default=8090)
    ing.set_defaults(func=_ingest_server)
    cap = sub.add_parser("smtp-capture", help="an SMTP server that stores mail as .eml files")
    cap.add_argument("--port", type=int, default=8025)
    cap.add_argument("--dir", default=".local/dev/mail")
    cap.set_defaults(func=_smtp_capture)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from ops.logs import configure

    configure(args.command, os.environ.get("CONSENT_LOG_LEVEL", args.loglevel))
    handler: Handler = args.func
    try:
        code = handler(args)
    except ConsentError as exc:
        console.print(f"[red]error:[/red] {exc}")
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
