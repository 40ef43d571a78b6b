"""Restoring the consent table of every contact after a restart, both places it lives.

- The consent agent, started with an empty state directory (a new machine, a lost disk),
  reads `consent-state` back into its RocksDB stores; it logs how many states it restored and
  how long that took, which is what this reports (and the wall time from process start).
- A send filter, started fresh, reads the verdicts of its partitions and every partition's
  progress marker; it counts as restored once it logs each partition restored.
"""

import re
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench.constants import RESTORE_TIMEOUT_S
from bench.errors import BenchError
from bench.state import Bench
from bench.stats import figure, per_second
from ops.supervisor import wait_until

AGENT_DONE = re.compile(r"restored (\d+) consent states in ([\d.]+)s")
REPLICA_DONE = re.compile(r"replica: partition (\d+) restored \((\d+) contacts\)")
TEXT_LINE = re.compile(r"^(\S+ \S+) \S+ \S+: (.*)$")
TEXT_TIME = "%Y-%m-%d %H:%M:%S,%f"


def _log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _lines(path: Path) -> list[tuple[float, str]]:
    """(wall-clock time, message) of each log line: the daemons' JSON lines (`ops.logs`), or
    text lines when CONSENT_LOG_FORMAT=text."""
    out = []
    for line in _log(path).splitlines():
        if line.startswith("{"):
            try:
                doc = orjson.loads(line)
                out.append((datetime.fromisoformat(doc["ts"]).timestamp(), str(doc["msg"])))
            except (orjson.JSONDecodeError, KeyError, ValueError):
                continue
        elif (m := TEXT_LINE.match(line)) is not None:
            when = datetime.strptime(m.group(1), TEXT_TIME).astimezone().timestamp()
            out.append((when, m.group(2)))
    return out


def _replica_done(path: Path) -> list[tuple[float, int, int]]:
    """(time, partition, contacts) of each "partition restored" line of a filter's log."""
    return [(when, int(m.group(1)), int(m.group(2))) for when, msg in _lines(path)
            if (m := REPLICA_DONE.search(msg)) is not None]


def restore_agent(bench: Bench) -> dict[str, Any]:
    state_dir = Path(bench.settings.data_dir) / bench.settings.app_id
    shutil.rmtree(state_dir, ignore_errors=True)
    started = time.time()
    comp = bench.start_agent("restore")
    wait_until(lambda: AGENT_DONE.search(_log(comp.log_path)) is not None, RESTORE_TIMEOUT_S,
               "the agent's restore", check=bench.check)
    wall = time.time() - started
    m = AGENT_DONE.search(_log(comp.log_path))
    if m is None:
        raise BenchError("agent restore line vanished")
    states, seconds = int(m.group(1)), float(m.group(2))
    bench.stop(comp)
    return {"states": states, "restore_s": round(seconds, 1),
            "states_per_s": figure(per_second(states, seconds)),
            "process_start_to_restored_s": round(wall, 1)}


def restore_filter(bench: Bench) -> dict[str, Any]:
    started = time.time()
    comp = bench.start_filter("restore")
    partitions = bench.settings.partitions

    def done() -> bool:
        return len({p for _t, p, _n in _replica_done(comp.log_path)}) >= partitions

    wait_until(done, RESTORE_TIMEOUT_S, "the filter's replica restore", check=bench.check)
    found = _replica_done(comp.log_path)
    # log lines carry wall-clock time, as time.time() does
    last = max(when for when, _p, _n in found)
    contacts = sum(n for _t, _p, n in found)
    bench.stop(comp)
    seconds = last - started
    return {"contacts": contacts, "process_start_to_restored_s": round(seconds, 1),
            "contacts_per_s": figure(per_second(contacts, seconds))}
