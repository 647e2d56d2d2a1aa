"""Whether a contract's JSON Schema still describes what its consumers were promised: the
changes that need a new `schema_version` (and an upgrader), told apart from those a version
may take in place (a new optional property, a description).

Both schemas are of the same event type and version. A property removed, retyped (its
`type`, `format`, `enum`, `const`, a constraint, the alternatives of its `anyOf`) or newly
required is breaking: messages already on the topic, or a consumer validating with the older
schema, would no longer agree with it. `$ref`s are followed within each schema's own `$defs`,
so a nested model renamed without changing shape is not breaking, and one that changed is
compared property by property.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# What a value may be: changed in either direction, someone reading it is surprised.
_SHAPE_KEYWORDS = (
    "type",
    "format",
    "enum",
    "const",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)
_ALTERNATIVES = ("anyOf", "oneOf", "allOf")
_ABSENT: Any = object()


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One human-readable reason per breaking change from `old` to `new` (empty: none)."""
    reasons: list[str] = []
    _compare(old, new, "", _Roots(old, new), reasons, set())
    return reasons


@dataclass(frozen=True)
class _Roots:
    """The two whole schemas, which `$ref`s point into."""

    old: dict[str, Any]
    new: dict[str, Any]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema, None
    if not ref.startswith("#/"):
        raise ValueError(f"only references within the schema are compared, not {ref}")
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    # Keywords beside a $ref (a default, a description) apply too.
    beside = {key: value for key, value in schema.items() if key != "$ref"}
    return {**target, **beside}, ref


def _compare(
    old: dict[str, Any],
    new: dict[str, Any],
    path: str,
    roots: _Roots,
    reasons: list[str],
    seen: set[tuple[str, str]],
) -> None:
    old, old_ref = _resolve(old, roots.old)
    new, new_ref = _resolve(new, roots.new)
    if old_ref is not None and new_ref is not None:
        if (old_ref, new_ref) in seen:  # a recursive model, already being compared
            return
        seen = seen | {(old_ref, new_ref)}
    where = path or "the message"

    for keyword in _SHAPE_KEYWORDS:
        old_value, new_value = old.get(keyword, _ABSENT), new.get(keyword, _ABSENT)
        if old_value != new_value:
            reasons.append(
                f"{where}: {keyword} changed from {_show(old_value)} to {_show(new_value)}"
            )

    old_properties: dict[str, Any] = old.get("properties", {})
    new_properties: dict[str, Any] = new.get("properties", {})
    for name, old_property in old_properties.items():
        inner = f"{path}.{name}" if path else name
        if name not in new_properties:
            reasons.append(f"{inner}: removed")
        else:
            _compare(old_property, new_properties[name], inner, roots, reasons, seen)
    was_required = set(old.get("required", []))
    for name in new.get("required", []):
        if name not in was_required:
            inner = f"{path}.{name}" if path else name
            added = "" if name in old_properties else " (a new property)"
            reasons.append(f"{inner}: newly required{added}")

    for keyword in ("items", "additionalProperties"):
        old_inner, new_inner = old.get(keyword, _ABSENT), new.get(keyword, _ABSENT)
        if isinstance(old_inner, dict) and isinstance(new_inner, dict):
            _compare(old_inner, new_inner, f"{path}[{keyword}]", roots, reasons, seen)
        elif isinstance(old_inner, dict) != isinstance(new_inner, dict):
            reasons.append(
                f"{where}: {keyword} changed from {_show(old_inner)} to {_show(new_inner)}"
            )

    for keyword in _ALTERNATIVES:
        old_options: list[Any] = old.get(keyword, [])
        new_options: list[Any] = new.get(keyword, [])
        if len(old_options) != len(new_options):
            reasons.append(
                f"{where}: {keyword} went from {len(old_options)} alternatives "
                f"to {len(new_options)}"
            )
            continue
        for index, (old_option, new_option) in enumerate(
            zip(old_options, new_options, strict=True)
        ):
            _compare(old_option, new_option, f"{path}<{keyword}[{index}]>", roots, reasons, seen)


def _show(value: Any) -> str:
    return "nothing" if value is _ABSENT else repr(value)
