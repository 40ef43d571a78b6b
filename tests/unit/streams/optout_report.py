"""Lines the opt-out measurement leaves for the end of the test run (see ``conftest.py``).

Kept apart from the tests so the report appears whether or not pytest captures output (``-s``).
"""

REPORT: list[str] = []
