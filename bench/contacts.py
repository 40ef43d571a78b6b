"""The synthetic contacts of a run: their addresses and which of them opted out at purchase."""

OPT_OUT_EVERY = 10  # contact i opted out at purchase when i % OPT_OUT_EVERY == OPT_OUT_REMAINDER
OPT_OUT_REMAINDER = 3


def contact_email(i: int) -> str:
    return f"bench{i}@bench.example"


def opted_out_at_purchase(i: int) -> bool:
    return i % OPT_OUT_EVERY == OPT_OUT_REMAINDER
