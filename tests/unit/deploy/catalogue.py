"""What the deploy files are checked against, taken from the code itself.

- `exported_metrics()`: every sample name the code can export, found by building every metrics
  object of the code base on a fresh registry (any class whose `__init__` takes a `registry`).
- `promql_metrics()`: the metric names a PromQL expression reads.
- `consent_invocations()` / `argv_error()`: the `consent` command lines in a shell text, and
  whether `ops.cli.build_parser()` accepts one.
- `pipeline_kinds()`, `served_port()`, `secret_settings()`: what the local stack runs, where
  each process serves /metrics, and which secrets `ops.deployment` hands each kind: what every
  deployment (compose, Kubernetes) must agree with.
"""

import ast
import contextlib
import importlib
import inspect
import io
import re
import shlex
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from ops.cli import build_parser
from ops.deployment import IDENTITIES, Deployment
from ops.stack import StackConfig
from ops.supervisor import LocalInfra, kind_of
from schemas.metrics_endpoint import DEFAULT_PORTS

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
PACKAGES = ("schemas", "consent_table", "streams", "sinks", "sources", "ops")

EXTERNAL_METRICS = {"up"}
"""Series Prometheus makes itself: the scrape's own result, not a metric of the code."""

# classes whose __init__ needs more than a registry: how to build one for its metrics
_FACTORIES: dict[str, Callable[[type, CollectorRegistry], object]] = {
    "ops.supervisor.Supervisor": lambda cls, r: cls([], Path("/nonexistent/state.json"),
                                                    registry=r),
}


def load_yaml(path: Path) -> list[Any]:
    """Every document of a YAML file (safe loader: anchors and merge keys, no tags)."""
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# ------------------------------------------------------------------------------- metrics


def metrics_classes() -> list[str]:
    """`module.Class` of every class in the packages whose `__init__` takes a `registry`."""
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            for node in tree.body:
                if not isinstance(node, ast.ClassDef):
                    continue
                for item in node.body:
                    if (isinstance(item, ast.FunctionDef) and item.name == "__init__"
                            and any(a.arg == "registry" for a in
                                    [*item.args.args, *item.args.kwonlyargs])):
                        found.append(f"{module}.{node.name}")
    return found


def _sample_names(registry: CollectorRegistry) -> set[str]:
    """The series names each family can have, whether or not a labelled child exists yet."""
    names: set[str] = set()
    for family in registry.collect():
        n = family.name
        if family.type == "counter":
            names.add(f"{n}_total")
        elif family.type == "histogram":
            names |= {f"{n}_bucket", f"{n}_sum", f"{n}_count"}
        elif family.type == "summary":
            names |= {n, f"{n}_sum", f"{n}_count"}
        elif family.type == "info":
            names.add(f"{n}_info")
        else:
            names.add(n)
    return names


def exported_metrics() -> dict[str, str]:
    """Sample name -> the class that exports it, for every metrics object of the code base."""
    exported: dict[str, str] = {}
    for qualified in metrics_classes():
        module, _, name = qualified.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        registry = CollectorRegistry()
        if qualified in _FACTORIES:
            _FACTORIES[qualified](cls, registry)
        else:
            required = [p for p in inspect.signature(cls).parameters.values()
                        if p.default is inspect.Parameter.empty and p.name != "registry"
                        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            if required:
                raise AssertionError(f"{qualified} needs {[p.name for p in required]} to be "
                                     "built: add a factory to catalogue._FACTORIES")
            cls(registry=registry)
        for sample in _sample_names(registry):
            exported[sample] = qualified
    return exported


# -------------------------------------------------------------------------------- PromQL

_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "offset", "bool", "inf", "nan", "atan2"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)(?![\w:])")


def promql_metrics(expr: str) -> set[str]:
    """Metric names read by a PromQL expression (Grafana's `$variables` are not names).

    Label matchers, strings, durations, grouping clauses and function names are dropped; what
    is left and is not a keyword is a metric name.
    """
    text = _STRING.sub('""', expr)
    text = re.sub(r"\$\{[^}]*\}|\$\w+", "1", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = _GROUPING.sub("", text)
    names = set()
    for m in _IDENT.finditer(text):
        word = m.group(1)
        rest = text[m.end():].lstrip()
        if word.lower() in _KEYWORDS or rest.startswith("("):  # a keyword or a function
            continue
        names.add(word)
    return names


def unknown_metrics(exprs: Iterable[str], exported: Iterable[str]) -> dict[str, set[str]]:
    """Expression -> the names in it that neither the code nor Prometheus exports."""
    known = set(exported) | EXTERNAL_METRICS
    out = {}
    for e in exprs:
        missing = promql_metrics(e) - known
        if missing:
            out[e] = missing
    return out


# ------------------------------------------------------------------------- consent command


_WRAPPERS = {"exec", "env", "then", "do", "else", "!", "consent-entrypoint"}


def consent_invocations(shell: str) -> list[list[str]]:
    """Every `consent ...` command line in a shell text (scripts, `sh -c` strings).

    Lines are joined at trailing backslashes, split at `&&`, `||`, `;` and `|`; leading
    variable assignments and wrappers (`exec`, `env`, the image's `consent-entrypoint`) are
    skipped. A `$(...)` or a variable as an
    argument is kept as text: the parser sees it as a value.
    """
    text = re.sub(r"\\\n", " ", shell)
    found = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(part)
            except ValueError:
                continue
            while words and (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])
                             or Path(words[0]).name in _WRAPPERS):
                words = words[1:]
            if words and Path(words[0]).name == "consent":
                found.append(words[1:])
    return found


def argv_error(argv: list[str]) -> str | None:
    """None if `consent <argv>` parses, else what argparse said."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit as exc:
        return err.getvalue().strip().splitlines()[-1] if err.getvalue() else f"exit {exc.code}"
    return None


# ------------------------------------------------------------------- what a deployment runs

SECRET_SETTINGS = ("CONSENT_KEY_SECRET", "CONSENT_DATABASE_URL", "CONSENT_INGEST_SECRETS")
"""Settings that are secrets: deployments hand them over as files (`<NAME>_FILE`)."""


def pipeline_kinds() -> set[str]:
    """The kinds of process `make up` (ops/stack.py) runs, its SMTP catcher aside."""
    kinds = {kind_of(args) for args in StackConfig.from_env().processes().values()}
    return {k for k in kinds if IDENTITIES.get(k) != (None, None)}


def served_port(argv: list[str]) -> int:
    """Where `consent <argv>` serves /metrics: an endpoint's --port, else its kind's default."""
    args = build_parser().parse_args(argv)
    port = getattr(args, "port", None)
    return int(port) if port is not None else DEFAULT_PORTS[kind_of(argv)]


def secret_settings(kind: str, local_dir: Path) -> set[str]:
    """The secret settings `Deployment.env_for(kind)` gives a process of this kind under
    `make up` (an unsecured LocalInfra: nothing is started; `local_dir` receives the generated
    secrets)."""
    infra = LocalInfra("deploy-check", 1, 2, 3)
    infra.instance_dir = local_dir
    deployment = Deployment(infra, prefix="", app_id="consent", db_schema="consent",
                            data_dir=local_dir / "data")
    return {k for k in deployment.env_for(kind) if k in SECRET_SETTINGS}
