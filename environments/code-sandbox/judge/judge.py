"""The trusted judge of a code task's unit tests (`main.py` of a sandbox of its own).

It runs the task's tests itself (HumanEval's `check(candidate)`, MBPP's asserts), with every name
that belongs to the solution bound to a proxy that asks the solution's process (see `link.py`): the
solution never sees a test or an expected value, and what comes back is plain data compared with
Python's builtin operations. The task's prompt (its imports and helper functions) and setup code run
here too, as the trusted versions. Input: `spec.json`. Output, one JSON line each on fd 3:

    {"solution": "ok"} | {"solution": STATUS, "phase": "solution"|"setup", "error": TEXT}
    {"test": I, "status": STATUS, "ms": MS, "error"?: TEXT}      for I = 0, 1, … in order
    {"done": true, "violation"?: TEXT, "judgeError"?: TEXT}

STATUS of a test: pass, fail (an assert failed), error, timeout, memory, exited (the solution's
process ended during this test), not_run (it ended or stopped answering before it).
"""

import builtins
import os
import time

import codec
from codec import signal
from link import (
    GRACE_S,
    Gone,
    Link,
    SolutionMemory,
    SolutionTimeout,
    Stuck,
    Violation,
)

_report_fd = 3


class _Alarm(BaseException):
    pass


def _alarm(signum, frame):
    raise _Alarm()


def report(**obj):
    data = (codec.dumps(obj) + "\n").encode()
    while data:
        data = data[os.write(_report_fd, data) :]


def _text(exc, link):
    if exc is link.raised:
        return "the solution raised " + str(exc)
    text = str(exc)
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[-600:]


def _failure_status(reply):
    if reply.get("timeout") is True:
        return "timeout", "time limit exceeded"
    if reply.get("memory") is True:
        return "memory", "MemoryError"
    raised = reply.get("raise")
    message = raised.get("message") if type(raised) is dict else None
    return "error", message[-600:] if type(message) is str else "failed"


def _compile(source, index):
    try:
        return compile(source, f"test_{index}", "exec")
    except SyntaxError as exc:
        return exc


def _global_names(code):
    """Names a test's code may read as globals, nested functions included (attribute names too: a
    superset, which costs only a lookup of names the solution does not have)."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _global_names(const)
    return names


def run_test(code, ns, link, seconds):
    """Runs one compiled test; returns (status, error text or None)."""
    if isinstance(code, SyntaxError):
        return "error", f"SyntaxError: {code}"
    link.deadline = time.monotonic() + seconds
    link.raised = None
    signal.setitimer(signal.ITIMER_REAL, seconds + 2 * GRACE_S)  # the judge's own share of the time
    try:
        exec(code, ns)
        return "pass", None
    except AssertionError as exc:
        return "fail", _text(exc, link)
    except (SolutionTimeout, Stuck, _Alarm):
        return "timeout", "time limit exceeded"
    except SolutionMemory:
        return "memory", "MemoryError"
    except Gone:
        return "exited", "the solution's process ended during this test"
    except Violation:
        raise
    except BaseException as exc:
        return "error", _text(exc, link)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def judge(spec, link):
    """Runs the whole test run; returns the violation message, if any."""
    ns = {"__name__": "judge", "__builtins__": builtins}
    started = time.monotonic()
    if spec["prefix"]:
        exec(compile(spec["prefix"], "prompt", "exec"), ns)
    phases = 2 if spec["setup"] else 1
    try:
        ready = link.ready(started + spec["startupS"] + phases * spec["solutionTimeoutS"] + GRACE_S)
    except Stuck:
        report(solution="timeout", phase="solution", error="time limit exceeded")
        return None
    except Gone:
        report(solution="exited", phase="solution", error="the solution's process ended before the tests")
        return None
    if ready.get("ready") is not True:
        status, error = _failure_status(ready)
        phase = ready.get("phase") if ready.get("phase") in ("solution", "setup") else "solution"
        report(solution=status, phase=phase, error=error)
        return None
    report(solution="ok")
    if spec["setup"]:
        try:  # trusted setup (imports, data); what needs the solution's definitions comes from there
            exec(compile(spec["setup"], "setup", "exec"), ns)
        except Exception:
            pass
    tests = [_compile(source, i) for i, source in enumerate(spec["tests"])]
    compiled = [code for code in tests if not isinstance(code, SyntaxError)]
    wanted = set().union(*(_global_names(c) for c in compiled)) - set(dir(builtins)) - set(ns)
    if spec["entryPoint"]:
        wanted.add(spec["entryPoint"])  # the solution's, not the prompt's stub
    try:
        ns.update(link.lookup(wanted, time.monotonic() + spec["testTimeoutS"]))
    except (Stuck, Gone) as exc:
        first = "timeout" if isinstance(exc, Stuck) else "exited"
        for i in range(len(tests)):
            report(test=i, status=first if i == 0 else "not_run", ms=0, error=str(exc))
        return None
    for i, code in enumerate(tests):
        t0 = time.monotonic()
        status, error = run_test(code, ns, link, spec["testTimeoutS"])
        entry = {"test": i, "status": status, "ms": round((time.monotonic() - t0) * 1000, 1)}
        report(**(entry if error is None else dict(entry, error=error)))
        if isinstance(link.state, (Stuck, Gone)):
            why = f"the solution's process stopped answering after test {i}"
            for j in range(i + 1, len(tests)):
                report(test=j, status="not_run", ms=0, error=why)
            return None
    try:
        link.end(time.monotonic() + GRACE_S)
    except (Stuck, Gone):
        pass  # every verdict is in; a process that stops now changes none
    return None


def main():
    with open("spec.json") as f:
        spec = codec.loads(f.read())
    # Requests to the solution go to the real stdout; what test code prints goes to stderr.
    out = os.dup(1)
    os.dup2(2, 1)
    signal.signal(signal.SIGALRM, _alarm)
    link = Link(out)
    try:
        judge(spec, link)
        report(done=True)
    except Violation as exc:
        report(done=True, violation=str(exc))
    except BaseException:
        import traceback

        report(done=True, judgeError=traceback.format_exc()[-2000:])


main()
