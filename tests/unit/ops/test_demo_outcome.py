"""`make demo` waits until every request is accounted for: what counts as done for a mail."""

from collections import Counter

from ops.demo import Outcome


def _outcome(forwarded: int, sent: int, stopped: int = 0, failed: int = 0) -> Outcome:
    return Outcome(forwarded=forwarded, suppressed=Counter({"opted_out": 10}),
                   request_dead_letters=2, dead_letters=Counter(), sent=sent,
                   stopped_at_send=stopped, failed=failed)


def test_a_mail_stopped_at_send_is_settled_not_awaited() -> None:
    """A contact who opts out after the filter forwarded their mail is stopped by the mailer's
    last check: the demo hung ten minutes waiting for those 4 of 2,374 mails to be sent."""
    out = _outcome(forwarded=2374, sent=2370, stopped=4)
    assert out.settled(requests=2386, delivered=2370)


def test_unsent_mail_or_an_undecided_request_is_not_settled() -> None:
    assert not _outcome(forwarded=10, sent=9).settled(requests=22, delivered=9)
    assert not _outcome(forwarded=10, sent=10).settled(requests=23, delivered=10)
    assert not _outcome(forwarded=10, sent=10).settled(requests=22, delivered=9)  # in flight
    assert _outcome(forwarded=10, sent=9, failed=1).settled(requests=22, delivered=9)
