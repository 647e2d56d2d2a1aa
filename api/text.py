"""Text as requests may carry it: no control characters (a NUL cannot be stored in
PostgreSQL's text or JSONB) and no lone surrogates (they are not Unicode, and cannot be
encoded to UTF-8); multi-line text may hold tabs and line breaks."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_SURROGATES = "\ud800-\udfff"
_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f{_SURROGATES}]")
_LINES = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f{_SURROGATES}]")


def one_line(value: str) -> str:
    if _ONE_LINE.search(value):
        raise ValueError("must not contain control characters, line breaks or lone surrogates")
    return value


def lines(value: str) -> str:
    if _LINES.search(value):
        raise ValueError("must not contain control characters (but tab and line breaks)")
    return value


def is_clean(value: str) -> bool:
    """Whether `value` holds no control character and no lone surrogate (a query, a cursor)."""
    return _ONE_LINE.search(value) is None


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(one_line),
]
Text = Annotated[str, StringConstraints(max_length=5000), AfterValidator(lines)]
Line = Annotated[str, StringConstraints(max_length=500), AfterValidator(one_line)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(one_line)
]
