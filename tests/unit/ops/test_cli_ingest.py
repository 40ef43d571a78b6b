"""`consent ingest-server`: its arguments, and settings errors that never print a secret."""

import pytest

from ops import cli


def test_the_subcommand_takes_host_and_port() -> None:
    args = cli.build_parser().parse_args(["ingest-server", "--host", "0.0.0.0", "--port", "8091"])
    assert (args.func, args.host, args.port) == (cli._ingest_server, "0.0.0.0", 8091)
    default = cli.build_parser().parse_args(["ingest-server"])
    assert (default.host, default.port) == ("127.0.0.1", 8090)


@pytest.mark.parametrize("secrets", ['{"shop": ["s3cr3t-signing-value-0123456789"]}',
                                     '{"shop": "s3cr3t-signing-value-0123456789'])
def test_bad_settings_exit_2_without_printing_the_secret(secrets: str,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CONSENT_KEY_SECRET", "cli-test-key-secret")
    monkeypatch.setenv("CONSENT_INGEST_SECRETS", secrets)
    with pytest.raises(SystemExit) as info:
        cli.main(["ingest-server", "--port", "1"])
    out = capsys.readouterr()
    assert info.value.code == 2
    assert "invalid webhook ingestion settings" in out.err
    assert "s3cr3t" not in out.err + out.out
