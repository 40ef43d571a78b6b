"""Wire contracts of the consent pipeline: events, records, the contact key.

Everything an integrator relies on lives here, so that `streams` and `sinks` depend on
`schemas` and never on each other's internals.
"""
