"""The verdict of a chaos run: the committed outputs judged against the driver's record.

`judge` is pure (outputs in, verdict out) so its rules are unit-tested on their own
(tests/unit/ops/test_chaos_verdict.py); `ops.chaos.outputs` gathers what it judges.
"""

from collections import Counter
from dataclasses import dataclass, field

from ops.chaos.driver import OptOut, Record


@dataclass
class Outputs:
    """What the pipeline committed, as its consumers see it (`read_committed`)."""

    outbox: list[tuple[str, float]] = field(default_factory=list)  # request id, record time
    suppressed: list[tuple[str, str, float]] = field(default_factory=list)  # id, reason, time
    dead: list[tuple[int, int, float]] = field(default_factory=list)  # mail-requests p, offset
    delivered: Counter[str] = field(default_factory=Counter)  # request id → SMTP deliveries
    # consent-state: contact key → {purpose: allowed}; None is a tombstone
    state: dict[str, dict[str, bool] | None] = field(default_factory=dict)
    current: dict[tuple[str, str], str] = field(default_factory=dict)  # PostgreSQL status
    erasures: set[str] = field(default_factory=set)
    sends: Counter[str] = field(default_factory=Counter)  # mail_sends state → rows


@dataclass
class Verdict:
    requests: int = 0
    forwarded: int = 0
    suppressed: int = 0
    dead_lettered: int = 0
    leaks: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    decided_twice: list[str] = field(default_factory=list)
    delivered_twice: list[str] = field(default_factory=list)
    controls_suppressed: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    sends: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> bool:
        """The five that must be zero (issue 11), and controls: a pipeline that suppresses
        everything has no leaks, so a consented contact's mail must also have gone."""
        return bool(self.leaks or self.lost or self.mismatches or self.decided_twice
                    or self.delivered_twice or self.controls_suppressed)

    def wait_quantile(self, q: float) -> float:
        if not self.waits:
            return 0.0
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, object]:
        return {
            "requests": self.requests, "forwarded": self.forwarded,
            "suppressed": self.suppressed, "dead_lettered": self.dead_lettered,
            "leaks": len(self.leaks), "lost_consent_changes": len(self.lost),
            "accounting_mismatches": len(self.mismatches),
            "decided_more_than_once": len(self.decided_twice),
            "delivered_more_than_once": len(self.delivered_twice),
            "controls_suppressed": len(self.controls_suppressed),
            "longest_wait_s": round(max(self.waits, default=0.0), 2),
            "p99_wait_s": round(self.wait_quantile(0.99), 2),
            "median_wait_s": round(self.wait_quantile(0.5), 2),
            "mail_sends": dict(self.sends),
        }


def judge(record: Record, out: Outputs, opt_outs: list[OptOut]) -> Verdict:
    v = Verdict(requests=len(record.offsets), sends=out.sends)
    decided: Counter[str] = Counter()
    decided_at: dict[str, float] = {}
    for rid, ts in out.outbox:
        decided[rid] += 1
        decided_at.setdefault(rid, ts)
        req = record.requests.get(rid)
        if req is not None and req.forbidden:
            v.leaks.append(f"{rid} ({req.kind}) forwarded after an acknowledged opt-out")
    for rid, reason, ts in out.suppressed:
        decided[rid] += 1
        decided_at.setdefault(rid, ts)
        req = record.requests.get(rid)
        if req is not None and req.kind == "control":
            v.controls_suppressed.append(f"{rid} suppressed ({reason})")
    v.forwarded = sum(1 for rid, _ in out.outbox if rid in record.requests)
    v.suppressed = sum(1 for rid, _, _ in out.suppressed if rid in record.requests)
    for rid, n in out.delivered.items():
        req = record.requests.get(rid)
        if req is None:
            continue
        if req.forbidden and not any(leak.startswith(f"{rid} ") for leak in v.leaks):
            v.leaks.append(f"{rid} ({req.kind}) delivered after an acknowledged opt-out")
        if n > 1:
            v.delivered_twice.append(f"{rid} delivered {n} times")
    dead = {(p, o): ts for p, o, ts in out.dead}
    # every record the broker acknowledged on mail-requests is accounted for exactly once:
    # decided by its request id, or dead-lettered by its position
    for (partition, offset), sent in record.offsets.items():
        lettered = (partition, offset) in dead
        if lettered:
            v.dead_lettered += 1
        n = decided.get(sent, 0) if sent is not None else 0
        if n + int(lettered) == 0:
            v.mismatches.append(f"{sent or 'hostile record'} at {partition}/{offset}: undecided")
        elif n + int(lettered) > 1:
            v.decided_twice.append(f"{sent} at {partition}/{offset}: {n} decisions"
                                   f"{' and a dead letter' if lettered else ''}")
        if sent is not None and sent in record.requests:
            acked = record.requests[sent].acked_at
            at = decided_at.get(sent, dead.get((partition, offset)))
            if at is not None and acked:
                v.waits.append(max(0.0, at - acked))
    v.lost = lost_changes(opt_outs, out)
    return v


def lost_changes(opt_outs: list[OptOut], out: Outputs) -> list[str]:
    """Each acknowledged opt-out must show in `consent-state` and in PostgreSQL."""
    lost = []
    for o in opt_outs:
        label = f"{o.contact_key[:12]}… ({o.channel})"
        if o.contact_key not in out.state:
            lost.append(f"{label}: no consent-state row")
        else:
            row = out.state[o.contact_key]
            if row is None:
                if not o.erased:
                    lost.append(f"{label}: consent-state tombstone without an erasure")
            elif any(row.get(p, True) for p in o.purposes):
                lost.append(f"{label}: consent-state still allows {_allowed(row, o)}")
        if o.erased and o.contact_key in out.erasures:
            continue
        statuses = {p: out.current.get((o.contact_key, p)) for p in o.purposes}
        if any(s is None or s == "allowed" for s in statuses.values()):
            lost.append(f"{label}: PostgreSQL {statuses}")
    return lost


def _allowed(row: dict[str, bool], o: OptOut) -> list[str]:
    return [p for p in o.purposes if row.get(p, True)]
