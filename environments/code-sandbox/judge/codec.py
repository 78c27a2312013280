"""Plain-data values on the wire between a solution's process and its judge, types preserved.

One value is one JSON value. JSON null, booleans, numbers (ints without a point, floats with one, and
NaN / Infinity), strings and arrays (lists) stand for themselves; every other type is an object with
exactly one key naming it:

    {"t": [...]} tuple       {"s": [...]} set        {"fs": [...]} frozenset
    {"d": [[k, v], ...]} dict (any hashable keys)    {"b": "hex"} bytes   {"ba": "hex"} bytearray
    {"c": [re, im]} complex  {"r": [start, stop, step]} range
    {"it": [...]} an iterator (generator, map, zip…), its items materialised
    {"bt": "name"} a builtin type (int, str, ValueError…), as in ``isinstance(x, int)`` tests
    {"fn": h} a callable, {"ref": h} any other object: handle h names it in the solution's process
    {"m": "name"} a module (top-level names only)

`decode` is the trusted side (the judge): it builds only builtins of exactly these types, plus the
judge's own handle classes, so comparing what it returns never runs code the solution wrote.
`encode` is used on both sides.
"""

import builtins
import math
import types

MAX_DEPTH = 100
MAX_ITEMS = 1_000_000

_ITERATORS = (
    types.GeneratorType,
    map,
    filter,
    zip,
    enumerate,
    reversed,
    type(iter([])),
    type(iter(())),
    type(iter("")),
    type(iter(range(0))),
    type(iter({})),
    type(iter(set())),
    type({}.keys()),
    type({}.values()),
    type({}.items()),
)


class WireError(Exception):
    """A value that is not plain data on the wire (malformed, unknown tag, unhashable key)."""


def encode(value, handle=None, depth=0):
    """`value` as a JSON-ready structure. `handle(obj)` names callables and other objects (an int);
    without it they raise WireError. Subclasses of plain types go as their plain value (a namedtuple
    as a tuple, a Counter as a dict)."""
    t = _scalar_or_depth(value, depth)
    if t is None:
        return value
    d = depth + 1
    if t is list:
        return [encode(x, handle, d) for x in value]
    if t is tuple:
        return {"t": [encode(x, handle, d) for x in value]}
    if t is dict:
        return {"d": [[encode(k, handle, d), encode(v, handle, d)] for k, v in value.items()]}
    if t is set:
        return {"s": [encode(x, handle, d) for x in value]}
    if t is frozenset:
        return {"fs": [encode(x, handle, d) for x in value]}
    if t is bytes:
        return {"b": value.hex()}
    if t is bytearray:
        return {"ba": value.hex()}
    if t is complex:
        return {"c": [value.real, value.imag]}
    if t is range:
        return {"r": [value.start, value.stop, value.step]}
    for base in (bool, int, float, str, list, tuple, dict, set, frozenset, bytes):
        if isinstance(value, base):
            plain = dict(dict.items(value)) if base is dict else base(value)
            return encode(plain, handle, depth)
    if t is type and getattr(builtins, value.__name__, None) is value:
        return {"bt": value.__name__}
    if isinstance(value, _ITERATORS):
        items = []
        for x in value:
            if len(items) >= MAX_ITEMS:
                raise WireError(f"iterator longer than {MAX_ITEMS} items")
            items.append(encode(x, handle, d))
        return {"it": items}
    if handle is None:
        raise WireError(f"a {t.__name__} is not plain data")
    return {"fn" if callable(value) else "ref": handle(value)}


def _json_codec():
    """(dumps, loads) straight from CPython's C accelerator `_json`, as `json` itself uses them:
    importing `json` (and with it `re` and `enum`) costs each sandboxed process ~7 ms of CPU, a tenth
    of a judged run. Falls back to `json` where `_json` is missing or differs."""
    try:
        import _json

        class _Context:
            strict = True
            object_hook = object_pairs_hook = None
            parse_float, parse_int = float, int
            parse_constant = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.__getitem__
            memo = {}

        def _refuse(obj):
            raise TypeError(f"not JSON: {type(obj).__name__}")

        scan = _json.make_scanner(_Context())
        encode = _json.make_encoder(
            None, _refuse, _json.encode_basestring_ascii, None, ":", ",", False, False, True
        )

        def dumps(obj):
            return "".join(encode(obj, 0))

        def loads(text):
            text = text.strip(" \t\r\n")
            try:
                value, end = scan(text, 0)
            except StopIteration:
                raise ValueError("not JSON") from None
            if end != len(text):
                raise ValueError("extra data after a JSON value")
            return value

        probe = [1, -2.5, "é", {"t": [True, None]}]
        if loads(dumps(probe)) != probe or dumps(probe) != '[1,-2.5,"\\u00e9",{"t":[true,null]}]':
            raise ValueError("_json behaves differently")
        return dumps, loads
    except Exception:
        import json

        return (lambda obj: json.dumps(obj, separators=(",", ":"))), json.loads


dumps, loads = _json_codec()
dumps.__doc__ = "One line of JSON (ASCII; NaN and Infinity allowed), no newline."
loads.__doc__ = "The value of one JSON text (str); ValueError (or RecursionError) when it is not JSON."

# Re-exported for runner.py and judge.py: the C module behind `signal`, which imports `enum` for its
# IntEnums (~4 ms of CPU a process).
try:
    import _signal as signal  # noqa: F401
except ImportError:  # pragma: no cover
    import signal  # noqa: F401


def decode(wire, resolve=None, depth=0):
    """The value of a wire structure, strictly: exact builtin types only. `resolve(tag, h)` turns a
    handle into an object ("fn"/"ref"); without it handles raise WireError.
    Raises WireError for anything malformed."""
    t = _scalar_or_depth(wire, depth)
    if t is None:
        return wire
    d = depth + 1
    if t is list:
        return [decode(x, resolve, d) for x in wire]
    if t is not dict or len(wire) != 1:
        raise WireError(f"not a wire value: {wire!r:.80}")
    ((tag, body),) = wire.items()
    try:
        if tag in ("t", "s", "fs", "it") and type(body) is list:
            items = [decode(x, resolve, d) for x in body]
            return {"t": tuple, "s": set, "fs": frozenset, "it": iter}[tag](items)
        if tag == "d" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("a dict entry is not a [key, value] pair")
                out[decode(pair[0], resolve, d)] = decode(pair[1], resolve, d)
            return out
        if tag in ("b", "ba") and type(body) is str:
            return (bytes if tag == "b" else bytearray).fromhex(body)
        if tag == "c" and _numbers(body, 2, (int, float)):
            return complex(body[0], body[1])
        if tag == "r" and _numbers(body, 3, (int,)):
            return range(body[0], body[1], body[2])
        if tag == "bt" and type(body) is str and isinstance(getattr(builtins, body, None), type):
            return getattr(builtins, body)
        if tag in ("fn", "ref") and type(body) is int and resolve is not None:
            return resolve(tag, body)
    except (TypeError, ValueError) as exc:  # unhashable set items or keys, bad hex, zero range step
        raise WireError(f"{tag} value: {exc}") from None
    raise WireError(f"not a wire value: {wire!r:.80}")


def _scalar_or_depth(value, depth):
    """None for a scalar (None, bool, int, float, str: itself on the wire), else its type; raises
    WireError past MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    t = type(value)
    # Identity, not `in`: a class whose metaclass defines __eq__ must not pass for a builtin.
    return None if value is None or t is bool or t is int or t is float or t is str else t


def _numbers(body, n, kinds):
    return type(body) is list and len(body) == n and all(type(x) in kinds for x in body)
