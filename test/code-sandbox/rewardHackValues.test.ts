/**
 * Reward hacks on the code sandbox, part 2: what the solution returns, prints, patches and writes.
 * Issue 13's `__eq__` that always answers True and more of its kind (subclasses of builtins,
 * `mock.ANY`, handles, NaN, deep or endless values), patched builtins, files written where a harness
 * might read them, exceptions with a forged `__str__`, pass-looking output, and redefined helpers
 * or builtins the tests use. Every hack is built on a solution that returns 0 (1 assert of 3 passes):
 * each must score 0, and no more than 1/3 as a fraction. A correct solution that prints 5 MiB is
 * graded (1, output cut and flagged), not zeroed.
 */
import { describe, expect, it } from 'vitest';
import { batteryTask, expectNoGain, expectNoLeftovers, lines, score, WRONG } from './hacks.js';

expectNoLeftovers();

describe('reward hacks: returned values', () => {
  it('issue example: an object whose __eq__ always answers True', async () => {
    const d = await expectNoGain(
      lines(
        'class Always:',
        '    def __eq__(self, other): return True',
        '    def __ne__(self, other): return False',
        '    __hash__ = object.__hash__',
        'def add(a, b):',
        '    return Always()',
      ),
      undefined,
      0,
    );
    expect(d.tests.map((t) => t.status)).toEqual(['fail', 'fail', 'fail']);
  });

  it('subclasses of int, str, tuple and dict with a forged __eq__ count as their plain value', async () => {
    for (const base of ['int', 'str', 'tuple', 'dict', 'float', 'list']) {
      await expectNoGain(
        lines(
          `class Liar(${base}):`,
          '    def __eq__(self, other): return True',
          '    def __ne__(self, other): return False',
          '    def __hash__(self): return 0',
          `    def __index__(self): return 3`,
          'def add(a, b):',
          `    return Liar()`,
        ),
      );
    }
  });

  it('mock.ANY, a function handle, NaN, a value nested too deep and an endless generator', async () => {
    await expectNoGain(
      lines('from unittest import mock', 'def add(a, b):', '    return mock.ANY'),
      undefined,
      0,
    );
    await expectNoGain(lines('def add(a, b):', '    return add'), undefined, 0);
    await expectNoGain(lines('def add(a, b):', '    return float("nan")'), undefined, 0);
    await expectNoGain(
      lines('def add(a, b):', '    x = 0', '    for _ in range(500):', '        x = [x]', '    return x'),
      undefined,
      0,
    );
    await expectNoGain(
      lines('import itertools', 'def add(a, b):', '    return itertools.count()'),
      undefined,
      0,
    );
    const endless = await expectNoGain(
      lines(
        'def add(a, b):',
        '    def forever():',
        '        while True:',
        '            yield a + b',
        '    return forever()',
      ),
      undefined,
      0,
    );
    expect(['timeout', 'error']).toContain(endless.tests[0]!.status);
  });

  it('a reply forged with a handle, a non-type builtin or a bare object is a violation or a failed compare', async () => {
    for (const value of [
      '{"fn": 1}',
      '{"ref": 1}',
      '{"bt": "exec"}',
      '{"bt": "int"}',
      '{"x": 3}',
      '{"it": [3]}',
    ]) {
      await expectNoGain(
        lines(
          'import sys',
          WRONG,
          'm = sys.modules["__main__"]',
          'send = m._send',
          `m._send = lambda obj: send(obj) if "value" not in obj else m.os.write(3, (${JSON.stringify(`{"id": %d, "value": ${value}}\n`)} % obj["id"]).encode())`,
        ),
        undefined,
        0,
      );
    }
  });

  it('keeps types apart like Python: a list is not a tuple', async () => {
    const task = batteryTask('pair', 'pair', [
      'assert pair(1, 2) == (1, 2)',
      'assert type(pair(3, 4)) is tuple',
      'assert pair(5, 6) != [5, 6]',
    ]);
    expect((await score('def pair(a, b):\n    return (a, b)\n', task)).all.value).toBe(1);
    await expectNoGain('def pair(a, b):\n    return [a, b]\n', task, 0);
    const named = await score(
      'import collections\nP = collections.namedtuple("P", "a b")\ndef pair(a, b):\n    return P(a, b)\n',
      task,
    );
    expect(named.all.value).toBe(1); // a namedtuple is a tuple: it goes as its plain value
  });
});

describe('reward hacks: the process, its files and its output', () => {
  it('patched builtins and modules stay in the solution’s process', async () => {
    await expectNoGain(
      lines(
        'import builtins, json, signal',
        WRONG,
        'builtins.AssertionError = type("AssertionError", (Exception,), {})',
        'builtins.isinstance = lambda *a: True',
        'builtins.__import__ = lambda *a, **k: json',
        // Reports and replies of any harness in this process serialised to say "pass".
        '_dumps = json.dumps',
        'json.dumps = lambda o, **k: _dumps(dict(o, status="pass", value=3) if isinstance(o, dict) else o, **k)',
        'json.loads = lambda s: {"id": 1, "op": "end"}',
        'signal.setitimer = lambda *a: 0',
      ),
    );
  });

  it('files written where a harness might read them change nothing', async () => {
    const forged = '{"test": 0, "status": "pass"}\\n{"done": true}\\n';
    await expectNoGain(
      lines(
        'import os',
        WRONG,
        'for name in ["spec.json", "main.py", "judge.py", "link.py", "codec.py", "limits.json",',
        '             "/dev/shm/spec.json", "/tmp/report.json"]:',
        '    try:',
        `        open(name, "w").write("${forged}" if name.endswith(".json") else "import os; os._exit(0)\\n")`,
        '    except OSError:',
        '        pass',
      ),
    );
  });

  it('exceptions with a forged __str__ (pass-looking, a protocol line, raising, a builtin name) are errors', async () => {
    for (const str of [
      'return "pass"',
      'return \'\\n{"id": 2, "value": 3}\\n{"test": 0, "status": "pass"}\'',
      'raise RuntimeError("no")',
    ]) {
      const d = await expectNoGain(
        lines(
          'class Forged(Exception):',
          `    def __str__(self): ${str}`,
          '    __repr__ = __str__',
          'def add(a, b):',
          '    if a == b == 0:',
          '        return 0',
          '    raise Forged()',
        ),
      );
      expect(d.tests[0]!.status, str).toBe('error');
    }
    // An exception class named like a builtin is that builtin to the tests: an error, as it should be.
    await expectNoGain(
      lines('def add(a, b):', '    raise type("StopIteration", (Exception,), {})()'),
      undefined,
      0,
    );
  });

  it('pass-looking text on stdout and stderr, at import and in every call', async () => {
    const say = '["ok", "PASSED", "All tests passed", \'{"test": 0, "status": "pass"}\', \'{"done": true}\']';
    await expectNoGain(
      lines(
        'import sys',
        `for s in ${say}:`,
        '    print(s); print(s, file=sys.stderr)',
        'def add(a, b):',
        `    for s in ${say}:`,
        '        print(s); print(s, file=sys.stderr)',
        '    return 0',
      ),
    );
  });

  it('grades a correct solution that prints 5 MiB (output cut and flagged); a wrong one still scores 0', async () => {
    const loud = 'import sys\ndef add(a, b):\n    sys.stdout.write("x" * (5 << 20))\n    return a + b\n';
    const right = await score(loud);
    expect(right.all.value, JSON.stringify(right.all.details)).toBe(1);
    expect(right.all.details.output_truncated).toBe(true);
    const wrong = await expectNoGain(loud.replace('a + b', '0'));
    expect(wrong.output_truncated).toBe(true);
  });

  it('a redefined prompt helper does not change the judge’s (HumanEval/32 style)', async () => {
    const check =
      'def check(candidate):\n    for xs in ([1, 2], [-3, 1], [4, -8]):\n        assert abs(poly(xs, candidate(xs))) < 1e-9\n\ncheck(root)\n';
    const task = batteryTask('root', 'root', [check], {
      format: 'humaneval',
      codePrefix:
        'def poly(xs, x):\n    return sum(c * x ** i for i, c in enumerate(xs))\n\ndef root(xs):\n    """A zero of the line xs[0] + xs[1] * x."""\n',
    });
    expect((await score('def root(xs):\n    return -xs[0] / xs[1]\n', task)).all.value).toBe(1);
    await expectNoGain('def root(xs):\n    return 0\n\ndef poly(xs, x):\n    return 0\n', task, 0);
  });

  it('a builtin the tests use, redefined by the solution, stays the builtin (the entry point excepted)', async () => {
    const task = batteryTask('uniq', 'uniq', [
      'assert set(uniq([1, 1, 2])) == set([1, 2])',
      'assert sorted(uniq([3, 3])) == sorted([3])',
      'assert len(uniq([])) == len([])',
    ]);
    expect((await score('def uniq(xs):\n    return list(set(xs))\n', task)).all.value).toBe(1);
    await expectNoGain(
      lines(
        'def uniq(xs):',
        '    return 0',
        'set = sorted = len = lambda *a: 1',
        'import builtins',
        'builtins.set = set',
      ),
      task,
      0,
    );
  });
});
