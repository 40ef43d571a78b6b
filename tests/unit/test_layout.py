"""The house rules of the code base, checked: dependencies point one way, every package is named
in the README's folder table.

`schemas` (wire contracts) <- `consent_table` (reading the materialised consent table) <-
`streams`, `sinks`, `sources` (never each other) <- `ops` and `bench` (the operator's tools).
An arrow the other way means a wire contract depends on a component, or one component on
another's internals.
"""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "consent_table", "streams", "sinks", "sources", "ops", "bench")
TOOLS = set(PACKAGES)
ALLOWED: dict[str, set[str]] = {
    "schemas": {"schemas"},
    "consent_table": {"schemas", "consent_table"},
    "streams": {"schemas", "consent_table", "streams"},
    "sinks": {"schemas", "consent_table", "sinks"},
    "sources": {"schemas", "sources"},
    "ops": TOOLS,
    "bench": TOOLS,
}


def imported_packages(source: str) -> set[str]:
    """Top-level names imported anywhere in a module, lazy imports inside functions included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def wrong_way_arrows(root: Path) -> list[str]:
    arrows = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for target in sorted(imported_packages(path.read_text(encoding="utf-8")) & set(PACKAGES)):
                if target not in ALLOWED[package]:
                    arrows.append(f"{path.relative_to(root)} imports {target}")
    return arrows


def test_dependencies_point_one_way() -> None:
    assert wrong_way_arrows(REPO) == []


def test_the_rule_catches_a_wrong_way_arrow(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "schemas" / "bad.py").write_text("def f():\n    from streams.app import x\n")
    (tmp_path / "sinks" / "bad.py").write_text("import sources.producer\n")
    assert wrong_way_arrows(tmp_path) == ["schemas/bad.py imports streams",
                                          "sinks/bad.py imports sources"]


def test_readme_folder_table_names_every_package() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z_]+)/`", readme, flags=re.MULTILINE))
    assert set(PACKAGES) <= rows, f"README folder table lacks {sorted(set(PACKAGES) - rows)}"
