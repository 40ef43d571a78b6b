"""The policy file: the shipped default, and clear errors for invalid policies."""

import difflib
import re
from pathlib import Path

import pytest

from schemas.exceptions import ConsentError
from schemas.purposes import MARKETING_PURPOSES, Purpose
from streams.policy import DEFAULT_POLICY, Policy, PolicyError, load_policy, parse_policy

DEFAULT_TEXT = DEFAULT_POLICY.read_text(encoding="utf-8")


def set_regime(text: str, purpose: str, regime: str) -> str:
    """The one-line edit a lawyer would make: the `regime` line under [purposes.<purpose>]."""
    pattern = re.compile(rf"(\[purposes\.{purpose}\][^\[]*?)regime = \"opt_out\"", re.S)
    new, count = pattern.subn(rf'\1regime = "{regime}"', text)
    assert count == 1, f"no regime line for {purpose} in the default policy"
    return new


def drop_section(text: str, header: str) -> str:
    new = re.sub(rf"^\[{re.escape(header)}\]\n(?:(?!\[).*\n)*", "", text, flags=re.M)
    assert new != text
    return new


def policy_error(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    return str(info.value)


# --- the shipped policy ----------------------------------------------------------------------


def test_default_policy_loads() -> None:
    policy = load_policy()
    assert isinstance(policy, Policy)
    assert policy.version
    assert set(policy.purposes) == set(Purpose)


def test_default_policy_is_the_seed_policy() -> None:
    policy = load_policy()
    for purpose in MARKETING_PURPOSES:
        assert policy.rule(purpose).regime == "opt_out", purpose
        assert not policy.rule(purpose).transactional
    assert policy.rule(Purpose.TRANSACTIONAL).transactional
    assert policy.double_opt_in
    assert policy.rule(Purpose.NEWSLETTER).confirmation == "double"
    assert {"purchase.completed", "support.message_received", "newsletter.confirmed"} <= set(
        policy.relationship.sources
    )
    assert "newsletter.signup" not in policy.relationship.sources  # unconfirmed != relationship


def test_load_policy_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "strict.toml"
    path.write_text(set_regime(DEFAULT_TEXT, "special_offers", "opt_in"), encoding="utf-8")
    assert load_policy(path).rule(Purpose.SPECIAL_OFFERS).regime == "opt_in"


def test_missing_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyError, match="cannot read policy file") as info:
        load_policy(missing)
    assert "nope.toml" in str(info.value)
    assert isinstance(info.value, ConsentError)


def test_invalid_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("version = ", encoding="utf-8")
    with pytest.raises(PolicyError, match="TOML"):
        load_policy(path)


# --- switching a purpose to opt_in is a one-line change ------------------------------------


@pytest.mark.parametrize("purpose", [p.value for p in MARKETING_PURPOSES])
def test_opt_in_is_a_one_line_change(purpose: str) -> None:
    strict_text = set_regime(DEFAULT_TEXT, purpose, "opt_in")
    changed = [
        line
        for line in difflib.unified_diff(DEFAULT_TEXT.splitlines(), strict_text.splitlines(), n=0)
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert changed == ['-regime = "opt_out"', '+regime = "opt_in"']
    default, strict = parse_policy(DEFAULT_TEXT), parse_policy(strict_text)
    for p in Purpose:
        expected = "opt_in" if p.value == purpose else default.rule(p).regime
        assert strict.rule(p).regime == expected, p
    assert strict.double_opt_in == default.double_opt_in


def test_single_opt_in_newsletter() -> None:
    text = DEFAULT_TEXT.replace('confirmation = "double"', 'confirmation = "single"')
    assert not parse_policy(text).double_opt_in


# --- invalid policies give clear messages ---------------------------------------------------


@pytest.mark.parametrize("purpose", [p.value for p in Purpose])
def test_missing_purpose_is_named(purpose: str) -> None:
    message = policy_error(drop_section(DEFAULT_TEXT, f"purposes.{purpose}"))
    assert "missing" in message
    assert purpose in message


def test_unknown_regime_is_refused() -> None:
    text = DEFAULT_TEXT.replace('regime = "opt_out"', 'regime = "soft_opt_in"', 1)
    message = policy_error(text)
    assert "purposes.product_updates.regime" in message
    assert "opt_out" in message and "opt_in" in message


def test_unknown_confirmation_is_refused() -> None:
    text = DEFAULT_TEXT.replace('confirmation = "double"', 'confirmation = "triple"')
    assert "purposes.newsletter.confirmation" in policy_error(text)


@pytest.mark.parametrize("purpose", [p.value for p in MARKETING_PURPOSES])
def test_transactional_flag_on_a_marketing_purpose_is_refused(purpose: str) -> None:
    header = f"[purposes.{purpose}]\n"
    text = DEFAULT_TEXT.replace(header, header + "transactional = true\n")
    message = policy_error(text)
    assert "transactional" in message
    assert purpose in message


def test_transactional_purpose_must_be_marked_transactional() -> None:
    text = DEFAULT_TEXT.replace("transactional = true", "transactional = false")
    assert "transactional = true" in policy_error(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("version = \n[relationship]\n", id="dangling-assignment"),
        pytest.param('version = "1"\n[purposes\n', id="unclosed-table"),
        pytest.param('version = "1"\nversion = "2"\n', id="duplicate-key"),
    ],
)
def test_bad_toml_is_refused(text: str) -> None:
    message = policy_error(text)
    assert "not valid TOML" in message
    assert "line" in message  # points at where it broke


def test_unknown_purpose_is_refused() -> None:
    message = policy_error(DEFAULT_TEXT + '\n[purposes.carrier_pigeon]\nregime = "opt_out"\n')
    assert "purposes.carrier_pigeon" in message


def test_misspelt_key_is_refused_rather_than_ignored() -> None:
    # `regim = "opt_in"` silently ignored would leave a stricter jurisdiction on opt_out.
    text = set_regime(DEFAULT_TEXT, "special_offers", "opt_in").replace(
        'regime = "opt_in"', 'regim = "opt_in"'
    )
    message = policy_error(text)
    assert "purposes.special_offers.regim" in message
    assert "Extra inputs are not permitted" in message


def test_unknown_relationship_source_is_refused() -> None:
    text = DEFAULT_TEXT.replace('"newsletter.confirmed"]', '"newsletter.confirmed", "page.view"]')
    message = policy_error(text)
    assert "page.view" in message
    assert "relationship" in message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        pytest.param('version = "2026-11-24.1"\n', "", "version", id="no-version"),
        pytest.param('version = "2026-11-24.1"', 'version = ""', "version", id="empty-version"),
        pytest.param("[relationship]\n", "[relation]\n", "relationship", id="no-relationship"),
    ],
)
def test_required_fields(old: str, new: str, field: str) -> None:
    assert old in DEFAULT_TEXT
    assert field in policy_error(DEFAULT_TEXT.replace(old, new))


def test_policy_error_is_a_consent_error() -> None:
    assert issubclass(PolicyError, ConsentError)
