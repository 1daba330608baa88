"""Generate src/kafkaio/sync/admin.py: a blocking method for every kafkaio.Admin operation.

Usage (with the venv's Python, so that the installed kafkaio and ruff are used)::

    tools/generate_sync_admin.py          # (re)write src/kafkaio/sync/admin.py
    tools/generate_sync_admin.py --check  # exit 1 if the committed file is out of date

Every public coroutine method of :class:`kafkaio.admin.Admin` (except ``start`` and
``close``, which :class:`kafkaio.sync.admin_base.AdminBase` provides) becomes a plain
method with the same parameters, annotations and defaults (copied from the source, so
mypy checks the wrappers against the real signatures) plus a keyword-only ``timeout``.
The names the signatures use are imported from the modules that define them.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import inspect
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "src" / "kafkaio" / "sync" / "admin.py"
TOOL = "tools/generate_sync_admin.py"

SKIP = {"start", "close"}
"""Lifecycle methods, written by hand in admin_base.py."""

TIMEOUT_DOC = (
    "Blocks up to ``timeout`` seconds (default: no limit beyond the operation's own\n"
    "``timeout_ms``), then raises :class:`~kafkaio.errors.KafkaTimeoutError`."
)

CLASS_DOC = """\
A blocking admin client for code without asyncio (a facade of :class:`kafkaio.Admin`).

    ::

        with Admin(bootstrap_servers="localhost:9092") as admin:
            admin.create_topics([NewTopic("events", num_partitions=6)]).raise_on_error()

    Options are those of the asyncio :class:`kafkaio.Admin`; the constructor connects
    (bootstrap). Every operation of the asyncio client is here with the same parameters
    and per-item results, plus ``timeout`` (seconds) bounding the wait: on expiry the
    operation is cancelled and :class:`~kafkaio.errors.KafkaTimeoutError` raised. Errors
    of the asyncio client are raised unchanged. The asyncio client runs on a private event
    loop in a background thread (or on a shared ``loop_thread``, which the caller then
    stops); methods are thread-safe. Call :meth:`close` or use ``with``.
    """


def _names_in(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _origin(name: str, module: ModuleType) -> str | None:
    """The module to import ``name`` (as used in ``module``) from; None for builtins."""
    if name in module.__dict__:
        obj = module.__dict__[name]
    elif hasattr(builtins, name):
        return None
    else:
        raise SystemExit(f"{TOOL}: {name!r} used by {module.__name__} is not defined there")
    home = getattr(obj, "__module__", None)
    if isinstance(home, str) and getattr(sys.modules.get(home), name, None) is obj:
        return home
    # A module-level alias (no __module__ of its own): defined in the module itself.
    return module.__name__


class Method:
    """One admin operation: its signature as source text, and how to forward it."""

    def __init__(self, name: str, function: Callable[..., Any]) -> None:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
        node = tree.body[0]
        if not isinstance(node, ast.AsyncFunctionDef):
            raise SystemExit(f"{TOOL}: Admin.{name} is not an async def")
        self.name = name
        self.module = sys.modules[function.__module__]
        self.doc = inspect.getdoc(function) or f"The asyncio ``Admin.{name}``."
        args = node.args
        self.names: set[str] = _names_in(node.returns)
        params: list[str] = ["self"]
        forward: list[str] = []
        positional = args.posonlyargs + args.args
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults += args.defaults
        for arg, default in zip(positional, defaults, strict=True):
            if arg.arg == "self":
                continue
            params.append(self._param(arg, default))
            forward.append(arg.arg)
        if args.posonlyargs:
            params.insert(len(args.posonlyargs), "/")
        if args.vararg is not None:
            params.append("*" + self._param(args.vararg, None))
            forward.append("*" + args.vararg.arg)
        else:
            params.append("*")
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if arg.arg == "timeout":
                raise SystemExit(f"{TOOL}: Admin.{name} already has a 'timeout' parameter")
            params.append(self._param(arg, kw_default))
            forward.append(f"{arg.arg}={arg.arg}")
        params.append("timeout: float | None = None")
        if args.kwarg is not None:
            params.append("**" + self._param(args.kwarg, None))
            forward.append("**" + args.kwarg.arg)
        self.params = params
        self.forward = forward
        self.returns = ast.unparse(node.returns) if node.returns is not None else "None"

    def _param(self, arg: ast.arg, default: ast.expr | None) -> str:
        self.names |= _names_in(arg.annotation) | _names_in(default)
        text = arg.arg
        if arg.annotation is not None:
            text += f": {ast.unparse(arg.annotation)}"
            if default is not None:
                text += f" = {ast.unparse(default)}"
        elif default is not None:
            text += f"={ast.unparse(default)}"
        return text

    def imports(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for name in self.names:
            home = _origin(name, self.module)
            if home is not None:
                found.setdefault(home, set()).add(name)
        return found

    def render(self) -> str:
        doc = self.doc.rstrip() + "\n\n" + TIMEOUT_DOC
        doc_lines = doc.splitlines()
        body_doc = '"""' + doc_lines[0] + "\n" if len(doc_lines) > 1 else '"""' + doc_lines[0]
        if len(doc_lines) > 1:
            body_doc += "\n".join(("        " + line) if line else "" for line in doc_lines[1:])
            body_doc += '\n        """'
        else:
            body_doc += '"""'
        call = f"self._admin.{self.name}({', '.join(self.forward)})"
        return (
            f"    def {self.name}({', '.join(self.params)}) -> {self.returns}:\n"
            f"        {body_doc}\n"
            f'        return self._run({call}, timeout, "{self.name}()")\n'
        )


def operations() -> list[Method]:
    from kafkaio.admin import Admin

    methods = []
    for name in sorted(dir(Admin)):
        if name.startswith("_") or name in SKIP:
            continue
        function = inspect.getattr_static(Admin, name)
        if inspect.iscoroutinefunction(function):
            methods.append(Method(name, function))
    return methods


def render() -> str:
    methods = operations()
    imports: dict[str, set[str]] = {}
    for method in methods:
        for home, names in method.imports().items():
            imports.setdefault(home, set()).update(names)
    lines = [
        f"# Generated by {TOOL}. DO NOT EDIT.",
        '"""The blocking admin client: every :class:`kafkaio.Admin` operation, generated."""',
        "",
        "from __future__ import annotations",
        "",
    ]
    for home in sorted(imports):
        lines.append(f"from {home} import {', '.join(sorted(imports[home]))}")
    lines += [
        "from kafkaio.sync.admin_base import AdminBase",
        "",
        '__all__ = ["Admin"]',
        "",
        "",
        "class Admin(AdminBase):",
        f'    """{CLASS_DOC}"""',
        "",
    ]
    body = "\n".join(method.render() for method in methods)
    return "\n".join(lines) + "\n" + body


def ruff_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "ruff"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ruff"]


def normalise(source: str) -> str:
    """Sorted imports and ruff's formatting, as if the file were at OUTPUT."""
    cmd = ruff_cmd()
    stdin_name = ["--stdin-filename", str(OUTPUT), "-"]
    fixed = subprocess.run(
        [*cmd, "check", "--select", "I", "--fix-only", "--exit-zero", "--quiet", *stdin_name],
        input=source,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    return subprocess.run(
        [*cmd, "format", "--quiet", *stdin_name],
        input=fixed or source,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if admin.py is out of date")
    args = parser.parse_args(argv)
    text = normalise(render())
    current = OUTPUT.read_text() if OUTPUT.exists() else None
    if args.check:
        if current != text:
            print(
                f"{OUTPUT.relative_to(REPO)} is out of date: run .venv/bin/python {TOOL}",
                file=sys.stderr,
            )
            return 1
        print(f"{OUTPUT.relative_to(REPO)} is up to date")
        return 0
    if current != text:
        OUTPUT.write_text(text)
        print(f"wrote {OUTPUT.relative_to(REPO)}")
    else:
        print(f"{OUTPUT.relative_to(REPO)} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
