"""Style the test command enforces beyond ruff (pyproject.toml): every public function of faslearn states the
types it takes and returns, so that a reader (and an editor) knows what to pass without reading the body."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "faslearn"


def public_functions_without_hints() -> list[str]:
    """'path:line name' of every public function or method (not starting with '_', ``__init__`` included) with
    a parameter or a return value that has no annotation (``__init__`` returns None by definition)."""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        def visit(node, prefix: str = "") -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                    visit(child, f"{prefix}{child.name}.")
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if child.name.startswith("_") and child.name != "__init__":
                        continue
                    a = child.args
                    params = [p for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
                    params += [p for p in (a.vararg, a.kwarg) if p is not None]
                    unhinted = [p.arg for p in params if p.annotation is None]
                    no_return = child.returns is None and child.name != "__init__"
                    if unhinted or no_return:
                        where = path.relative_to(PACKAGE.parent)
                        missing.append(f"{where}:{child.lineno} {prefix}{child.name} (unannotated: "
                                       f"{unhinted + (['return'] if no_return else [])})")
        visit(ast.parse(path.read_text()))
    return missing


def test_every_public_function_of_faslearn_annotates_its_parameters_and_return():
    missing = public_functions_without_hints()
    assert not missing, f"{len(missing)} public functions without type hints:\n" + "\n".join(missing)


def private_names_used_across_modules() -> list[str]:
    """'where: name' of every private faslearn name (a leading underscore) that a module other than its own
    imports, and of every private name a notebook reaches (faslearn's own and fl.<module>._name alike)."""
    import json
    import re

    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("faslearn")):
                found += [f"{path.relative_to(PACKAGE.parent)}: from {'.' * node.level}{node.module or ''} import "
                          f"{alias.name}" for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    pattern = re.compile(r"\b(?:fl|faslearn)(?:\.\w+)*\._[a-z]\w*|from faslearn[\w.]* import [^\n]*\b_[a-z]\w*")
    for notebook in sorted(PACKAGE.parent.glob("notebooks/**/*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "code":
                found += [f"{notebook.name}: {m.group(0)}" for m in pattern.finditer("".join(cell["source"]))]
    return found


def test_no_module_or_notebook_reaches_for_another_modules_private_names():
    found = private_names_used_across_modules()
    assert not found, "private names used outside their module (make them public or move the code):\n" + \
        "\n".join(found)
