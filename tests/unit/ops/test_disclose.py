"""`consent disclose` refusals that need no server: missing reasons, the wrong identity,
personal data in the audit texts. The real path: tests/integration/test_disclosure.py."""

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from ops.cli import main
from ops.disclose import (
    DisclosureRefused,
    Request,
    check_dpo,
    check_no_personal_data,
    check_request,
    disclose,
)
from sinks.settings import SinkSettings

EMAIL = "Jane.Roe@Example.com"
PROFILE = ("jane.roe@example.com", "Jane Roe", "Roe Ltd", "+49 (30) 1234-567",
           "Hauptstr. 1, Berlin", "DE", ["shop"], None, None)
GOOD = Request(EMAIL, "Art. 6(1)(c) GDPR; s. 100 StPO", "4 Js 12/26", "Public prosecutor")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.upper().startswith("CONSENT_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("missing", [["--legal-basis"], ["--case-ref"], ["--authority"],
                                     ["--legal-basis", "--case-ref", "--authority"]])
def test_without_all_three_reasons_it_exits_2_before_anything(
        missing: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    given = {"--legal-basis": "court order", "--case-ref": "C-1", "--authority": "court"}
    argv = ["disclose", EMAIL, "--out", str(tmp_path / "x.json")]
    for flag, value in given.items():
        if flag not in missing:
            argv += [flag, value]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "required" in err and all(flag in err for flag in missing)
    assert "jane" not in err.lower() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("blank", ["legal_basis", "case_ref", "authority"])
def test_a_blank_reason_is_refused(blank: str) -> None:
    fields = {"email": EMAIL, "legal_basis": "x", "case_ref": "y", "authority": "z", blank: "  "}
    with pytest.raises(DisclosureRefused, match="--" + blank.replace("_", "-")):
        check_request(Request(**fields))


def test_reasons_are_trimmed() -> None:
    assert check_request(Request(EMAIL, " a ", "b\t", " c")) == Request(EMAIL, "a", "b", "c")


def test_only_the_dpo_principal_may_disclose(tmp_path: Path) -> None:
    with pytest.raises(DisclosureRefused, match="no client file"):
        check_dpo(SinkSettings())
    other = tmp_path / "marketing.properties"
    other.write_text("sasl.username=marketing\nsasl.password=pw\n")
    with pytest.raises(DisclosureRefused, match="principal 'marketing'") as info:
        check_dpo(SinkSettings(kafka_client_config=other))
    assert "dpo.properties" in str(info.value) and "pw" not in str(info.value)


def test_the_identity_is_checked_before_anything_is_read(tmp_path: Path) -> None:
    # a database that cannot be reached is never tried: the refusal comes first
    settings = SinkSettings(database_url=SecretStr("postgresql://u:p@127.0.0.1:1/none"),
                            key_secret=SecretStr("unit-test-secret"))
    with pytest.raises(DisclosureRefused, match="runs only as the DPO"):
        disclose(settings, GOOD, tmp_path / "out.json")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("field", "text", "what"), [
    ("legal_basis", "request about jane.roe@example.com", "the e-mail address"),
    ("case_ref", "JANE.ROE-2026", "local part"),
    ("authority", "Police, re: Jane Roe", "the name"),
    ("legal_basis", "caller 030 1234567", "the phone number"),
    ("authority", "hauptstr. 1, berlin office", "the postal address"),
])
def test_the_audit_texts_must_not_carry_the_persons_data(field: str, text: str,
                                                         what: str) -> None:
    req = Request(**{**GOOD.__dict__, field: text})
    with pytest.raises(DisclosureRefused, match="--" + field.replace("_", "-")) as info:
        check_no_personal_data(req, PROFILE)
    assert what in str(info.value) and text not in str(info.value)


def test_ordinary_texts_pass_with_or_without_a_profile() -> None:
    check_no_personal_data(GOOD, PROFILE)
    check_no_personal_data(GOOD, None)
