"""What a chaos run does and when: the pairs to drive and the faults, as fractions of the run."""

from dataclasses import dataclass

WORKER_KILL = "worker-kill"
WORKER_JOIN = "worker-join"
WORKER_LEAVE = "worker-leave"
BROKER_RESTART = "broker-restart"
POSTGRES_PAUSE = "postgres-pause"
MAILER_KILL = "mailer-kill"


@dataclass(frozen=True)
class Plan:
    """`pairs` opt-out → request pairs in waves of `batch`; faults at fixed points of the run.

    The long run (`make chaos`) takes every fault on three brokers; the short run in `make test`
    keeps one worker kill and one rebalance each way, on the suite's single broker.
    """

    pairs: int = 10_000
    batch: int = 50
    pairs_per_s: float = 60.0
    """the pace: slow enough that every fault lands in live traffic and recovers before the
    next, fast enough that a backlog builds while a worker or the broker is away"""
    seed: int = 11
    worker_kills: int = 1
    rebalance: bool = True
    broker_restart: bool = True
    broker_down_s: float = 20.0
    postgres_pause_s: float = 10.0
    mailer_kill: bool = True
    hostile_every: int = 10
    """every this many waves, a burst of hostile input (malformed records, address tricks)"""
    drain_timeout_s: float = 600.0

    def schedule(self) -> list[tuple[float, str]]:
        """(fraction of pairs sent, fault), in order. Spread so each lands in live traffic
        and the pipeline has recovered from one before the next begins."""
        faults: list[tuple[float, str]] = []
        for n in range(self.worker_kills):
            faults.append((0.15 + 0.5 * n / max(1, self.worker_kills), WORKER_KILL))
        if self.rebalance:
            faults += [(0.30, WORKER_JOIN), (0.55, WORKER_LEAVE)]
        if self.broker_restart:
            faults.append((0.40, BROKER_RESTART))
        if self.postgres_pause_s > 0:
            faults.append((0.65, POSTGRES_PAUSE))
        if self.mailer_kill:
            faults.append((0.80, MAILER_KILL))
        return sorted(faults)


SHORT = Plan(pairs=1_000, batch=25, pairs_per_s=50.0, broker_restart=False, postgres_pause_s=0.0,
             mailer_kill=False, drain_timeout_s=240.0)
"""The run in `make test`: at least 1,000 pairs, one worker kill, one rebalance each way."""
