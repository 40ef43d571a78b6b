"""The bench reads the filter's restore progress from its log, JSON (the daemons' default) or
text: a format it cannot read made the bench wait forever at phase 2."""

from pathlib import Path

from bench.restore import _replica_done

JSON = ('{"ts":"2026-12-03T22:19:46.210+00:00","level":"info","logger":"consent.streams.replica",'
        '"process":"filter","msg":"replica: partition 5 restored (166280 contacts)"}\n'
        '{"ts":"2026-12-03T22:19:46.268+00:00","level":"info","logger":"x","process":"filter",'
        '"msg":"something else"}\n')
TEXT = ("2026-12-03 22:19:46,276 INFO consent.streams.replica: replica: partition 4 restored "
        "(166653 contacts)\n")


def test_restore_lines_are_read_from_json_and_text_logs(tmp_path: Path) -> None:
    log = tmp_path / "filter.log"
    log.write_text(JSON + TEXT + "not a line of ours\n")
    found = _replica_done(log)
    assert [(p, n) for _t, p, n in found] == [(5, 166280), (4, 166653)]
    assert found[0][0] == 1796336386.21
