"""Checks on values that arrive from people and API callers: the message says what was wrong, for a person.

API callers can send any JSON, so an "int" parameter may arrive as a string, a float, NaN or null.
"""
from __future__ import annotations

import math

import numpy as np


def as_int(value, name: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a whole number, not {value!r}.")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, not {value!r}.") from None
    if not math.isfinite(f) or f != int(f):
        raise ValueError(f"{name} must be a whole number, not {value!r}.")
    v = int(f)
    if lo is not None and v < lo or hi is not None and v > hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, not {v}." if hi is not None
                         else f"{name} must be at least {lo}, not {v}.")
    return v


def as_float(value, name: str, lo: float | None = None, hi: float | None = None,
             lo_inclusive: bool = True) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number, not {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}.") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, not {value!r}.")
    if lo is not None and (v < lo or (v == lo and not lo_inclusive)):
        raise ValueError(f"{name} must be {'at least' if lo_inclusive else 'greater than'} {lo}, not {v}.")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be at most {hi}, not {v}.")
    return v


def as_bool(value, name: str) -> bool:
    """A real true/false: "false" is a non-empty string, so truthiness would read it as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false, not {value!r}.")
    return bool(value)


def as_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}.")
    return value


def as_matrix(value, name: str, max_side: int = 64) -> np.ndarray:
    """A non-empty rectangular list of lists of finite numbers, at most max_side x max_side, as float64."""
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) == 0:
        raise ValueError(f"{name} must be a non-empty list of rows of numbers.")
    rows = []
    for r, row in enumerate(value):
        if not isinstance(row, (list, tuple, np.ndarray)) or len(row) == 0:
            raise ValueError(f"{name} row {r} must be a non-empty list of numbers.")
        rows.append(row)
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ValueError(f"{name} is ragged: its rows have lengths {sorted({len(row) for row in rows})}; "
                         "every row needs the same number of columns.")
    if len(rows) > max_side or width > max_side:
        raise ValueError(f"{name} is {len(rows)}x{width}; the limit is {max_side}x{max_side}.")
    out = np.empty((len(rows), width), dtype=np.float64)
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) and not _is_numeric_str(v):
                raise ValueError(f"{name}[{r}][{c}] is {v!r}, which is not a number.")
            out[r, c] = float(v)
            if not math.isfinite(out[r, c]):
                raise ValueError(f"{name}[{r}][{c}] is {v!r}; only finite numbers are allowed (no NaN or inf).")
    return out


def _is_numeric_str(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        float(v)
    except ValueError:
        return False
    return True
