"""Where each process serves Prometheus `/metrics`: a contract with dashboards and alerts.

Every long-running process serves its metrics by default, each kind on its own documented
port (`DEFAULT_PORTS`, on 127.0.0.1), so `make up` needs no configuration and Prometheus
(`deploy/prometheus/`) knows where to look. `CONSENT_METRICS_PORT` moves it; `0` turns it off.
A port already taken is logged and the process goes on: a component that decides correctly
but cannot be scraped is better than one that does not run (the scrape alert fires).
"""

import logging

from prometheus_client import CollectorRegistry, start_http_server

log = logging.getLogger("consent.metrics")

DEFAULT_PORTS: dict[str, int] = {
    "supervisor": 9300,
    "worker": 9301,
    "filter": 9302,
    "postgres-sink": 9303,
    "mailer": 9304,
}
"""The HTTP endpoints (unsubscribe, ingestion) serve /metrics on their own port instead."""


def serve(registry: CollectorRegistry, port: int | None, kind: str) -> int:
    """Serve `registry` on 127.0.0.1; returns the port, or 0 when off or not possible."""
    chosen = DEFAULT_PORTS.get(kind, 0) if port is None else port
    if not chosen:
        return 0
    try:
        start_http_server(chosen, addr="127.0.0.1", registry=registry)
    except OSError as exc:
        log.error("cannot serve /metrics on 127.0.0.1:%s (%s); running without", chosen,
                  exc.strerror)
        return 0
    log.info("metrics on http://127.0.0.1:%s/metrics", chosen)
    return chosen
