/**
 * When Node does not run as root it cannot give sandboxes uids of their own, so RLIMIT_NPROC (which
 * counts every task — process or thread — of a uid) would also count the user's own processes: a
 * limit of 64 could stop bwrap from starting at all on a busy desktop. Without root, the limit is
 * therefore raised by the number of tasks the user already runs. Concurrent sandboxes then share one
 * budget (a weaker fork-bomb guard than the per-uid one of root mode; the wall-clock kill still ends it).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TTL_MS = 2000;
let cached: { at: number; uid: number; tasks: number } | undefined;

/** Tasks (threads included) running as `uid` now, counted from /proc; cached for 2 s. */
export function tasksOfUid(uid: number): number {
  const now = performance.now();
  if (cached && cached.uid === uid && now - cached.at < TTL_MS) return cached.tasks;
  let tasks = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) !== uid) continue;
      tasks += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
    } catch {
      // exited meanwhile
    }
  }
  cached = { at: now, uid, tasks };
  return tasks;
}
