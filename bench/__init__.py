"""`consent bench`: the numbers of DESIGN.md "Performance", measured in one run on a local broker.

Why it is built this way (bench/README.md explains how to read the results):
- Everything runs against real processes (broker, PostgreSQL, `consent worker`, `consent sink
  postgres`), started by the same context managers as the demo, so they are stopped on failure
  too and the numbers include every serialisation and network hop production pays for.
- Throughput is measured on a backlog: the requests are produced and acknowledged while no
  worker runs, then the worker starts and drains them. Rates are taken from the broker's append
  timestamps (LogAppendTime) of the first and the last output record, so worker start-up and
  the bench's own consumer lag do not count; the figure that includes start-up is reported too.
- The ceiling is a bare confluent-kafka consume→produce loop over exactly the same input
  records, measured the same way, so the ratio isolates what the send filter itself costs.
- Each run uses fresh topics, app id, database schema and worker state, and deletes them at the
  end: a run never sees an earlier run's data.

Layout: `run` drives the phases in order; `state.Bench` holds what they share; one module per
phase (`preload`, `throughput`, `passthrough`, `latency`, `opt_out_probes`, `postgres_sink`);
`watcher` observes decisions and worker metrics; `report` prints and writes the results.
"""

from bench.errors import BenchError
from bench.run import run_bench

__all__ = ["BenchError", "run_bench"]
