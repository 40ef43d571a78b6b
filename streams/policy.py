"""The policy file, validated: purposes, their regimes, and what establishes a relationship.

It is data rather than code so that a stricter jurisdiction is a one-line change
(`regime = "opt_in"`) reviewed by a lawyer, not a release.
"""

import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.envelope import describe_validation_error
from schemas.events import EVENT_TYPES
from schemas.exceptions import ConsentError
from schemas.purposes import Purpose

DEFAULT_POLICY = Path(__file__).with_name("policy.toml")


class PolicyError(ConsentError):
    """The policy file is missing or invalid."""


class PurposeRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    regime: Literal["opt_out", "opt_in"] = "opt_out"
    confirmation: Literal["single", "double"] = "single"
    transactional: bool = False


class Relationship(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: frozenset[str]

    @model_validator(mode="after")
    def _known(self) -> "Relationship":
        unknown = sorted(self.sources - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event types in relationship.sources: {unknown}")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1, max_length=64)
    relationship: Relationship
    purposes: dict[Purpose, PurposeRule]

    @model_validator(mode="after")
    def _complete(self) -> "Policy":
        missing = [p.value for p in Purpose if p not in self.purposes]
        if missing:
            raise ValueError(f"policy must define every purpose; missing: {missing}")
        if not self.purposes[Purpose.TRANSACTIONAL].transactional:
            raise ValueError("purpose 'transactional' must be marked transactional = true")
        for purpose, rule in self.purposes.items():
            if rule.transactional and purpose is not Purpose.TRANSACTIONAL:
                raise ValueError(f"only 'transactional' may be transactional, not {purpose.value!r}")
        return self

    def rule(self, purpose: Purpose) -> PurposeRule:
        return self.purposes[purpose]

    @property
    def double_opt_in(self) -> bool:
        return self.purposes[Purpose.NEWSLETTER].confirmation == "double"


def parse_policy(text: str) -> Policy:
    try:
        return Policy.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise PolicyError(f"policy is invalid: {describe_validation_error(exc, trusted_keys=True)}") from exc


@cache
def load_policy(path: Path = DEFAULT_POLICY) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from exc
    return parse_policy(text)
