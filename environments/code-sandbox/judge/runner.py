"""Runs a solution for its judge: the untrusted side of a unit-test run (`main.py` in the solution's sandbox).

It executes `solution.py` (then the task's `setup.py`, if any) in one namespace, says it is ready, then
answers the judge's requests, read as lines on its stdin (the solution itself gets an empty stdin):
look names up, call functions, with the results written as `codec` lines on fd 3. It holds no test
and no expected value, so nothing the solution does here can pass a test: the judge, in another
sandbox, decides. Everything this file does the solution could do too; the judge trusts none of it.
"""

import os
import types

import codec
from codec import signal

_requests = os.fdopen(os.dup(0), "rb")
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)

_objects = {}
_handles = {}


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _send(obj):
    data = (codec.dumps(obj) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(3, view) :]


def _handle(obj):
    h = _handles.get(id(obj))
    if h is None:
        h = _handles[id(obj)] = len(_objects) + 1
        _objects[h] = obj
    return h


def _resolve(tag, h):
    return _objects[h]


def _failure(exc):
    """What the judge is told about an exception: its status and text."""
    if isinstance(exc, _Timeout):
        return {"timeout": True}
    if isinstance(exc, MemoryError):
        return {"memory": True}
    name = type(exc).__name__
    try:
        text = str(exc)
        text = f"{name}: {text}" if text else name
    except BaseException:
        text = name
    return {"raise": {"type": name, "message": text[-600:]}}


def _timed(seconds, fn, *args):
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _run_file(path, ns, seconds):
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    _timed(seconds, exec, code, ns)


def _lookup(ns, names):
    found = {}
    for name in names:
        if name not in ns:
            continue
        value = ns[name]
        if isinstance(value, types.ModuleType):
            found[name] = {"m": value.__name__}
        else:
            found[name] = codec.encode(value, _handle)
    return found


def _answer(ns, request):
    op = request.get("op")
    if op == "get":
        return {"found": _lookup(ns, request["names"])}
    if op == "call":
        fn = _objects[request["fn"]]
        args = [codec.decode(a, _resolve) for a in request["args"]]
        kwargs = {k: codec.decode(v, _resolve) for k, v in request["kwargs"]}
        # Encoding is timed too: it runs the solution's code (a generator's body, say).
        return {"value": _timed(request["timeout"], lambda: codec.encode(fn(*args, **kwargs), _handle))}
    if op == "end":
        return {"end": True}
    raise ValueError(f"unknown request {op!r}")


def _main():
    signal.signal(signal.SIGALRM, _alarm)
    with open("limits.json") as f:
        limits = codec.loads(f.read())
    ns = {"__name__": "solution", "__builtins__": __builtins__}
    for phase, path in (("solution", "solution.py"), ("setup", "setup.py")):
        if not os.path.exists(path):
            continue
        try:
            _run_file(path, ns, limits["solutionTimeoutS"])
        except BaseException as exc:
            _send(dict(id=0, ready=False, phase=phase, **_failure(exc)))
            return
    _send({"id": 0, "ready": True})
    for line in _requests:
        request = codec.loads(line.decode())
        try:
            reply = _answer(ns, request)
        except BaseException as exc:
            reply = _failure(exc)
        try:
            _send(dict(id=request["id"], **reply))
        except BaseException as exc:  # the value could not be sent (not plain data, too deep…)
            _send(dict(id=request["id"], **_failure(exc)))
        if request.get("op") == "end":
            return


_main()
