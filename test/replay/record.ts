/**
 * Records workflow histories for the replay test: `npx tsx test/replay/record.ts`. Run it when a
 * workflow version is released; commit the JSON files. Needs PostgreSQL and the virtual environment.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack({ envs: ['math'] });
try {
  const config = {
    steps: 2,
    seed: 5,
    policy: { url: stack.policy.url },
    environments: [
      {
        name: 'math',
        prompts_per_step: 2,
        group_size: 2,
        sampling: { max_tokens: 8 },
        reasoning: { share: 0.5, budget_tokens: 4 },
      },
    ],
    eval_every: 2,
    eval: { prompts: 1, n: 2 },
  };
  const handle = await stack.temporal.client.workflow.start('rlRun', {
    taskQueue: MAIN_QUEUE,
    workflowId: 'replay-rlrun',
    args: [{ config }],
  });
  await handle.result();
  const history = await handle.fetchHistory();
  const out = resolve(import.meta.dirname, 'histories/rlRun-v1.json');
  writeFileSync(out, historyToJSON(history));
  const child = await stack.temporal.client.workflow.getHandle('replay-rlrun-eval-2').fetchHistory();
  writeFileSync(resolve(import.meta.dirname, 'histories/evalRun-v1.json'), historyToJSON(child));
  console.log(`recorded ${history.events?.length} + ${child.events?.length} events`);
} finally {
  await stack.stop();
}
