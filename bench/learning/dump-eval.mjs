/**
 * Writes every held-out (greedy, `eval:<step>`) completion of a learning-proof run as JSON lines —
 * phase, task id, the task's expected answer, reward, completion — from the PGlite database proof.ts
 * leaves in its `--out` directory. For reading what the reward paid for (results.json keeps only six
 * completions per evaluation). Plain Node, no bundle: the device machine has only the carried Node and
 * PGlite.
 *
 *   node bench/learning/dump-eval.mjs PGLITE_DIR PGLITE_PACKAGE_DIR OUT.jsonl
 *   (on the device: /root/lp/out/pglite /root/lp/app/node_modules/@electric-sql/pglite $OUT/eval.jsonl)
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, pkg, out] = process.argv.slice(2);
if (!dir || !pkg || !out) throw new Error('usage: dump-eval.mjs PGLITE_DIR PGLITE_PACKAGE_DIR OUT.jsonl');
const { PGlite } = await import(pathToFileURL(resolve(pkg, 'dist/index.js')).href);
const db = new PGlite(dir);
const { rows } = await db.query(
  `SELECT r.phase, r.task_id, t.data->>'answer' AS answer, r.reward, r.status, r.completion
     FROM rollouts r LEFT JOIN tasks t ON t.run_id = r.run_id AND t.env = r.env AND t.task_id = r.task_id
    WHERE r.phase LIKE 'eval:%'
    ORDER BY r.run_id, split_part(r.phase, ':', 2)::int, r.task_id`,
);
writeFileSync(out, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
console.log(`${rows.length} held-out completions → ${out}`);
await db.close();
