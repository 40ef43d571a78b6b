"""Opt-out probes time an opt-out only if their contact had not opted out before."""

import random

from bench.contacts import opted_out_at_purchase
from bench.opt_out_probes import probe_contacts


def test_no_contact_is_probed_twice_across_runs() -> None:
    """A repeated contact is already suppressed, so its probe would time nothing."""
    rng, used = random.Random(7), set[int]()
    runs = [probe_contacts(rng, 2_000, 200, used) for _ in range(4)]  # warm-up and 3 runs
    probed = [i for run in runs for i in run]
    assert [len(run) for run in runs] == [200, 200, 200, 200]
    assert len(set(probed)) == len(probed) == 800
    assert not any(opted_out_at_purchase(i) for i in probed)
    assert used == set(probed)


def test_a_small_table_gives_fewer_probes_rather_than_repeats() -> None:
    rng, used = random.Random(7), set[int]()
    first = probe_contacts(rng, 50, 40, used)
    second = probe_contacts(rng, 50, 40, used)
    assert not set(first) & set(second)
    assert len(first) + len(second) <= 50
