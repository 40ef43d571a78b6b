"""The `consent import-suppressions` command: check the whole file, then send, then report.

Why the order: a file is read and checked to its last line before a producer even exists, so
a file that cannot be imported sends nothing and needs no broker to say so. Progress goes to
stderr; the report (a table and one `imported=… duplicates_in_file=… rejected=…` line) to
stdout. No message quotes a line's content; file names and reasons are shown through
`ops.terminal`, so a hostile file name cannot drive the terminal either.

Exit codes: 0 imported (rejected lines, if any, are in the report); 2 nothing imported (the
file is unusable or has malformed lines) or the broker did not acknowledge every event.
"""

from contextlib import suppress
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from ops.terminal import markup_safe, visible
from schemas.contact import check_key_secret
from schemas.settings import ClientSettings
from sources.producer import EventProducer, ProduceError
from sources.suppression_import import (
    FileRefused,
    ImportError_,
    ImportReport,
    check_file,
    send_checked,
)

SHOWN_LINE_NUMBERS = 20


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:SHOWN_LINE_NUMBERS]))
    more = len(numbers) - SHOWN_LINE_NUMBERS
    return shown + (f" … and {more} more" if more > 0 else "")


def report_table(name: str, report: ImportReport, *, sent: bool) -> Table:
    """Imported, duplicates, and each rejection reason with its count and line numbers."""
    table = Table(title=f"import of {markup_safe(name)}", caption=f"encoding: {report.encoding}")
    table.add_column("result")
    table.add_column("lines", justify="right")
    table.add_column("line numbers", overflow="fold")
    imported = "imported as explicit opt-outs (acknowledged)" if sent else \
        "valid, not sent (the file was refused)"
    table.add_row(imported, str(report.imported if sent else report.valid), "")
    table.add_row("duplicates within the file", str(report.duplicates_in_file), "")
    for reason, n in sorted(report.rejected.items()):
        table.add_row(Text(f"rejected: {visible(reason)}"), str(n),
                      _lines(report.lines_by_reason[reason]))
    return table


def print_report(name: str, report: ImportReport, *, sent: bool, out: Console) -> None:
    out.print(report_table(name, report, sent=sent))
    rejected = sum(report.rejected.values())
    print(f"imported={report.imported} duplicates_in_file={report.duplicates_in_file} "
          f"rejected={rejected}", flush=True)
    if report.rejected_lines:
        out.print(f"rejected line numbers: {_lines(report.rejected_lines)}", soft_wrap=True)


def run_import(file: str, settings: ClientSettings | None = None) -> int:
    settings = settings or ClientSettings()
    secret = settings.key_secret.get_secret_value()
    check_key_secret(secret, settings.environment)
    path = Path(file)
    err, out = Console(stderr=True, soft_wrap=True), Console()
    label = markup_safe(path.name)
    try:
        with Progress(console=err) as progress:
            task = progress.add_task(f"checking {label}", total=None)
            checked = check_file(path, secret, progress=lambda line, lines: progress.update(
                task, completed=line, total=lines))
    except FileRefused as exc:
        print_report(path.name, exc.report, sent=False, out=out)
        err.print(Text(f"error: {visible(exc)}", style="red"))
        return 2
    except ImportError_ as exc:
        err.print(Text(f"error: {visible(exc)}", style="red"))
        return 2
    producer = EventProducer(settings)
    try:
        with Progress(console=err) as progress:
            task = progress.add_task(f"sending {label}", total=checked.report.valid)
            report = send_checked(checked, producer, progress=lambda: progress.advance(task))
    except ProduceError as exc:
        err.print(Text(f"error: {visible(exc)}; importing the same file again is safe (it is "
                       "idempotent)", style="red"))
        return 2
    finally:
        with suppress(ProduceError):  # after a failure above, that one is the error to report
            producer.close()
    print_report(path.name, report, sent=True, out=out)
    return 0
