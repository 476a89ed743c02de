"""Rules of the code that no linter knows: statuses are named by the enum only; modules stay under
400 lines; imports sit at the top of their module; no import cycles; every service module has
its place in the services' layering (pyproject.toml, checked by import-linter)."""
from __future__ import annotations

import ast
import io
import re
import tokenize
import tomllib
from pathlib import Path

from bot.domain.lifecycle import Status

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "scheduler", "web")
# The enum itself, the sandbox (a fake Telegram, no tickets) and migrations (frozen history).
EXEMPT = ("bot/domain/lifecycle.py", "bot/sandbox/", "storage/migrations/")
STATUSES = {s.value for s in Status}


def raw_statuses(source: str) -> list[int]:
    """Lines where a string literal is exactly a status name ("CLOSED", not a docstring mentioning it)."""
    lines = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING:
            try:
                value = ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):
                continue
            if value in STATUSES:
                lines.append(tok.start[0])
    return lines


def test_the_rule_finds_a_raw_status():
    assert raw_statuses('if t.status == "CLOSED":\n    pass\n') == [1]
    assert raw_statuses('"""The ticket is CLOSED."""\nx = Status.CLOSED\n') == []


def test_no_raw_status_strings_beside_the_enum():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(EXEMPT):
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{rel}:{n}: {text.splitlines()[n - 1].strip()}" for n in raw_statuses(text)]
    assert found == [], "name statuses by bot.domain.lifecycle.Status:\n" + "\n".join(found)


# --- module size, imports at the top, no cycles, every service in the layering -----------------

MAX_LINES = 400
SOURCE_EXEMPT = ("storage/migrations/",)  # frozen history, generated in parts


def sources() -> list[tuple[str, Path]]:
    """The project's own modules in the checked packages (not the tests, tools or benches)."""
    return [(path.relative_to(ROOT).as_posix(), path) for package in PACKAGES
            for path in sorted((ROOT / package).rglob("*.py"))
            if not path.relative_to(ROOT).as_posix().startswith(SOURCE_EXEMPT)]


def test_no_module_is_over_400_lines():
    long = [f"{rel}: {n} lines" for rel, path in sources()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == [], "split these modules by job:\n" + "\n".join(long)


def local_imports(source: str) -> list[int]:
    """Lines of imports made inside a function (they hide an import edge until the call)."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [n.lineno for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return sorted(set(found))


def test_the_rule_finds_a_local_import():
    assert local_imports("import os\n\n\ndef f():\n    from os import path\n    return path\n") == [5]
    assert local_imports("class A:\n    async def f(self):\n        import json\n") == [3]
    assert local_imports("import os\n\nif os:\n    import json\n") == []


def test_every_import_is_at_the_top_of_its_module():
    found = [f"{rel}:{n}: {path.read_text(encoding='utf-8').splitlines()[n - 1].strip()}"
             for rel, path in sources() for n in local_imports(path.read_text(encoding="utf-8"))]
    assert found == [], "import at the top of the module (a cycle is not dodged by hiding it):\n" + "\n".join(found)


# The import graph, counting every import (also one inside a function) and leaving out those
# under `if TYPE_CHECKING:` (they never run): the same reading as the team's import_cycles tool.

def module_name(rel: str) -> str:
    name = rel.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imported(source: str, name: str, known: set[str], is_package: bool) -> set[str]:
    """The project modules `name` imports."""
    out: set[str] = set()

    def resolve(mod: str) -> str | None:
        while mod:
            if mod in known:
                return mod
            mod = mod.rpartition(".")[0]
        return None

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                out.update(m for a in child.names if (m := resolve(a.name)) and m != name)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = name if is_package else name.rpartition(".")[0]
                    for _ in range(child.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}".strip(".") if base else package
                out.update(m for a in child.names if (m := resolve(f"{base}.{a.name}") or resolve(base)) and m != name)
            visit(child)

    visit(ast.parse(source))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, edges = work[-1]
            w = next(edges, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_rule_finds_a_cycle_also_through_a_local_import():
    known = {"a", "b", "c"}
    graph = {"a": imported("import b\n", "a", known, False),
             "b": imported("def f():\n    from c import x\n", "b", known, False),
             "c": imported("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import b\nimport a\n", "c",
                           known, False)}
    assert graph == {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_among_the_projects_modules():
    mods = {module_name(path.relative_to(ROOT).as_posix()): path
            for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}
    known = set(mods)
    graph = {name: imported(path.read_text(encoding="utf-8"), name, known, path.name == "__init__.py")
             for name, path in mods.items()}
    assert "bot.services.transition" in graph["bot.services.department_work"]  # the graph is read
    assert cycles(graph) == []


def test_every_service_module_has_its_place_in_the_services_layering():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c.get("containers") == ["bot.services"])
    placed = [m.strip() for layer in contract["layers"] for m in re.split(r"[:|]", layer)]
    modules = sorted(p.stem for p in (ROOT / "bot" / "services").glob("*.py") if p.stem != "__init__")
    assert sorted(placed) == modules, "put every bot.services module in the layers of pyproject.toml"
