/** Helpers of the sandbox tests: find host processes a sandbox left behind. */
import { readdirSync, readFileSync } from 'node:fs';
import { UIDS_PER_PROCESS, uidBlockStart } from '../../sandbox/pool.js';

/** One host process: pid, real uid and command line. */
export interface HostProcess {
  pid: number;
  ppid: number;
  uid: number;
  cmdline: string;
}

/** Every process on the host (those that vanish while we read are skipped). */
export function hostProcesses(): HostProcess[] {
  const out: HostProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      out.push({ pid: Number(name), ppid, uid, cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Processes running as one of this test process's sandbox uids (there should be none between runs). */
export function sandboxProcesses(): HostProcess[] {
  const start = uidBlockStart(process.pid);
  return hostProcesses().filter((p) => p.uid >= start && p.uid < start + UIDS_PER_PROCESS);
}

/** Processes whose command line contains `marker`. */
export const processesWith = (marker: string): HostProcess[] =>
  hostProcesses().filter((p) => p.cmdline.includes(marker) && p.pid !== process.pid);
