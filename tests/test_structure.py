"""The shape of src/ringround, read with ``ast`` (never imported):

(a) no circle of imports between its modules, counting imports inside functions too;
(b) no import of a ringround module inside a function unless a comment there says why;
(c) only src/ringround/calling/ writes CallTarget rows, so the calling rules stay the one
    keeper of who is handed whom;
(d) lower rooms never import higher ones (from the bottom: audit, accounts, contacts,
    campaigns, calling, then imports, reports, privacy, backups and the demo); the pages
    (views, urls, forms, admin, commands), the API and the command line sit on top of all.

Each check lists what it found as ``path:line``. The ``*_catches_*`` tests feed each checker a
small made-up tree, so a checker that has stopped finding anything fails too.
"""

import ast
import io
import re
import tokenize
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = "ringround"
CALLING = f"{PACKAGE}.calling"


@dataclass
class Module:
    name: str  # dotted, e.g. ringround.calling.rules
    path: Path
    shown: str  # the path as reported, e.g. src/ringround/calling/rules.py
    is_package: bool
    tree: ast.Module
    lines: list[str]
    comment_lines: set[int] = field(default_factory=set)

    @property
    def is_migration(self) -> bool:
        return ".migrations." in f"{self.name}."


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: bool


def load_modules(src: Path, package: str = PACKAGE) -> dict[str, Module]:
    """Every module of ``package`` under ``src`` (tests left out), by dotted name."""
    modules = {}
    for path in sorted((src / package).rglob("*.py")):
        relative = path.relative_to(src)
        if "tests" in relative.parts[:-1] or relative.name.startswith("test_"):
            continue
        parts = list(relative.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        text = path.read_text(encoding="utf-8")
        try:
            shown = str(path.relative_to(REPO))
        except ValueError:
            shown = str(relative)
        module = Module(
            name=".".join(parts),
            path=path,
            shown=shown,
            is_package=is_package,
            tree=ast.parse(text, filename=str(path)),
            lines=text.splitlines(),
        )
        module.comment_lines = {
            token.start[0]
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT
        }
        modules[module.name] = module
    return modules


def _known(name: str, modules) -> str | None:
    """The module ``name`` stands for: itself, or the nearest enclosing module we have."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _import_statements(tree: ast.Module):
    """(statement, inside a function?) for every import statement in the module."""

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            inner = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            yield from visit(child, inner)

    yield from visit(tree, False)


def resolve(module: Module, statement, modules, package: str = PACKAGE) -> list[str]:
    """The package's own modules an import statement in ``module`` imports (``from x import
    y`` counts as importing x.y when y is a module; relative imports resolved)."""
    if isinstance(statement, ast.Import):
        targets = [alias.name for alias in statement.names]
    else:
        if statement.level:
            base = module.name if module.is_package else module.name.rpartition(".")[0]
            for _ in range(statement.level - 1):
                base = base.rpartition(".")[0]
            origin = ".".join(part for part in (base, statement.module) if part)
        else:
            origin = statement.module or ""
        targets = []
        for alias in statement.names:
            submodule = f"{origin}.{alias.name}"
            targets.append(submodule if submodule in modules else origin)
    found = []
    for target in targets:
        if target == package or target.startswith(f"{package}."):
            imported = _known(target, modules)
            if imported is not None and imported not in found:
                found.append(imported)
    return found


def imports_of(module: Module, modules):
    """Every import of one of the package's modules in ``module``, at any depth."""
    for statement, in_function in _import_statements(module.tree):
        for imported in resolve(module, statement, modules):
            yield Import(module.name, imported, statement.lineno, in_function)


# --- (a) circles -----------------------------------------------------------------------------


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively; each component sorted, components in sorted order."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return sorted(components)


def _shortest_circle(start: str, graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """The shortest path start -> ... -> start within ``members`` (breadth first)."""
    previous = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & members):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return []


def import_circles(modules) -> list[str]:
    """Each circle of imports: its modules, a shortest way round, and every import in it."""
    where = {}  # (importer, imported) -> [(Import, "path:line (in a function)"), ...]
    graph = {name: set() for name in modules}
    for module in modules.values():
        for found in imports_of(module, modules):
            graph[found.importer].add(found.imported)
            note = " (in a function)" if found.in_function else ""
            where.setdefault((found.importer, found.imported), []).append(
                (found, f"{module.shown}:{found.line}{note}")
            )
    problems = []
    for component in _strongly_connected(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        ways = []  # the shortest way round through each module, each circle once
        for name in component:
            circle = _shortest_circle(name, graph, members)[:-1]
            turned = min(circle[k:] + circle[:k] for k in range(len(circle)))
            if turned not in ways:
                ways.append(turned)
        lines = [f"circle of {len(component)} modules: {', '.join(component)}", "  ways round:"]
        for way in sorted(ways, key=lambda way: (len(way), way)):
            lines.append(f"    {' -> '.join([*way, way[0]])}")
        lines.append("  imports within it:")
        for importer in component:
            inside = [
                (found.line, place, found.imported)
                for target in graph[importer] & members
                for found, place in where[(importer, target)]
            ]
            for _, place, imported in sorted(inside):
                lines.append(f"    {place}: {importer} -> {imported}")
        problems.append("\n".join(lines))
    return problems


# --- (b) imports inside functions -------------------------------------------------------------


def _explained(module: Module, statement: ast.stmt) -> bool:
    """A comment on the statement's own line(s), or on the comment line(s) just above it."""
    if any(
        line in module.comment_lines for line in range(statement.lineno, statement.end_lineno + 1)
    ):
        return True
    above = statement.lineno - 1
    return above in module.comment_lines and module.lines[above - 1].lstrip().startswith("#")


def unexplained_function_imports(modules) -> list[str]:
    """Each import of a package module inside a function with no comment saying why."""
    problems = []
    for module in modules.values():
        for statement, in_function in _import_statements(module.tree):
            if not in_function or _explained(module, statement):
                continue
            if resolve(module, statement, modules):
                source = module.lines[statement.lineno - 1].strip()
                problems.append(f"{module.shown}:{statement.lineno}: {source}")
    return problems


# --- (c) CallTarget writes outside calling ----------------------------------------------------

WRITES = {
    "update",
    "create",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
    "delete",
}
MANAGERS = {"objects", "_default_manager", "_base_manager"}
SQL_WRITE = re.compile(
    r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[\"`]?calling_calltarget\b", re.IGNORECASE
)


def _model_names(tree: ast.Module) -> set[str]:
    """The names CallTarget goes by in the module (``import ... as`` included)."""
    names = {"CallTarget"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {a.asname for a in node.names if a.name == "CallTarget" and a.asname}
    return names


def _is_model(node, names) -> bool:
    return (isinstance(node, ast.Name) and node.id in names) or (
        isinstance(node, ast.Attribute) and node.attr == "CallTarget"
    )


def _receiver_chain(node):
    """``node`` and what it is reached through: a.b(...).c -> a.b(...).c, a.b(...), a.b, a."""
    while True:
        yield node
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        else:
            return


def _rows_of(chain_start, names, querysets) -> str | None:
    """What a chain of calls reaches CallTarget rows through, if it does."""
    for node in _receiver_chain(chain_start):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in MANAGERS
            and _is_model(node.value, names)
        ):
            return f"CallTarget.{node.attr}"
        if isinstance(node, ast.Attribute) and node.attr == "targets":
            return f"{ast.unparse(node)} (the targets manager)"
        if isinstance(node, ast.Name) and node.id in querysets:
            return f"{node.id} (a CallTarget queryset)"
    return None


def calltarget_writes(modules, allowed: str = CALLING) -> list[str]:
    """Each place outside ``allowed`` (migrations aside) that writes CallTarget rows."""
    problems = []
    for module in modules.values():
        if module.name == allowed or module.name.startswith(f"{allowed}.") or module.is_migration:
            continue
        names = _model_names(module.tree)
        # Names bound to a CallTarget queryset (qs = CallTarget.objects.filter(...)).
        querysets = set()
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Assign) and _rows_of(node.value, names, set()):
                querysets |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        found = []
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                func = node.func
                if _is_model(func, names):
                    found.append((node.lineno, "constructs CallTarget(...)"))
                elif isinstance(func, ast.Attribute) and func.attr in WRITES:
                    through = _rows_of(func.value, names, querysets)
                    if through:
                        found.append((node.lineno, f".{func.attr}() through {through}"))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                for match in SQL_WRITE.finditer(node.value):
                    line = node.lineno + node.value[: match.start()].count("\n")
                    found.append((line, f"SQL {' '.join(match.group(0).split())}"))
        problems += [f"{module.shown}:{line}: {what}" for line, what in sorted(set(found))]
    return problems


# --- (d) layers ------------------------------------------------------------------------------

LAYERS = (
    {"ids", "rawsql", "csvsafe", "copytext", "settings", "events", "standby"},
    {"audit"},
    {"accounts"},
    {"contacts", "compliance"},
    {"campaigns"},
    {"calling"},
    {"imports", "reports", "privacy", "backups", "demo", "webhooks", "phonebanks", "telephony"},
    {"sharing"},
)
PAGES = {"views", "urls", "forms", "admin", "management", "templatetags", "middleware", "apps"}
ON_TOP = {"api", "cli", "urls", "views", "wsgi", "middleware", "__main__"}


def _room(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_page(name: str) -> bool:
    parts = name.split(".")
    return _room(name) in ON_TOP or any(part in PAGES for part in parts[2:])


def layer_breaches(modules, layers=LAYERS) -> list[str]:
    """Each import by a module below the pages of a room in a higher layer."""
    level = {room: n for n, rooms in enumerate(layers) for room in rooms}
    problems = []
    for module in modules.values():
        if module.is_migration or _is_page(module.name) or module.name == PACKAGE:
            continue
        own = level.get(_room(module.name))
        if own is None:
            problems.append(f"{module.shown}: {_room(module.name)} is in no layer")
            continue
        for found in imports_of(module, modules):
            other = _room(found.imported)
            if other in ON_TOP or level.get(other, own) > own or _is_page(found.imported):
                problems.append(f"{module.shown}:{found.line}: {module.name} -> {found.imported}")
    return problems


# --- the checks on src/ringround --------------------------------------------------------------


@pytest.fixture(scope="module")
def modules():
    return load_modules(SRC)


def _fail(title, problems):
    if problems:
        pytest.fail(f"{title} ({len(problems)}):\n" + "\n".join(problems), pytrace=False)


def test_the_checks_read_the_whole_package(modules):
    assert f"{CALLING}.rules" in modules and f"{PACKAGE}.contacts.services" in modules
    assert len(modules) > 50


def test_no_circle_of_imports(modules):
    _fail("import circles in src/ringround", import_circles(modules))


def test_no_unexplained_imports_inside_functions(modules):
    _fail(
        "imports of ringround modules inside functions with no comment saying why",
        unexplained_function_imports(modules),
    )


def test_only_calling_writes_call_targets(modules):
    _fail("CallTarget rows written outside src/ringround/calling/", calltarget_writes(modules))


def test_lower_rooms_never_import_higher_ones(modules):
    _fail("imports of a higher room by a lower one", layer_breaches(modules))


# --- the checkers catch what they are for ---------------------------------------------------


def make_tree(root: Path, files: dict[str, str]) -> dict[str, Module]:
    """A made-up package ``ringround`` under ``root`` with these files, loaded."""
    for name, text in files.items():
        path = root / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in {p.parent for p in (root / PACKAGE).rglob("*.py")}:
        (folder / "__init__.py").touch()
    return load_modules(root)


def test_circle_checker_catches_a_circle_through_functions_and_relative_imports(tmp_path):
    modules = make_tree(
        tmp_path,
        {
            "a/rules.py": "from ringround.b import services\n",
            "b/services.py": "def f():\n    from ..c.services import g  # later\n",
            "c/services.py": "import os\n\n\ndef g():\n    from ringround.a import rules as r\n",
            "d.py": "from ringround.a import rules\n",  # imports into the circle, not in it
        },
    )

    (problem,) = import_circles(modules)

    assert problem.splitlines()[:3] == [
        "circle of 3 modules: ringround.a.rules, ringround.b.services, ringround.c.services",
        "  ways round:",
        "    ringround.a.rules -> ringround.b.services -> ringround.c.services -> "
        "ringround.a.rules",
    ]
    assert "ringround/a/rules.py:1: ringround.a.rules -> ringround.b.services" in problem
    assert "ringround/c/services.py:5 (in a function): ringround.c.services" in problem
    assert "d.py" not in problem


def test_circle_checker_passes_a_tree_without_one(tmp_path):
    modules = make_tree(
        tmp_path,
        {"a.py": "from ringround import b\n", "b.py": "from . import c\n", "c.py": "x = 1\n"},
    )
    assert {i.imported for i in imports_of(modules["ringround.a"], modules)} == {"ringround.b"}
    assert import_circles(modules) == []


def test_function_import_checker_wants_a_comment_saying_why(tmp_path):
    modules = make_tree(
        tmp_path,
        {
            "m.py": (
                "def bare():\n"
                "    from ringround.n import x\n"  # 2: flagged
                "\n"
                "def relative():\n"
                "    x = 1\n"
                "    from .n import x\n"  # 6: flagged
                "\n"
                "def commented_above():\n"
                "    # n imports m at load time\n"
                "    from ringround.n import x\n"
                "\n"
                "def commented_beside():\n"
                "    import ringround.n  # cheap start-up\n"
                "\n"
                "def third_party():\n"
                "    import json\n"
                "\n"
                "class C:\n"
                "    def method(self):\n"
                '        s = "# not a comment"\n'
                "        from ringround import n\n"  # 21: flagged, the # is in a string
            ),
            "n.py": "x = 1\n",
        },
    )

    assert unexplained_function_imports(modules) == [
        "ringround/m.py:2: from ringround.n import x",
        "ringround/m.py:6: from .n import x",
        "ringround/m.py:21: from ringround import n",
    ]


def test_calltarget_write_checker_catches_every_kind_of_write(tmp_path):
    writes = (
        "from ringround.calling.models import CallTarget\n"
        "from ringround.calling.models import CallTarget as Target\n"
        "\n"
        "def f(campaign, contact):\n"
        "    CallTarget.objects.filter(x=1).exclude(y=2).update(state='done')\n"  # 5
        "    Target.objects.bulk_create([])\n"  # 6
        "    CallTarget(campaign=campaign)\n"  # 7
        "    campaign.targets.update(state='ready')\n"  # 8
        "    contact.targets.all().delete()\n"  # 9
        "    qs = CallTarget.objects.filter(x=1)\n"
        "    qs.update(state='ready')\n"  # 11
        "    sql = 'delete from calling_calltarget where id = 1'\n"  # 12
        '    more = """\n'
        '        INSERT INTO calling_calltarget (id) VALUES (1)"""\n'  # 14
        "    CallTarget.objects.filter(x=1).count()\n"  # a read: fine
        "    campaign.targets.values_list('id')\n"  # a read: fine
        "    other = {}; other.update(a=1)\n"  # not CallTarget: fine
        "    'SELECT id FROM calling_calltarget'\n"  # a read: fine
    )
    modules = make_tree(
        tmp_path,
        {
            "contacts/services.py": writes,
            "calling/rules.py": writes,  # calling may
            "contacts/migrations/0002_x.py": writes,  # migrations may
        },
    )

    found = calltarget_writes(modules)

    assert [problem.split(": ")[0] for problem in found] == [
        f"ringround/contacts/services.py:{line}" for line in (5, 6, 7, 8, 9, 11, 12, 14)
    ], found
    assert found[0].endswith(".update() through CallTarget.objects")
    assert found[2].endswith("constructs CallTarget(...)")
    assert found[3].endswith(".update() through campaign.targets (the targets manager)")
    assert found[-1].endswith("SQL INSERT INTO calling_calltarget")


def test_layer_checker_catches_a_lower_room_importing_a_higher_one(tmp_path):
    modules = make_tree(
        tmp_path,
        {
            "contacts/services.py": "from ringround.calling import targets\n",
            "calling/targets.py": "from ringround.contacts import services\n",
            "contacts/views.py": "from ringround.calling import targets\n",  # a page: allowed
            "campaigns/models.py": "from ringround.contacts import views\n",  # a page: never
        },
    )

    assert layer_breaches(modules) == [
        "ringround/campaigns/models.py:1: ringround.campaigns.models -> ringround.contacts.views",
        "ringround/contacts/services.py:1: ringround.contacts.services -> ringround.calling.targets",
    ]
