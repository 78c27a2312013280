/**
 * The Python unit-test harness run inside the sandbox as `main.py`. It executes the solution
 * (`solution.py`) in a fresh namespace, then the setup code and each test in that namespace, each
 * under its own SIGALRM timer, and reports one JSON line per phase on fd 3 (the sandbox's side
 * channel), so the program's own prints cannot be mistaken for results. The solution calling
 * `sys.exit`, raising or timing out fails every test; `os._exit` leaves them unreported (failed).
 *
 * Limits of the design: solution and tests share one process, so a program written to forge reports
 * (writing JSON to fd 3) could; a model would have to discover that on purpose, and the reports are
 * checked for shape and for coming in order.
 */

/** Input of the harness, written to `spec.json`. */
export interface HarnessSpec {
  setup: string;
  tests: string[];
  /** Seconds allowed to define the solution (module-level code). */
  solutionTimeoutS: number;
  /** Seconds allowed per test. */
  testTimeoutS: number;
}

/** One line the harness reports. */
export type HarnessReport =
  | { phase: 'solution' | 'setup'; status: 'ok' | 'error' | 'timeout' | 'memory'; error?: string }
  | {
      phase: 'test';
      index: number;
      status: 'pass' | 'fail' | 'error' | 'timeout' | 'memory';
      error?: string;
      ms: number;
    }
  | { phase: 'done' };

/** Source of the harness (Python 3.8+, standard library only). */
export const HARNESS_PY = String.raw`
import json, os, signal, sys, time, traceback

_out = os.fdopen(3, "w", buffering=1)

def _report(**obj):
    _out.write(json.dumps(obj) + "\n")
    _out.flush()

class _Timeout(BaseException):
    pass

def _alarm(signum, frame):
    raise _Timeout()

def _error(exc):
    if isinstance(exc, _Timeout):
        return "time limit exceeded"
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[-600:]

def _status(exc, failure):
    if isinstance(exc, _Timeout):
        return "timeout"
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, AssertionError):
        return failure
    return "error"

def _run(code, name, ns, seconds):
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        exec(compile(code, name, "exec"), ns)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)

def _main():
    with open("spec.json") as f:
        spec = json.load(f)
    with open("solution.py") as f:
        solution = f.read()
    signal.signal(signal.SIGALRM, _alarm)
    ns = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        _run(solution, "solution.py", ns, spec["solutionTimeoutS"])
    except BaseException as exc:
        _report(phase="solution", status=_status(exc, "error"), error=_error(exc))
        return
    _report(phase="solution", status="ok")
    if spec["setup"]:
        try:
            _run(spec["setup"], "setup", ns, spec["solutionTimeoutS"])
        except BaseException as exc:
            _report(phase="setup", status=_status(exc, "error"), error=_error(exc))
            return
    for i, test in enumerate(spec["tests"]):
        start = time.monotonic()
        try:
            _run(test, "test_%d" % i, ns, spec["testTimeoutS"])
            status, error = "pass", None
        except BaseException as exc:
            status, error = _status(exc, "fail"), _error(exc)
        ms = round((time.monotonic() - start) * 1000, 1)
        if error is None:
            _report(phase="test", index=i, status=status, ms=ms)
        else:
            _report(phase="test", index=i, status=status, error=error, ms=ms)
    _report(phase="done")

_main()
`;
