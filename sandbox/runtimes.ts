/**
 * Language runtimes: how to run a main file of each language inside the sandbox. Only `/usr` is
 * visible there, so interpreters must live under it (the system `/usr/bin/python3`, never a pyenv
 * shim, which costs ~400 ms a start and lives in `$HOME`). Adding a language = one entry here.
 */
import type { SandboxLanguage } from './types.js';

/** One language's runtime. */
export interface Runtime {
  /** Name of the main file in the work directory. */
  mainFile: string;
  /** Interpreter binary; must be under `/usr`. */
  binary: string;
  /** argv of a run (binary first), given the main file and the user's arguments. */
  argv(mainFile: string, args: string[]): string[];
  /** stderr patterns that mean the program hit its memory limit. */
  memoryPatterns: RegExp[];
  /**
   * argv of a pre-started interpreter that waits for its program: it reads one job (`encodeJob`) from
   * fd `FD.firstFile` until EOF, writes the files into the work dir and runs `main` as `__main__`.
   * Absent: the language is always started cold.
   */
  warmArgv?: string[];
}

/**
 * The job a pre-started interpreter reads (see `Runtime.warmArgv`), in a framing that needs no parser
 * module (importing `json` alone costs ~5 ms of Python start-up): `main\n`, then per entry
 * `f|a <utf-8 byte length> <path or ->\n<bytes>` for a file or an argument.
 */
export function encodeJob(main: string, files: Record<string, string>, args: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`${main}\n`)];
  const entry = (kind: 'f' | 'a', name: string, content: string) => {
    const body = Buffer.from(content, 'utf8');
    parts.push(Buffer.from(`${kind} ${body.length} ${name}\n`, 'utf8'), body);
  };
  for (const [path, content] of Object.entries(files)) entry('f', path, content);
  for (const arg of args) entry('a', '-', arg);
  return Buffer.concat(parts);
}

/**
 * The Python side of a pre-started sandbox. Runs in `__main__` before the job exists, using only
 * modules Python has loaded at start-up; then clears its own names so the program starts from a clean
 * `__main__` (only a `<string>` frame at the top of its tracebacks tells it apart from `python3 main.py`).
 */
const PYTHON_BOOT = `
import os as _os, sys as _sys
def _boot():
    chunks = []
    while True:
        chunk = _os.read(5, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    _os.close(5)
    data = b"".join(chunks)
    end = data.index(b"\\n")
    main, pos, args = data[:end].decode(), end + 1, []
    while pos < len(data):
        end = data.index(b"\\n", pos)
        kind, size, name = data[pos:end].decode().split(" ", 2)
        body, pos = data[end + 1 : end + 1 + int(size)], end + 1 + int(size)
        if kind == "a":
            args.append(body.decode())
            continue
        if _os.path.dirname(name):
            _os.makedirs(_os.path.dirname(name), exist_ok=True)
        with open(name, "wb") as f:
            f.write(body)
    _sys.argv = [main] + args
    _sys.path[0] = _os.getcwd()
    with open(main, "rb") as f:
        return compile(f.read(), _os.path.join(_os.getcwd(), main), "exec")
_code = _boot()
for _k in [k for k in globals() if k not in ("__name__", "__doc__", "__builtins__", "__spec__", "__loader__", "_code")]:
    del globals()[_k]
del _k
__file__ = _code.co_filename
exec(globals().pop("_code"))
`;

/** Runtimes by language. */
export const RUNTIMES: Record<SandboxLanguage, Runtime> = {
  python: {
    mainFile: 'main.py',
    binary: '/usr/bin/python3',
    // -E: ignore PYTHON* variables; -s: no user site-packages; -B: write no .pyc files.
    argv: (mainFile, args) => ['/usr/bin/python3', '-E', '-s', '-B', mainFile, ...args],
    memoryPatterns: [/\bMemoryError\b/, /Cannot allocate memory/],
    warmArgv: ['/usr/bin/python3', '-E', '-s', '-B', '-c', PYTHON_BOOT],
  },
};
