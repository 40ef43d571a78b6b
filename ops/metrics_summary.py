"""A few lines an operator reads after `make demo`, from the processes' own /metrics.

Scraped over HTTP exactly as Prometheus would, so the summary also proves the endpoints are
up and export what the dashboard (deploy/grafana/) and the alerts (deploy/prometheus/) query.
"""

import urllib.request
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(urls: dict[str, str], timeout: float = 5.0) -> tuple[Samples, list[str]]:
    """Every sample of every endpoint, by sample name; and the endpoints that did not answer."""
    samples: Samples = defaultdict(list)
    failed = []
    for name, url in urls.items():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - local URL
                text = resp.read().decode()
        except OSError:
            failed.append(name)
            continue
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                samples[s.name].append((dict(s.labels), s.value))
    return samples, failed


def total(samples: Samples, name: str, **match: str) -> float:
    return sum(v for labels, v in samples.get(name, [])
               if all(labels.get(k) == want for k, want in match.items()))


def mean(samples: Samples, histogram: str) -> float | None:
    count = total(samples, f"{histogram}_count")
    return total(samples, f"{histogram}_sum") / count if count else None


def summary_rows(samples: Samples) -> list[tuple[str, str]]:
    """(measure, value) lines; a histogram with no observations shows as "–"."""

    def secs(name: str) -> str:
        m = mean(samples, name)
        return "–" if m is None else f"{m * 1000:.0f} ms"

    return [
        ("events applied (consent_events_total)",
         f"{total(samples, 'consent_events_total'):.0f}"),
        ("requests forwarded / suppressed (consent_mail_decisions_total)",
         f"{total(samples, 'consent_mail_decisions_total', outcome='forwarded'):.0f} / "
         f"{total(samples, 'consent_mail_decisions_total', outcome='suppressed'):.0f}"),
        ("dead letters (consent_dead_letters_total)",
         f"{total(samples, 'consent_dead_letters_total'):.0f}"),
        ("opt-out event time → enforced, mean (consent_opt_out_enforced_seconds)",
         secs("consent_opt_out_enforced_seconds")),
        ("request → decision, mean (consent_request_decision_seconds)",
         secs("consent_request_decision_seconds")),
        ("rows written to PostgreSQL (consent_sink_rows_total)",
         f"{total(samples, 'consent_sink_rows_total'):.0f}"),
        ("mails sent / stopped at send (consent_mails_total, consent_mails_stopped_at_send_total)",
         f"{total(samples, 'consent_mails_total', state='sent'):.0f} / "
         f"{total(samples, 'consent_mails_stopped_at_send_total'):.0f}"),
    ]
