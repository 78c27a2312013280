"""Strict JSON in and out: NaN, Infinity and numbers that overflow a double are refused.

Python's `json` module reads and writes `NaN`/`Infinity` by default, which no JSON parser (the
orchestrator's included) accepts; a NaN weight once turned every `/v1/generate` answer into invalid
JSON. The worker decodes requests with `loads` and encodes every answer with `dumps`.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} overflows a double")
    return value


def loads(text: str | bytes) -> Any:
    """Parses JSON, refusing `NaN`, `Infinity`, `-Infinity` and numbers beyond ±1.8e308.

    Raises:
        ValueError: (`json.JSONDecodeError` included) the text is not strict JSON.
    """
    return json.loads(text, parse_constant=_constant, parse_float=_float)


def dumps(value: Any) -> str:
    """Serialises `value`, refusing non-finite floats.

    Raises:
        ValueError: `value` holds NaN or ±Infinity.
    """
    return json.dumps(value, allow_nan=False)
