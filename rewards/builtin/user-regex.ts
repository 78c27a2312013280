/**
 * Regular expressions given by users (checker configs) run on RE2 (`re2js`, a pure-JS port of RE2):
 * matching is linear in the text, so no pattern can backtrack catastrophically (`^(a+)+$` on
 * `aaa…a!` takes microseconds instead of seconds). RE2 syntax is JavaScript's without lookarounds and
 * backreferences (https://github.com/google/re2/wiki/Syntax); a pattern that uses them is refused when
 * the run starts, with RE2's message.
 */
import { RE2JS } from 're2js';
import { z } from 'zod';

/** Flags a user regex may carry: i (case-insensitive), m (multi-line ^ $), s (dot matches newline), u (accepted; RE2 always matches code points). */
export const userRegexFlags = z
  .string()
  .regex(/^[imsu]*$/, 'flags are among i, m, s, u')
  .default('')
  .describe(
    'Flags among i (ignore case), m (^ and $ at line ends), s (. matches newline), u (no-op). Default none.',
  );

const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  u: 0,
};

/** Compiled patterns by flags and pattern: a run uses a few, each on every rollout. */
const compiled = new Map<string, RE2JS>();
const MAX_COMPILED = 256;

/**
 * Compiles a user regex on RE2 (cached: a compiled pattern is immutable). Throws RE2's syntax error
 * (a `RE2JSException`) for a bad pattern.
 */
export function compileUserRegex(pattern: string, flags = ''): RE2JS {
  const key = `${flags}/${pattern}`;
  let re = compiled.get(key);
  if (!re) {
    let bits = 0;
    for (const f of flags) bits |= FLAG_BITS[f] ?? 0;
    re = RE2JS.compile(pattern, bits);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, re);
  }
  return re;
}

/** Why RE2 refuses `pattern`, or undefined when it compiles. */
export function userRegexError(pattern: string, flags = ''): string | undefined {
  try {
    compileUserRegex(pattern, flags);
    return undefined;
  } catch (err) {
    return `not a valid RE2 regular expression (no lookarounds or backreferences): ${(err as Error).message}`;
  }
}

/** A config field holding a user regex, checked on RE2 when the config is validated. */
export const userRegex = (description: string) =>
  z
    .string()
    .min(1)
    .superRefine((p, ctx) => {
      const error = userRegexError(p);
      if (error) ctx.addIssue({ code: 'custom', message: error });
    })
    .describe(description);
