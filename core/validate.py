"""Checks on values that arrive from people and API callers: the message says what was wrong, for a person.

API callers can send any JSON, so an "int" parameter may arrive as a string, a float, NaN, null or an integer
with hundreds of digits. Messages echo at most ECHO characters of what was sent (`echo`), so a 100,000-character
value gives a short message and a short log line.
"""
from __future__ import annotations

import math
import unicodedata

import numpy as np

ECHO = 80                      # characters of a caller's value that a message repeats
FLOAT32_MAX = float(np.finfo(np.float32).max)  # ~3.4e38: torch computes in float32, so larger numbers become inf
FLOAT32_TINY = float(np.finfo(np.float32).tiny)  # ~1.2e-38: its smallest normal number; below it precision is lost


def echo(value) -> str:
    """repr(value), cut to about ECHO characters, with how much was left out."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10 ** ECHO:
        return f"a whole number of {len(str(abs(value))):,} digits"  # repr() of such an int is slow, and useless
    text = repr(value)
    if len(text) <= ECHO:
        return text
    return f"{text[:ECHO - 3]}... ({len(text):,} characters)"


def _number(value, name: str, kind: str) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be {kind}, not {echo(value)}.")
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        raise ValueError(f"{name} is {echo(value)}, beyond what a float holds; use a number between "
                         f"-{FLOAT32_MAX:.3g} and {FLOAT32_MAX:.3g}.") from None
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {kind}, not {echo(value)}.") from None


def as_int(value, name: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        v = value   # exactly: a float holds whole numbers exactly only up to 2**53 (seeds go beyond)
    else:
        f = _number(value, name, "a whole number")
        if not math.isfinite(f) or f != int(f):
            raise ValueError(f"{name} must be a whole number, not {echo(value)}.")
        v = int(f)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        shown = echo(v)
        raise ValueError(f"{name} must be between {lo} and {hi}, not {shown}." if hi is not None
                         else f"{name} must be at least {lo}, not {shown}.")
    return v


def as_float(value, name: str, lo: float | None = None, hi: float | None = None,
             lo_inclusive: bool = True) -> float:
    v = _number(value, name, "a number")
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, not {echo(value)}.")
    if lo is not None and (v < lo or (v == lo and not lo_inclusive)):
        raise ValueError(f"{name} must be {'at least' if lo_inclusive else 'greater than'} {lo}, not {v}.")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be at most {hi}, not {v}.")
    return v


def as_bool(value, name: str) -> bool:
    """A real true/false: "false" is a non-empty string, so truthiness would read it as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false, not {echo(value)}.")
    return bool(value)


def as_choice(value, name: str, choices) -> str:
    try:
        known = value in choices
    except TypeError:  # an unhashable value (a list, a dict) against a dict's keys
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, not {echo(value)}.")
    return value


def as_matrix(value, name: str, max_side: int = 64) -> np.ndarray:
    """A non-empty rectangular list of lists of finite numbers, at most max_side x max_side, as float64; every
    number within float32's range, where torch computes."""
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) == 0:
        raise ValueError(f"{name} must be a non-empty list of rows of numbers.")
    rows = []
    for r, row in enumerate(value):
        if not isinstance(row, (list, tuple, np.ndarray)) or len(row) == 0:
            raise ValueError(f"{name} row {r} must be a non-empty list of numbers.")
        rows.append(row)
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ValueError(f"{name} is ragged: its rows have lengths {sorted({len(row) for row in rows})[:8]}; "
                         "every row needs the same number of columns.")
    if len(rows) > max_side or width > max_side:
        raise ValueError(f"{name} is {len(rows)}x{width}; the limit is {max_side}x{max_side}.")
    out = np.empty((len(rows), width), dtype=np.float64)
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if isinstance(v, bool) or (not isinstance(v, (int, float, np.number)) and not _is_numeric_str(v)):
                raise ValueError(f"{name}[{r}][{c}] is {echo(v)}, which is not a number.")
            out[r, c] = as_float32(v, f"{name}[{r}][{c}]")
    return out


def as_vector(value, name: str, max_len: int = 1024) -> np.ndarray:
    """A non-empty list of at most max_len finite numbers within float32's range, as float64."""
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) == 0:
        raise ValueError(f"{name} must be a non-empty list of numbers.")
    if len(value) > max_len:
        raise ValueError(f"{name} has {len(value):,} values; the limit is {max_len:,}.")
    out = np.empty(len(value), dtype=np.float64)
    for i, v in enumerate(value):
        if isinstance(v, bool) or (not isinstance(v, (int, float, np.number)) and not _is_numeric_str(v)):
            raise ValueError(f"{name}[{i}] is {echo(v)}, which is not a number.")
        out[i] = as_float32(v, f"{name}[{i}]")
    return out


def as_float32(value, name: str) -> float:
    """A finite number that float32 can hold (|x| <= 3.4e38)."""
    v = _number(value, name, "a number")
    if not math.isfinite(v):
        raise ValueError(f"{name} is {echo(value)}; only finite numbers are allowed (no NaN or inf).")
    if abs(v) > FLOAT32_MAX:
        raise ValueError(f"{name} is {v:.3g}, beyond what float32 holds (±{FLOAT32_MAX:.3g}), which torch computes "
                         "in; use a smaller number.")
    return v


def as_text(value, name: str, max_chars: int) -> str:
    """A string of at most max_chars characters, without unpaired surrogates or control characters (newlines and
    tabs are fine): tokenizers and file systems refuse those with errors a person cannot act on."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}.")
    if len(value) > max_chars:
        raise ValueError(f"The {name} is {len(value):,} characters; the limit is {max_chars:,}.")
    for i, ch in enumerate(value):
        if "\ud800" <= ch <= "\udfff":
            raise ValueError(f"The {name} has an unpaired surrogate (U+{ord(ch):04X}) at character {i}: it is not "
                             "valid Unicode text.")
        if unicodedata.category(ch) == "Cc" and ch not in "\n\t\r":
            raise ValueError(f"The {name} has a control character (U+{ord(ch):04X}) at character {i}; remove it.")
    return value


def _is_numeric_str(v) -> bool:
    if not isinstance(v, str) or len(v) > ECHO:
        return False
    try:
        float(v)
    except ValueError:
        return False
    return True
