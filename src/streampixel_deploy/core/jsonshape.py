"""One way plain data becomes JSON: a dataclass's fields under their camelCase names (``old_bytes`` -> ``oldBytes``).

A leaf: it imports nothing from the package, so the leaves of core (:mod:`.changes`) and the relay's envelope use it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def camel(name: str) -> str:
    """``project_id`` -> ``projectId``."""
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_fields(data: DataclassInstance) -> dict[str, object]:
    """Every field of ``data``, in declaration order, keyed by its camelCase name (values as they are)."""
    return {camel(f.name): getattr(data, f.name) for f in dataclasses.fields(data)}
