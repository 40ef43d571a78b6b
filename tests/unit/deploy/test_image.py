"""The pipeline's image, checked as files (Docker does not run here): the Dockerfile copies every
package pyproject.toml installs, nothing it copies is ignored, it runs as a non-root user, and
its entry point turns `CONSENT_*_FILE` secrets into the variables the settings classes read.
"""

import fnmatch
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.unit.deploy.catalogue import DEPLOY, REPO

DOCKERFILE = REPO / "Dockerfile"
ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def copied_from_context() -> list[str]:
    """Sources of every COPY from the build context (not `--from=` another stage)."""
    sources = []
    for word, rest in instructions():
        if word == "COPY" and not rest.startswith("--from="):
            sources += rest.split()[:-1]
    return sources


def test_every_installed_package_and_file_is_copied() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(copied_from_context())
    assert packages <= copied, f"the image would lack {sorted(packages - copied)}"
    assert {"pyproject.toml", project["project"]["readme"]} <= copied
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"


def test_nothing_copied_is_ignored() -> None:
    patterns = [p.strip() for p in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if p.strip() and not p.startswith("#")]
    for source in copied_from_context():
        for pattern in patterns:
            assert not fnmatch.fnmatch(source, pattern.removeprefix("**/")), (source, pattern)
    assert {".git", ".local", ".venv"} <= set(patterns), "secrets and local state stay out"


def test_base_images_are_pinned_and_match_requires_python() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    minimum = tuple(int(n) for n in project["project"]["requires-python"].removeprefix(">=")
                    .split("."))
    bases = [rest.split()[0] for word, rest in instructions() if word == "FROM"]
    assert bases
    for base in bases:
        m = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim-\w+", base)
        assert m, f"{base}: pin the patch release and the Debian release"
        assert tuple(int(n) for n in m.groups()[:2]) >= minimum


def test_it_runs_as_a_non_root_user_through_the_entrypoint() -> None:
    final = [(w, r) for w, r in instructions()]
    last_from = max(i for i, (w, _) in enumerate(final) if w == "FROM")
    users = [r for w, r in final[last_from:] if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    entry = [r for w, r in final if w == "ENTRYPOINT"][-1]
    assert '"/usr/local/bin/consent-entrypoint"' in entry
    assert ("COPY", "deploy/docker/entrypoint.sh /usr/local/bin/consent-entrypoint") in final


# ------------------------------------------------------------------ the entry point, run


def entrypoint(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(ENTRYPOINT), *argv], env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, timeout=30, check=False)


def test_a_file_secret_becomes_its_variable(tmp_path: Path) -> None:
    secret = tmp_path / "database.url"
    secret.write_text("postgresql://consent_sink:p4ss@postgres/consent\n")
    proc = entrypoint({"CONSENT_DATABASE_URL_FILE": str(secret), "CONSENT_APP_ID": "consent"},
                      "env")
    assert proc.returncode == 0, proc.stderr
    env = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    assert env["CONSENT_DATABASE_URL"] == "postgresql://consent_sink:p4ss@postgres/consent"
    assert "CONSENT_DATABASE_URL_FILE" not in env
    assert env["CONSENT_APP_ID"] == "consent"


def test_a_multi_line_json_secret_is_kept_whole(tmp_path: Path) -> None:
    secret = tmp_path / "ingest_secrets.json"
    secret.write_text('{\n  "shop": "a b$c"\n}\n')
    proc = entrypoint({"CONSENT_INGEST_SECRETS_FILE": str(secret)}, "python3", "-c",
                      "import os; print(repr(os.environ['CONSENT_INGEST_SECRETS']))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == repr('{\n  "shop": "a b$c"\n}')


@pytest.mark.parametrize("case", ["both", "unreadable"])
def test_a_wrong_secret_stops_it_without_printing_the_value(tmp_path: Path, case: str) -> None:
    secret = tmp_path / "key_secret"
    secret.write_text("s3cr3t-from-file")
    env = {"CONSENT_KEY_SECRET_FILE": str(secret if case == "both" else tmp_path / "missing")}
    if case == "both":
        env["CONSENT_KEY_SECRET"] = "s3cr3t-inline"
    proc = entrypoint(env, "env")
    assert proc.returncode == 64
    assert "CONSENT_KEY_SECRET" in proc.stderr
    assert "s3cr3t" not in proc.stdout + proc.stderr


def test_without_a_command_it_says_so() -> None:
    proc = entrypoint({})
    assert proc.returncode == 64 and "no command" in proc.stderr
