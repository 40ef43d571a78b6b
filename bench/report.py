"""The results of a run: the headline table on the console, and the JSON and Markdown files."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.display import console


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _join(values: list[int | None]) -> str:
    return ", ".join(_fmt(x) for x in values)


def _runs(result: dict[str, Any]) -> str:
    n = len(result.get("runs", []))
    return f"median of {n}: " if n > 1 else ""


def _p99s(result: dict[str, Any]) -> str:
    p99s = result.get("all_p99_ms", [])
    return f"  (p99 of each run: {', '.join(str(p) for p in p99s)})" if len(p99s) > 1 else ""


def _headline(doc: dict[str, Any]) -> list[tuple[str, str]]:
    sf, pt, lat, light = (doc["send_filter"], doc["passthrough"], doc["latency"],
                          doc["latency_light"])
    opt, sink, mem, pre = (doc["opt_out_enforcement"], doc["postgres_sink"], doc["memory"],
                           doc["preload"])
    restore, backlog, mailer, two = (doc["restore"], doc["backlog"], doc["mailer"],
                                     doc["two_filters"])
    warm = doc.get("latency_warm_up")
    runs = len(sf["runs"])
    med = "median of " + str(runs) + ": " if runs > 1 else ""
    peaks = ", ".join(f"{k.removesuffix('_peak_rss_mib')} {v}" for k, v in mem.items()
                      if k.endswith("_peak_rss_mib"))
    return [
        ("consent table size (contacts)", f"{pre['contacts']:,}"),
        ("consent agent, events/s (preload)", _fmt(pre["applied_events_per_s"])),
        ("send filter, requests/s",
         f"{med}{_fmt(sf['median_requests_per_s'])}  ({_join(sf['all_requests_per_s'])})"),
        ("pass-through ceiling, records/s",
         f"{med}{_fmt(pt['median_records_per_s'])}  ({_join(pt['all_records_per_s'])})"),
        ("ratio send filter / pass-through", f"{doc['ratio_send_filter_to_passthrough']}"),
        ("two send filters, requests/s while both decide",
         f"{_fmt(two.get('all_deciding_requests_per_s'))}  "
         f"({_fmt(two['requests_per_s'])} first decision to last)"),
        *([(f"warm-up at {lat['offered_rate_per_s']:.0f} req/s for {warm['seconds']:.0f} s, "
            "not measured: request p99 / opt-out p99, forwarded",
            f"{warm['p99_ms']} ms / {warm['probe_p99_ms']} ms, "
            f"{warm['forwarded_must_be_0']} of {warm['probes']}")] if warm else []),
        (f"request → decision at {light['offered_rate_per_s']:.0f} req/s, p50 / p99",
         f"{light['p50_ms']} ms / {light['p99_ms']} ms"
         + (" (saturated, see notes)" if light["saturated"] else "")),
        (f"request → decision at {lat['offered_rate_per_s']:.0f} req/s, p50 / p99",
         f"{_runs(lat)}{lat['p50_ms']} ms / {lat['p99_ms']} ms"
         + (" (saturated, see notes)" if lat["saturated"] else "") + _p99s(lat)),
        (f"opt-out ack → suppressed at {lat['offered_rate_per_s']:.0f} req/s, p50 / p99",
         f"{_runs(opt)}{opt['p50_ms']} ms / {opt['p99_ms']} ms" + _p99s(opt)),
        ("opt-out probes forwarded (must be 0)",
         f"{opt['forwarded_must_be_0']} of {opt['probes']}"),
        (f"consent backlog of {backlog['events']:,} events, worked through in",
         f"{backlog['agent_start_to_applied_s']} s "
         f"({_fmt(backlog['events_per_s_incl_startup'])}/s incl. start)"),
        (f"restore {restore['agent']['states']:,} contacts: agent / filter",
         f"{restore['agent']['restore_s']} s / "
         f"{restore['filter']['process_start_to_restored_s']} s"),
        ("PostgreSQL sink, rows/s",
         _fmt(sink["rows_per_s"]) + ("" if sink["caught_up"] else " (partial, see notes)")),
        ("mailer into local SMTP, mails/s", _fmt(mailer["mails_per_s"])),
        ("opt-out text detection, µs per message", f"{doc['detection']['median_us_per_message']}"),
        ("peak RSS (MiB)", peaks),
    ]


def print_results(doc: dict[str, Any]) -> None:
    table = Table(title=f"consent bench — {doc['machine']['hostname']}, {doc['started_at']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in _headline(doc):
        style = "red" if name.startswith("opt-out probes") and not value.startswith("0 ") else None
        table.add_row(name, value, style=style)
    console.print(table)
    floors = Table(title=f"issue 7's floors (for 1,000,000 contacts; this run: "
                         f"{doc['sizes']['contacts']:,})")
    for col in ("floor", "bound", "measured", "met"):
        floors.add_column(col)
    for line in doc.get("floors", []):
        met = {True: "yes", False: "NO", None: "not measured"}[line["met"]]
        floors.add_row(line["floor"], line["bound"], _fmt(line["measured"]), met,
                       style="red" if line["met"] is False else None)
    console.print(floors)
    m = doc["machine"]
    console.print(f"[dim]{m['cpu_model']}, {m['cpu_cores']} cores, {m['memory_gib']} GiB, "
                  f"Python {m['python']}, Kafka {m['kafka']}, commit {m['git_commit'][:12]}"
                  f"{' (dirty)' if m['git_dirty'] else ''}[/dim]")
    for note in doc["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")


def write_results(doc: dict[str, Any], out_dir: Path, now: datetime, host: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{host}"
    jpath, mpath = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    jpath.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    m, z = doc["machine"], doc["sizes"]
    lines = [
        f"# consent bench — {host}, {doc['started_at']}",
        "",
        f"Sizes: {z['contacts']:,} contacts, {z['requests']:,} requests per throughput run, "
        f"{z['repeat']} run(s); latency at {z['light_rate_per_s']:.0f} req/s for "
        f"{z['light_seconds']:.0f} s and {z['latency_rate_per_s']:.0f} req/s for "
        f"{z['latency_seconds']:.0f} s; {z['opt_out_probes']} opt-out probes at "
        f"{z['opt_out_probes_per_s']:.0f}/s; "
        f"{z['partitions']} partitions. Total run time {doc['duration_s']:.0f} s. How to read "
        "this: "
        "bench/README.md.",
        "",
        "| measure | value |",
        "|---|---:|",
        *[f"| {k} | {v} |" for k, v in _headline(doc)],
        "",
        f"## Issue 7's floors (set for 1,000,000 contacts; this run: {z['contacts']:,})",
        "",
        "| floor | bound | measured | met |",
        "|---|---|---:|---|",
        *[f"| {f['floor']} | {f['bound']} | {_fmt(f['measured'])} | "
          f"{ {True: 'yes', False: '**no**', None: 'not measured'}[f['met']] } |"
          for f in doc.get("floors", [])],
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu_model']}, {m['cpu_cores']} cores ({m['cpu_cores_usable']} usable)",
        f"- Memory: {m['memory_gib']} GiB; OS: {m['os']}",
        f"- Python {m['python']}; Kafka {m['kafka']}; {m['java']}",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- Commit: {m['git_commit']}{' (with uncommitted changes)' if m['git_dirty'] else ''}",
        "",
        "## Details",
        "",
    ]
    for section in ("preload", "restore", "send_filter", "passthrough", "two_filters",
                    "latency_warm_up", "latency_light", "latency", "opt_out_enforcement",
                    "backlog", "postgres_sink", "mailer", "detection", "memory", "processes"):
        if section not in doc:
            continue
        lines += [f"### {section}", "", "```json", json.dumps(doc[section], indent=2), "```", ""]
    lines += ["## Notes", "", *[f"- {n}" for n in doc["notes"]], ""]
    mpath.write_text("\n".join(lines), encoding="utf-8")
    return [jpath, mpath]
