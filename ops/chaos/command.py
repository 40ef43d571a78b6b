"""`consent chaos`: start the servers (one broker or three), run, print, exit 1 unless zero."""

import json
import os
from dataclasses import replace
from pathlib import Path

from ops.chaos.plan import SHORT, Plan
from ops.chaos.run import print_report, run
from ops.supervisor import REPO_ROOT, LocalInfra

# Out of the way of `make up` (9092), the tests (9392), the demo and the bench.
CHAOS_PORTS = {"kafka_port": 9592, "controller_port": 9593, "pg_port": 54352}


def main(pairs: int | None, brokers: int, seed: int, short: bool, out: str | None) -> int:
    plan = SHORT if short else Plan()
    plan = replace(plan, seed=seed, broker_restart=plan.broker_restart and brokers > 1)
    if pairs:
        plan = replace(plan, pairs=pairs)
    instance = os.environ.get("CONSENT_CHAOS_INSTANCE", f"chaos{brokers}")
    ports = {k: int(os.environ.get(f"CONSENT_CHAOS_{k.upper()}", v))
             for k, v in CHAOS_PORTS.items()}

    def echo(line: str) -> None:
        print(line, flush=True)

    echo(f"starting {brokers} broker(s) and PostgreSQL (instance {instance}) ...")
    with LocalInfra(instance, **ports, secured=True, brokers=brokers) as infra:
        verdict, report = run(infra, plan, infra.instance_dir / "chaos-logs", echo)
    print_report(verdict, report, echo)
    path = Path(out) if out else REPO_ROOT / ".local" / instance / f"chaos-{report['tag']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    echo(f"report: {path}")
    return 1 if verdict.failed else 0


