"""`consent access setup`: the subcommand that deploy/compose/setup.sh runs as the Kafka admin."""

import pytest

from ops import access, cli


def test_the_subcommand_reaches_run_access_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(access, "run_access_setup", lambda **kw: calls.append(kw) or 0)
    with pytest.raises(SystemExit) as info:
        cli.main(["access", "setup", "--prune", "--clients-dir", "/run/secrets/clients"])
    assert info.value.code == 0
    assert calls == [{"prune": True, "clients_dir": "/run/secrets/clients"}]
    default = cli.build_parser().parse_args(["access", "setup"])
    assert (default.prune, default.clients_dir) == (False, None)


def test_without_an_admin_file_it_says_so_and_exits_2(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CONSENT_KAFKA_CLIENT_CONFIG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.main(["access", "setup"])
    assert info.value.code == 2
    assert "CONSENT_KAFKA_CLIENT_CONFIG" in capsys.readouterr().err
