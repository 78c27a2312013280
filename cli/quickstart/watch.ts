/**
 * Progress of a running `rlRun`: a step bar (policy version, rollouts, rollouts/s) and one bar per
 * environment (pass rate, mean reward of the last step) on a terminal; one line per step otherwise.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { type Progress, progressQuery } from '../../workflows/messages.js';
import type { RlRunResult } from '../../workflows/rlRun.js';

/**
 * Polls the workflow's `progress` query every `intervalMs` until it ends; returns its result.
 * Throws the workflow's failure.
 */
export async function watchRun(
  handle: WorkflowHandle,
  opts: {
    steps: number;
    envs: readonly string[];
    tty?: boolean;
    intervalMs?: number;
    log?: (line: string) => void;
  },
): Promise<RlRunResult> {
  const log = opts.log ?? console.log;
  const tty = opts.tty ?? Boolean(process.stdout.isTTY);
  const multi = tty
    ? new MultiBar(
        { hideCursor: true, clearOnComplete: false, format: '{label} |{bar}| {text}' },
        Presets.shades_classic,
      )
    : undefined;
  const stepBar = multi?.create(opts.steps, 0, { label: 'steps'.padEnd(13), text: 'starting…' });
  const envBars = new Map<string, SingleBar | undefined>(
    opts.envs.map((e) => [e, multi?.create(100, 0, { label: e.padEnd(13), text: 'reward —' })]),
  );
  let lastLogged = -1;
  const show = (p: Progress) => {
    stepBar?.update(p.step, {
      text: `step ${p.step}/${p.steps} · policy v${p.policyVersion} · ${p.rollouts} rollouts · ${p.rolloutsPerSecond.toFixed(1)}/s`,
    });
    for (const [env, bar] of envBars) {
      const s = p.envs[env];
      if (s)
        bar?.update(Math.round(s.passRate * 100), {
          text: `reward ${s.meanReward.toFixed(3)} · pass ${(s.passRate * 100).toFixed(0)}%`,
        });
    }
    if (!tty && p.step > lastLogged && p.step > 0) {
      lastLogged = p.step;
      const envs = Object.entries(p.envs)
        .map(([e, s]) => `${e} ${s.meanReward.toFixed(3)}`)
        .join(' · ');
      log(`step ${p.step}/${p.steps} · ${p.rollouts} rollouts · reward ${envs}`);
    }
  };
  const timer = setInterval(async () => {
    try {
      show(await handle.query(progressQuery));
    } catch {
      // between executions (continue-as-new) or finished: the next tick retries
    }
  }, opts.intervalMs ?? 1000);
  try {
    const result = (await handle.result()) as RlRunResult;
    try {
      show(await handle.query(progressQuery));
    } catch {}
    return result;
  } finally {
    clearInterval(timer);
    multi?.stop();
  }
}
