"""What detection answers: an outcome, the rule that decided it, and where in the text.

Kept apart from the engine so that language modules and callers can import these names without
importing the engine (no import cycle through ``streams.optout``).
"""

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """The three answers issue 8 asks for, each with a different effect downstream."""

    OPT_OUT = "opt_out"  # suppress marketing
    POSSIBLE_OPT_OUT = "possible_opt_out"  # suppress too (err towards not mailing) + review item
    RESUBSCRIBE = "resubscribe"  # never suppresses, never grants: review item only


@dataclass(frozen=True, slots=True)
class Detection:
    """Evidence for a decision taken from free text, safe to store in the ledger.

    It holds no text from the message (support texts carry personal data): ``rule`` is a stable
    id ``"<lang>.<name>"`` from a fixed set, ``language`` the ISO 639-1 code of that rule (not a
    language detection of the message), and ``span`` the character offsets ``[start, end)`` of
    the match in the *original* text, so a reviewer holding the ticket can see what matched.
    """

    outcome: Outcome
    rule: str
    language: str
    span: tuple[int, int]
