"""Sizes, rates, timeouts and topic names of a bench run: one place to read what a run does."""

BENCH_PORTS = {"kafka_port": 9492, "controller_port": 9493, "pg_port": 54333}

# the two-filter phase decides this many times `--requests`: its filters finish restoring up
# to a second apart, so on one backlog's worth they were rarely deciding at the same time
TWO_FILTER_BACKLOG_FACTOR = 3
DEFAULT_REPEAT = 3  # throughput phases and the loaded latency are repeated; the median wins
LATENCY_RATE = 5000.0  # offered load of the latency phase, requests/s (DESIGN.md)
LATENCY_SECONDS = 20.0
PACE_TICK_S = 0.002  # the latency phase offers its requests in ticks this long (still at `rate`)
LIGHT_RATE = 50.0  # the same at light load: the pipeline's own latency, without queueing
LIGHT_SECONDS = 10.0
OPT_OUT_PROBES = 200
OPT_OUT_RATE = 20.0  # probes/s: paced, so probes do not queue behind each other
# before the measured loaded runs, the same load and probes once, unmeasured: the broker's JIT
# compiles the paths they use then (bench/latency.py, `warm_up_at_load`)
LOAD_WARM_UP_S = OPT_OUT_PROBES / OPT_OUT_RATE
SINK_MAX_S = 180.0  # the sink phase stops measuring here (reported as "not caught up")
BACKLOG_EVENTS = 100_000  # consent events produced while the agent is down
MAILER_MAILS = 10_000  # outbox records the mailer phase sends
RESTORE_TIMEOUT_S = 900.0
PRELOAD_TIMEOUT_S = 3 * 3600.0
DECIDE_TIMEOUT_S = 1800.0
STOP_TIMEOUT_S = 60.0
PROGRESS_LINE_S = 60.0
SEED = 20261124

PASSTHROUGH_TOPIC = "bench-passthrough"
DECISION_TOPICS = {"mail-outbox": "forwarded", "mail-suppressed": "suppressed"}
SINK_TOPICS = ("consent-changes", "mail-outbox", "mail-suppressed", "dead-letters", "contacts",
               "consent-review")
BODY = "Hello,\n\nThis is a message from Example Software, sent by the benchmark.\n"
