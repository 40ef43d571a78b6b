"""Hand-written corpora for free-text opt-out detection (``streams.optout``).

``dev`` is the development corpus: rules are written and tuned against it, so its figures are a
regression check. ``held_out`` is never used to write or tune rules: its figures are the
estimate of accuracy on phrasings the rules were not fitted to.
"""
