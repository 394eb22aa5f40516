"""A digest of what a listing is rendered from, so that a page rendered again from the same values (nothing
changed but the second) is not rendered again: the template reads nothing but its context and the visitor's
chrome, which is the same for every visitor.

Only values whose digest says all there is to them: JSON data, dataclasses of such, and functions whose code
and captured values are such (a module's helpers, a lambda over a name). Anything else makes the page
undigestible (None), and it is rendered each time, as before."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
from typing import Any


class _Undigestible(TypeError):
    pass


def _describe(value: Any) -> Any:
    if isinstance(value, types.FunctionType):
        cells = [cell.cell_contents for cell in value.__closure__ or ()]
        return {"function": f"{value.__module__}.{value.__qualname__}", "code": id(value.__code__), "cells": cells}
    if isinstance(value, types.BuiltinFunctionType):
        return {"builtin": f"{value.__module__}.{value.__qualname__}"}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"dataclass": f"{type(value).__module__}.{type(value).__qualname__}", "fields": fields}
    if isinstance(value, (tuple, set, frozenset)):
        return {type(value).__name__: sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)}
    raise _Undigestible(type(value).__name__)


def digest(values: dict[str, Any]) -> bytes | None:
    """The same digest for equal values; None for values it cannot tell apart by their content."""
    try:
        text = json.dumps(values, default=_describe, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except (_Undigestible, TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode()).digest()
