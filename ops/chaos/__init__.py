"""`consent chaos` / `make chaos`: the guarantees under the faults an operator meets.

Why a tool and not only tests: the faults that matter come together on a live pipeline — a
worker SIGKILLed while a second one joins, a broker gone while the sink waits on a paused
database, a mailer killed mid-send — and an SRE wants to rerun exactly that against their own
build, for as long as they like, and read one verdict. The tool drives opt-out → mail-request
pairs and background traffic through every channel, injects the faults on a schedule, and then
judges from the committed outputs and its own record of what the broker acknowledged
(`ops.chaos.verdict`), never from the pipeline's own opinion of itself.
"""
