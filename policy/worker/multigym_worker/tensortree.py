"""Pickle-free storage of nested state (optimizer state dicts, RNG states): tensors go to a
safetensors file, the structure and the plain values to JSON.

Loading runs no code from the files: safetensors is a header plus raw buffers, and the JSON decoder
below builds only dicts, lists, tuples, numbers, strings, booleans, None and tensors named in the
safetensors file. (`torch.load` unpickles, and a crafted pickle runs arbitrary code.)

Encoding of a value v:
  * tensor → `{"$tensor": KEY}` (the tensor stored under KEY, moved to the CPU, contiguous);
  * dict → `{"$dict": [[key, value], ...]}` (keys may be str or int: optimizer states use int keys);
  * tuple → `{"$tuple": [...]}`; list → list; None, bool, int, str, finite float → themselves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file


class TreeFormatError(ValueError):
    """The JSON structure or the tensors do not form a valid tree (unknown tag, missing tensor)."""


def encode(value: Any, tensors: dict[str, torch.Tensor], path: str = "t") -> Any:
    """The JSON form of `value`; its tensors are added to `tensors` under keys derived from `path`.

    Raises:
        TreeFormatError: a value of another type, or a non-finite float.
    """
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().to("cpu").contiguous().clone()
        return {"$tensor": path}
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if not isinstance(k, str | int) or isinstance(k, bool):
                raise TreeFormatError(f"{path}: dict key {k!r} is neither str nor int")
            items.append([k, encode(v, tensors, f"{path}.{k}")])
        return {"$dict": items}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, tensors, f"{path}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode(v, tensors, f"{path}.{i}") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise TreeFormatError(f"{path}: non-finite float {value}")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TreeFormatError(f"{path}: cannot store a {type(value).__name__}")


def decode(raw: Any, tensors: dict[str, torch.Tensor], path: str = "t") -> Any:
    """The inverse of `encode`.

    Raises:
        TreeFormatError: an unknown tag, a malformed entry or a tensor missing from `tensors`.
    """
    if isinstance(raw, list):
        return [decode(v, tensors, f"{path}.{i}") for i, v in enumerate(raw)]
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise TreeFormatError(f"{path}: expected one tag, got keys {sorted(raw)[:5]}")
        tag, body = next(iter(raw.items()))
        if tag == "$tensor":
            if not isinstance(body, str) or body not in tensors:
                raise TreeFormatError(f"{path}: tensor {body!r} is not in the tensor file")
            return tensors[body]
        if tag == "$tuple" and isinstance(body, list):
            return tuple(decode(v, tensors, f"{path}.{i}") for i, v in enumerate(body))
        if tag == "$dict" and isinstance(body, list):
            out: dict[Any, Any] = {}
            for item in body:
                ok = isinstance(item, list) and len(item) == 2 and isinstance(item[0], str | int)
                if not ok or isinstance(item[0], bool):
                    raise TreeFormatError(f"{path}: malformed dict entry {str(item)[:80]}")
                out[item[0]] = decode(item[1], tensors, f"{path}.{item[0]}")
            return out
        raise TreeFormatError(f"{path}: unknown or malformed tag {tag!r}")
    if raw is None or isinstance(raw, bool | int | float | str):
        return raw
    raise TreeFormatError(f"{path}: unexpected JSON value {type(raw).__name__}")


def save_tree(value: Any, json_path: Path, tensor_path: Path) -> None:
    """Writes `value` as `json_path` (structure) + `tensor_path` (safetensors)."""
    tensors: dict[str, torch.Tensor] = {}
    structure = encode(value, tensors)
    save_file(tensors, str(tensor_path))
    json_path.write_text(json.dumps(structure, allow_nan=False))


def load_tree(json_path: Path, tensor_path: Path) -> Any:
    """Reads what `save_tree` wrote.

    Raises:
        TreeFormatError: unreadable or inconsistent files.
    """
    try:
        tensors = load_file(str(tensor_path))
        structure = json.loads(json_path.read_text(), parse_constant=_reject_constant)
    except (OSError, SafetensorError, ValueError) as e:
        raise TreeFormatError(f"{json_path.name} / {tensor_path.name}: {e}") from e
    return decode(structure, tensors)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")
