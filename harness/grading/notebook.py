"""A notebook as a submission: the contract's parts taken from its code cells, statically.

No cell is ever run. Each code cell is parsed with `ast`; the last top-level definition of
`CNNModel` and of each transform factory is taken (the one running the notebook top to bottom would
leave), with the helper classes, functions, constants and imports it uses, and written as the
folder submission's `model.py` and `augmentations.py` would be. The manifest is the TOML string a code cell
assigns to `MANIFEST`. `notebook.json` beside them says which cell each part came from.
docs/notebooks.md is the students' page on the convention.
"""

from __future__ import annotations

import ast
import builtins
import json
from dataclasses import dataclass
from pathlib import Path

from harness.grading.contract import (
    AUGMENT_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    REQUIRED_NAMES,
    SOURCE_FILE,
    SubmissionError,
)

MANIFEST_NAME = "MANIFEST"
GUIDE = "docs/notebooks.md"


class NotebookError(SubmissionError):
    """The notebook does not follow the convention; the message names the cell and what is missing."""


@dataclass(frozen=True)
class Definition:
    name: str
    node: ast.stmt
    cell: int  # 1-based, counting every cell as Jupyter shows them
    source: str  # the statement's own text


def _code_cells(notebook: Path) -> list[tuple[int, str]]:
    import nbformat

    try:
        read = nbformat.read(str(notebook), as_version=4)
    except Exception as error:  # nbformat raises several kinds for a file that is not a notebook
        raise NotebookError(f"{notebook.name} is not a readable Jupyter notebook: {error}") from None
    return [(number, cell.source) for number, cell in enumerate(read.cells, start=1) if cell.cell_type == "code"]


def _python(source: str) -> str:
    """The cell without IPython's own syntax: line magics and shell escapes become comments, and a
    cell magic (`%%time`, `%%capture`) leaves only the Python below it."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        lines = lines[1:] if lines[0].split()[0] in ("%%time", "%%capture") else []
    return "\n".join(f"# {line}" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _bound(node: ast.stmt) -> list[str]:
    """The names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    return []


def definitions(notebook: Path) -> dict[str, Definition]:
    """Every name bound at the top level of a code cell, by its last binding in cell order."""
    found: dict[str, Definition] = {}
    for number, source in _code_cells(notebook):
        text = _python(source)
        try:
            tree = ast.parse(text)
        except SyntaxError as error:
            names = [n for n in (*REQUIRED_NAMES[MODEL_FILE], *REQUIRED_NAMES[AUGMENT_FILE], MANIFEST_NAME)
                     if n in text]
            if names:
                raise NotebookError(f"{notebook.name}, cell {number} (which defines {', '.join(names)}): "
                                    f"line {error.lineno}: {error.msg}.") from None
            continue  # a cell the submission does not need is never looked at again
        for node in tree.body:
            for name in _bound(node):
                found[name] = Definition(name, node, number, _segment(text, node))
    return found


def _segment(text: str, node: ast.stmt) -> str:
    """The statement's own lines, its decorators included."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return "\n".join(text.splitlines()[first - 1:node.end_lineno])


def _free_names(node: ast.AST) -> set[str]:
    """Names a definition reads that it does not bind itself (parameters, locals, loop variables)."""
    loaded, bound = set(), set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            (loaded if isinstance(child.ctx, ast.Load) else bound).add(child.id)
        elif isinstance(child, ast.arg):
            bound.add(child.arg)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child is not node:
            bound.add(child.name)
        elif isinstance(child, ast.alias):
            bound.add((child.asname or child.name).split(".")[0])
    return loaded - bound - set(dir(builtins))


def _needed(names: tuple[str, ...], found: dict[str, Definition]) -> list[Definition]:
    """`names` and everything they use (imports, helpers, module-level values such as a list of transforms),
    in the order the notebook defines them, imports first. What is taken runs only where a folder
    submission's module-level code runs: in the sandboxed child, when it imports the files."""
    taken: dict[str, Definition] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in taken or name not in found:
            continue  # a name the notebook never defines fails in the smoke test, with Python's own message
        definition = found[name]
        taken[name] = definition
        todo += sorted(_free_names(definition.node))
    unique = {id(d.node): d for d in taken.values()}.values()  # `import a, b` binds two names, once
    imports = [d for d in unique if isinstance(d.node, (ast.Import, ast.ImportFrom))]
    rest = [d for d in unique if d not in imports]
    return sorted(imports, key=lambda d: d.cell) + sorted(rest, key=lambda d: (d.cell, d.node.lineno))


def _manifest(found: dict[str, Definition], notebook: Path) -> tuple[str, int]:
    definition = found.get(MANIFEST_NAME)
    if definition is None:
        raise NotebookError(f"{notebook.name}: no code cell assigns `{MANIFEST_NAME} = \"\"\"...\"\"\"`, the "
                            f"manifest's TOML (who you are, dropout, batch norm, claims); see {GUIDE}.")
    value = getattr(definition.node, "value", None)
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
        raise NotebookError(f"{notebook.name}, cell {definition.cell}: `{MANIFEST_NAME}` must be a string "
                            f"literal holding the manifest's TOML; see {GUIDE}.")
    return value.value, definition.cell


def _module(definitions: list[Definition]) -> str:
    return "\n\n".join(d.source for d in definitions) + "\n"


def extract(notebook: Path) -> dict[str, bytes]:
    """The submission's files, as a folder submission holds them, and `notebook.json`: where each part
    came from."""
    found = definitions(notebook)
    files, cells = {}, {}
    for file, names in REQUIRED_NAMES.items():
        for name in names:
            if name not in found:
                raise NotebookError(f"{notebook.name}: no code cell defines `{name}` at its top level; "
                                    f"{file} needs it (see {GUIDE}).")
        taken = _needed(names, found)
        files[file] = _module(taken)
        cells.update({d.name: d.cell for d in taken if d.name in names})
        cells.update({d.name: d.cell for d in taken if d.name not in names and d.name not in cells
                      and not isinstance(d.node, (ast.Import, ast.ImportFrom))})
    files[MANIFEST_FILE], cells[MANIFEST_NAME] = _manifest(found, notebook)
    files[SOURCE_FILE] = json.dumps({"notebook": notebook.name, "cells": cells}, sort_keys=True)
    return {name: text.encode("utf-8") for name, text in files.items()}


def notebook_of(path: Path) -> Path | None:
    """The notebook `path` hands in: the file itself, or the one notebook of a folder that has no
    manifest.toml; None for a folder submission."""
    if path.is_file() and path.suffix == ".ipynb":
        return path
    if path.is_dir() and not (path / MANIFEST_FILE).exists():
        found = sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
        if len(found) > 1:
            raise NotebookError(f"{path} holds {len(found)} notebooks ({', '.join(p.name for p in found)}) and no "
                                f"{MANIFEST_FILE}; hand in one notebook.")
        return found[0] if found else None
    return None
