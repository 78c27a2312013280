"""The judge's end of the line to a solution's process: strict request/reply, values as plain data.

Requests go out on a pipe (one `codec` line each, `id` counting up from 1); replies come back on
stdin and must answer exactly the request just sent, in order: the process first says it is ready
(`id` 0), then one reply per request. A line nobody asked for, a duplicate, a reply out of order or
one that is not well-formed is a `Violation`; no reply before the deadline is `Stuck`; the end of the
stream is `Gone`. After any of the three every later request fails the same way.

Everything that comes back is decoded by `codec.decode` into exact builtins, or into this judge's
own `Function` / `Remote` handles: comparing it never runs code the solution wrote.
"""

import builtins
import os
import select
import sys
import time

import codec

GRACE_S = 0.5
MAX_LINE = 16 << 20

# Exceptions the solution says it raised are re-raised here as the builtin of that name, so that a
# test that expects one (``except ValueError``) sees it; never a BaseException such as SystemExit.
_EXCEPTIONS = {
    name: cls for name, cls in vars(builtins).items() if isinstance(cls, type) and issubclass(cls, Exception)
}


class Violation(BaseException):
    """The solution's process broke the protocol (forged, duplicated, out-of-order or malformed line)."""


class Stuck(BaseException):
    """The solution's process did not answer before the deadline."""


class Gone(BaseException):
    """The solution's process ended (its reply stream closed)."""


class SolutionTimeout(BaseException):
    """The solution's process says the call ran past its time limit."""


class SolutionMemory(BaseException):
    """The solution's process says the call ran out of memory."""


class SolutionError(Exception):
    """The solution raised an exception that is not a builtin one."""


class Unsupported(Exception):
    """A test passes the solution something that cannot go as plain data (a lambda, an object)."""


class Function:
    """A callable of the solution's process; calling it asks the process."""

    __slots__ = ("_link", "handle")

    def __init__(self, link, handle):
        self._link, self.handle = link, handle

    def __call__(self, *args, **kwargs):
        return self._link.call(self.handle, args, kwargs)

    def __repr__(self):
        return f"<solution function #{self.handle}>"


class Remote:
    """Any other object of the solution's process: equal only to itself, usable only as an argument."""

    __slots__ = ("handle",)

    def __init__(self, handle):
        self.handle = handle

    def __repr__(self):
        return f"<solution object #{self.handle}>"


def _is_stdlib(name):
    top = name.split(".")[0]
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return top in names
    return top in sys.builtin_module_names


class Link:
    """Requests to the solution's process on `out_fd`, replies from fd 0."""

    def __init__(self, out_fd):
        self._out = out_fd
        os.set_blocking(out_fd, False)
        self._buf = bytearray()
        self._next = 1
        self._handles = {}
        self.state = None
        self.deadline = float("inf")
        self.raised = None

    # -- framing -------------------------------------------------------------------------------
    def _read_line(self, deadline):
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                return line
            start = len(self._buf)
            if start > MAX_LINE:
                raise Violation(f"a reply longer than {MAX_LINE} bytes")
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([0], [], [], left)[0]:
                raise Stuck("no reply within the time limit")
            chunk = os.read(0, 1 << 20)
            if not chunk:
                raise Gone("the solution's process ended")
            self._buf += chunk

    def _unsolicited(self):
        if self._buf:
            return True
        if select.select([0], [], [], 0)[0]:
            chunk = os.read(0, 1 << 20)
            self._buf += chunk
            return bool(chunk)  # b"": the stream ended, which the next read reports
        return False

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [self._out], [], left)[1]:
                raise Stuck("the solution's process stopped reading")
            try:
                view = view[os.write(self._out, view) :]
            except BrokenPipeError:
                raise Gone("the solution's process ended") from None

    def _parse(self, line, expected):
        try:
            reply = codec.loads(line.decode())
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise Violation(f"a reply that is not JSON: {line!r:.80}") from None
        if type(reply) is not dict or type(reply.get("id")) is not int or reply["id"] != expected:
            raise Violation(f"reply {line!r:.80} where the reply to request {expected} was due")
        return reply

    def _guard(self, fn, *args):
        if self.state is not None:
            raise type(self.state)(*self.state.args)
        try:
            return fn(*args)
        except (Violation, Stuck, Gone) as exc:
            self.state = exc
            raise
        except BaseException:  # interrupted mid-exchange (the judge's alarm): its reply cannot be matched
            self.state = Stuck("interrupted while waiting for a reply")
            raise

    # -- requests ------------------------------------------------------------------------------
    def ready(self, deadline):
        """Waits for the ready line; returns it (`ready` true, or false with `phase` and a failure)."""
        return self._guard(lambda: self._parse(self._read_line(deadline), 0))

    def exchange(self, request, deadline):
        """Sends one request and returns its reply (a dict with the same id)."""

        def go():
            if self._unsolicited():
                raise Violation("the solution's process wrote a line nobody asked for")
            request["id"] = self._next
            self._next += 1
            self._write((codec.dumps(request) + "\n").encode(), deadline + GRACE_S)
            return self._parse(self._read_line(deadline + GRACE_S), request["id"])

        return self._guard(go)

    def lookup(self, names, deadline):
        """Binds the solution's top-level `names` it has: functions as `Function`, modules as the
        judge's own import of the same standard-library module, data as plain values."""
        reply = self.exchange({"op": "get", "names": sorted(names)}, deadline)
        found = reply.get("found")
        if type(found) is not dict or len(reply) != 2:
            raise self._violation("a malformed reply to a name lookup")
        out = {}
        for name, wire in found.items():
            if name not in names:
                raise self._violation(f"a name nobody asked for: {name!r:.80}")
            if type(wire) is dict and list(wire) == ["m"] and type(wire["m"]) is str:
                if _is_stdlib(wire["m"]):
                    __import__(wire["m"])
                    out[name] = sys.modules[wire["m"]]
                continue
            out[name] = self._decode(wire)
        return out

    def call(self, handle, args, kwargs):
        """Calls the solution's function `handle`; returns its value or raises what it raised."""
        try:
            wire_args = [codec.encode(a, self._handle) for a in args]
            wire_kwargs = [[k, codec.encode(v, self._handle)] for k, v in kwargs.items()]
        except codec.WireError as exc:
            raise Unsupported(f"cannot pass this to the solution: {exc}") from None
        timeout = max(self.deadline - time.monotonic(), 0.001)
        request = {"op": "call", "fn": handle, "args": wire_args, "kwargs": wire_kwargs, "timeout": timeout}
        reply = self.exchange(request, self.deadline)
        return self._outcome(reply)

    def end(self, deadline):
        """Closes the conversation; a line left over or a wrong reply is a Violation."""
        reply = self.exchange({"op": "end"}, deadline)
        if reply != {"id": reply["id"], "end": True}:
            raise self._violation("a malformed reply to the end of the run")
        if self._unsolicited():
            raise self._violation("the solution's process wrote a line nobody asked for")

    # -- values --------------------------------------------------------------------------------
    def _violation(self, message):
        self.state = Violation(message)
        return self.state

    def _handle(self, obj):
        if type(obj) is Function or type(obj) is Remote:
            return obj.handle
        raise codec.WireError(f"a {type(obj).__name__} is not plain data")

    def _resolve(self, tag, handle):
        key = (tag, handle)
        if key not in self._handles:
            self._handles[key] = Function(self, handle) if tag == "fn" else Remote(handle)
        return self._handles[key]

    def _decode(self, wire):
        try:
            return codec.decode(wire, self._resolve)
        except (codec.WireError, RecursionError) as exc:
            raise self._violation(f"a value that is not plain data: {exc}") from None

    def _outcome(self, reply):
        keys = sorted(k for k in reply if k != "id")
        if keys == ["value"]:
            return self._decode(reply["value"])
        if keys == ["timeout"] and reply["timeout"] is True:
            raise SolutionTimeout("time limit exceeded")
        if keys == ["memory"] and reply["memory"] is True:
            raise SolutionMemory("memory limit exceeded")
        raised = reply.get("raise")
        if keys == ["raise"] and type(raised) is dict:
            name, message = raised.get("type"), raised.get("message")
            if type(name) is str and type(message) is str:
                try:
                    exc = _EXCEPTIONS.get(name, SolutionError)(message[-600:])
                except Exception:
                    exc = SolutionError(message[-600:])
                self.raised = exc
                raise exc
        raise self._violation(f"a malformed reply to a call: {reply!r:.80}")
