"""The user's own code referenced as `module:function`: tasks and custom evaluators.

Modules are imported with the repository root first on `sys.path`, so `evals.checks:polite`
means `evals/checks.py` beside `prompts/`. A function may be sync or async; it is given
the keyword arguments it declares among those offered (all of them if it takes **kwargs).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REFERENCE_HINT = "write `module:function`, e.g. `evals.checks:polite` for evals/checks.py"


def load_function(reference: str, root: Path | None = None) -> Callable[..., Any]:
    """Import `module:function`; ValueError with the reason when it cannot be had."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"{reference!r} is not a function reference: {REFERENCE_HINT}")
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if root is not None:
        _forget_if_elsewhere(module_name, root)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        where = f" (looked in {root} and the installed packages)" if root else ""
        raise ValueError(f"cannot import {module_name!r}: {exc}{where}") from None
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        raise ValueError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc} "
            f"({last.filename}:{last.lineno})"
        ) from None
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ValueError(f"module {module_name!r} has no {attribute!r}")
    if not callable(target):
        raise ValueError(f"{reference!r} is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]


def _forget_if_elsewhere(module_name: str, root: Path) -> None:
    """A package of the same name imported from another repository (a test run, a notebook
    that evaluated two repositories) must not shadow this one's."""
    top = module_name.split(".")[0]
    loaded = sys.modules.get(top)
    file = getattr(loaded, "__file__", None) if loaded is not None else None
    if file is None or Path(file).resolve().is_relative_to(Path(root).resolve()):
        return
    if not (Path(root) / top).exists() and not (Path(root) / f"{top}.py").exists():
        return  # not the repository's own module: an installed package
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()


class UserFunction:
    """A loaded function and the arguments it takes, called sync or async alike."""

    def __init__(
        self, reference: str, root: Path | None = None, function: Callable[..., Any] | None = None
    ):
        self.reference = reference
        self.function = function if function is not None else load_function(reference, root)
        self.is_async = inspect.iscoroutinefunction(self.function)
        try:
            parameters = inspect.signature(self.function).parameters
        except (TypeError, ValueError):
            parameters = {}  # type: ignore[assignment]
        self.takes_all = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        self.names = {
            name
            for name, p in parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    @classmethod
    def wrap(cls, function: Callable[..., Any]) -> UserFunction:
        """A function given from code (the Python API) rather than named in git."""
        module = getattr(function, "__module__", None) or "?"
        name = getattr(function, "__qualname__", None) or repr(function)
        return cls(f"{module}:{name}", function=function)

    def arguments(self, offered: dict[str, Any]) -> dict[str, Any]:
        if self.takes_all:
            return offered
        return {name: value for name, value in offered.items() if name in self.names}

    async def call(self, *, in_thread: bool = False, **offered: Any) -> Any:
        """Await it; a sync function runs in a worker thread when `in_thread` (a task that
        blocks on I/O would otherwise hold up every other item)."""
        arguments = self.arguments(offered)
        if in_thread and not self.is_async:
            import asyncio

            result = await asyncio.to_thread(self.function, **arguments)
        else:
            result = self.function(**arguments)
        if inspect.isawaitable(result):
            result = await result
        return result
