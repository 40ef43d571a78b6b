"""The materialised consent table, read where mail is decided: the send filter and the mailer.

A replica of the compacted `consent-state` topic (verdicts of the partitions a reader decides,
the agent's progress markers of all), the end offsets of the consent inputs, and the barrier
that waits until the replica covers everything acknowledged before a request. Both deciders
use the same code, so "decided on current consent" means the same thing at both.
"""
