/**
 * A run id names one config. Starting `rlRun` under an id the database already holds resumes that run
 * when the config is the same, and is refused otherwise (its rollouts, train steps and weights would
 * be silently reused for another experiment).
 *
 * "The same" compares the validated configs (defaults filled in, so `{}` and the explicit defaults
 * are equal) field by field, except the fields below: they say where things run, how often to
 * checkpoint or when to stop, not what is trained, so a resumed run may change them.
 */
import type { RunConfig } from './config.js';

/**
 * Dotted paths of the fields a resumed run may change:
 * - `steps`: train longer (or stop earlier) than first planned;
 * - `name`: the label in the UI list;
 * - `policy.url`: the worker may come back on another host or port (its weights are checked by run
 *   id and policy version, not by address);
 * - `timeouts`, `continue_as_new_every`: operational;
 * - `checkpoint_every`, `checkpoint_dir`, `checkpoint_keep`: checkpoints already written stay where
 *   they are recorded.
 */
export const RESUMABLE_FIELDS = [
  'steps',
  'name',
  'policy.url',
  'timeouts',
  'continue_as_new_every',
  'checkpoint_every',
  'checkpoint_dir',
  'checkpoint_keep',
] as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const show = (v: unknown): string => {
  if (v === undefined) return '(absent)';
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

function diff(path: string, a: unknown, b: unknown, out: string[]): void {
  if ((RESUMABLE_FIELDS as readonly string[]).includes(path)) return;
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      diff(path ? `${path}.${key}` : key, a[key], b[key], out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => {
      diff(`${path}.${i}`, x, b[i], out);
    });
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: ${show(a)} → ${show(b)}`);
}

/**
 * The differences that make `incoming` another run than `stored`, one `path: old → new` line each
 * (empty when `incoming` may resume `stored`). Both are validated configs (zod output); `stored` may
 * have been through JSON (jsonb), which changes nothing compared here.
 */
export function configChanges(stored: RunConfig, incoming: RunConfig): string[] {
  const out: string[] = [];
  diff('', JSON.parse(JSON.stringify(stored)), JSON.parse(JSON.stringify(incoming)), out);
  return out;
}

/** The refusal message for a reused run id with another config. */
export function configMismatchMessage(runId: string, changes: string[]): string {
  return (
    `run ${runId} already exists with another config (${changes.join('; ')}). A run id names one ` +
    'config: start the new config under another id (multigym run --id NEW), or restore these values ' +
    `to resume ${runId}. Fields a resumed run may change: ${RESUMABLE_FIELDS.join(', ')}.`
  );
}
