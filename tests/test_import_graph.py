"""thinc's modules import one another without a cycle: read statically from the
source (function-level imports too), so a cycle fails here before it bites at run time."""

import ast
import re
from pathlib import Path
from typing import Dict, List, Optional, Set

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "thinc"

# A Python-level import line in a .pyx file (cimports are compile time only).
_PYX_IMPORT = re.compile(r"^\s*(?:from\s+(\.*[\w.]*)\s+import\s+(.+)|import\s+([\w.]+))")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _known_modules() -> Dict[str, Path]:
    found = {}
    for path in PACKAGE_ROOT.rglob("*"):
        if path.suffix in (".py", ".pyx") and "build" not in path.parts:
            found[_module_name(path)] = path
    return found


def _resolve(current: str, is_package: bool, level: int, target: Optional[str]) -> str:
    """The absolute name a (possibly relative) import names."""
    if level == 0:
        return target or ""
    base = current.split(".")
    # A package's own __init__ is level 1 from itself; a module's is its parent.
    drop = level - 1 if is_package else level
    base = base[: len(base) - drop]
    return ".".join(base + ([target] if target else []))


def _is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports_of_python(source: str) -> List[tuple]:
    """(level, module, names) of every import that can run, at any depth;
    ``if TYPE_CHECKING:`` blocks never run and are skipped."""
    found: List[tuple] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking_block(child):
                for other in getattr(child, "orelse", []):
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.extend((0, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module, [alias.name for alias in node.names]))
        visit(node)

    visit(ast.parse(source))
    return found


def _imports_of_pyx(source: str) -> List[tuple]:
    found = []
    statements: List[str] = []
    for line in source.splitlines():
        # A parenthesised import continues until its parentheses balance.
        if statements and statements[-1].count("(") > statements[-1].count(")"):
            statements[-1] += " " + line.strip()
        else:
            statements.append(line)
    for line in statements:
        match = _PYX_IMPORT.match(line)
        if not match:
            continue
        if match.group(3):
            found.append((0, match.group(3), []))
            continue
        dotted = match.group(1)
        level = len(dotted) - len(dotted.lstrip("."))
        names = [name.strip(" ()").split(" as ")[0] for name in match.group(2).split(",")]
        found.append((level, dotted.lstrip(".") or None, [name for name in names if name]))
    return found


def _ancestors(name: str) -> List[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


_PYX_INCLUDE = re.compile(r'^include\s+"([^"]+)"', re.MULTILINE)


def _with_includes(source: str, folder: Path) -> str:
    """A .pyx file's source with its ``include "x.pxi"`` files written in, as
    Cython compiles them into the module."""
    return _PYX_INCLUDE.sub(
        lambda match: _with_includes((folder / match.group(1)).read_text(encoding="utf-8"), folder),
        source,
    )


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the thinc modules that importing it runs. ``from pkg import name``
    runs pkg's ``__init__`` unless name is a submodule, and importing ``a.b.c``
    also runs the ``__init__`` of ``a.b`` and ``a`` (unless the importer lives
    inside them, where they are already running)."""
    modules = _known_modules()
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        if path.suffix == ".pyx":
            source = _with_includes(source, path.parent)
        is_package = path.stem == "__init__"
        imports = _imports_of_pyx(source) if path.suffix == ".pyx" else _imports_of_python(source)
        explicit: Set[str] = set()
        for level, module, names in imports:
            base = _resolve(name, is_package, level, module)
            submodules = [f"{base}.{item}" for item in names if f"{base}.{item}" in modules]
            explicit.update(submodules)
            if len(submodules) < len(names) or not names:
                explicit.add(base)
        implicit = {package for target in explicit for package in _ancestors(target)}
        implicit -= set(_ancestors(name))
        graph[name] = {target for target in explicit | implicit if target in modules} - {name}
    return graph


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    components: List[List[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def test_the_parser_sees_imports_at_any_depth_but_not_type_checking_ones():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n"
        "    from .backends import Ops\n"
        "def later():\n"
        "    from ..util import get_width\n"
        "    import thinc.compat\n"
    )
    found = _imports_of_python(source)
    assert (1, None, ["sibling"]) in found
    assert (2, "util", ["get_width"]) in found
    assert (0, "thinc.compat", []) in found
    assert all(module != "backends" for _, module, _ in found)


def test_a_package_init_counts_as_imported():
    graph = import_graph()
    # thinc.util imports from thinc.backends.cupy_ops, which runs thinc.backends first.
    assert "thinc.backends" in graph["thinc.util"]
    # Model imports names defined in thinc.backends' own __init__.
    assert "thinc.backends" in graph["thinc.model"]
    # .pyx files count too, with the .pxi files they include.
    assert "thinc.backends.ops" in graph["thinc.backends.numpy_ops"]
    assert "thinc.backends._checks" in graph["thinc.backends.numpy_ops"]


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among thinc's modules:\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles
    )


if __name__ == "__main__":
    for cycle in find_cycles(import_graph()):
        print(" <-> ".join(cycle))
