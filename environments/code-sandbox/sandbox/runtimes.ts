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
}

/** Runtimes by language. */
export const RUNTIMES: Record<SandboxLanguage, Runtime> = {
  python: {
    mainFile: 'main.py',
    binary: '/usr/bin/python3',
    // -E: ignore PYTHON* variables; -s: no user site-packages; -B: write no .pyc files.
    argv: (mainFile, args) => ['/usr/bin/python3', '-E', '-s', '-B', mainFile, ...args],
    memoryPatterns: [/\bMemoryError\b/, /Cannot allocate memory/],
  },
};
