/**
 * Tool sets as plugins: a module named in `toolSetModules` is loaded and registered, tasks from a
 * JSONL file (`source: jsonl`) name it in `tool_set`, and its tools run through the same validation
 * and execution path as the built-ins. A module that exports no tool set is refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../environments/builtin.js';
import type { Task } from '../../environments/api.js';
import { getEnvironment } from '../../environments/registry.js';
import { executeCall } from '../../environments/tool-use/execute.js';
import { callablesOf } from '../../environments/tool-use/rollout.js';
import { loadToolSetModule } from '../../environments/tool-use/tools/plugins.js';
import { getToolSet } from '../../environments/tool-use/tools/registry.js';
import { ToolTaskData } from '../../rewards/builtin/tool-task.js';

const dir = mkdtempSync(join(tmpdir(), 'tool-use-plugins-'));
const plugin = join(dir, 'shout.mjs');
writeFileSync(
  plugin,
  `export default {
  name: 'test-shout',
  description: 'upper-cases text',
  tools: [{
    name: 'shout',
    description: 'Upper-case a text.',
    parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false },
    run: ({ text }) => text.toUpperCase(),
  }],
};\n`,
);
const notAToolSet = join(dir, 'nothing.mjs');
writeFileSync(notAToolSet, 'export default { hello: 1 };\n');

const taskRecord = {
  id: 'shout-1',
  category: 'custom',
  messages: [{ role: 'user', content: 'Shout "hi".' }],
  functions: [
    {
      name: 'shout',
      description: 'Upper-case a text.',
      parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
    },
  ],
  ground_truth: [{ shout: { text: ['hi'] } }],
  answer: 'HI',
  tool_set: 'test-shout',
};
const bfclRecord = {
  id: 'simple_python_0',
  question: [[{ role: 'user', content: 'Factorial of 5' }]],
  function: [
    {
      name: 'math.factorial',
      description: 'Factorial.',
      parameters: { type: 'dict', properties: { number: { type: 'integer' } }, required: ['number'] },
    },
  ],
  ground_truth: [{ 'math.factorial': { number: [5] } }],
};

describe('tool-set plugins and JSONL tasks', () => {
  it('loads the plugin named in the config, serves JSONL tasks and runs the plugin tool', async () => {
    const dataset = join(dir, 'tasks.jsonl');
    writeFileSync(dataset, `${JSON.stringify(taskRecord)}\n\n${JSON.stringify(bfclRecord)}\n`);
    const env = getEnvironment('tool-use');
    const config = env.configSchema.parse({ source: 'jsonl', dataset, toolSetModules: [plugin] });
    const tasks: Task[] = [];
    for await (const t of env.tasks(config, { seed: 1, split: 'train', start: 0, blobDir: '/tmp' })) {
      tasks.push(t);
      if (tasks.length === 4) break;
    }
    expect(new Set(tasks.map((t) => t.id))).toEqual(new Set(['shout-1', 'simple_python_0']));
    expect(getToolSet('test-shout').tools.map((t) => t.name)).toEqual(['shout']);
    const data = ToolTaskData.parse(tasks.find((t) => t.id === 'shout-1')!.data);
    const run = (args: Record<string, unknown>) =>
      executeCall({ name: 'shout', arguments: args, format: 'hermes', raw: '' }, callablesOf(data), {
        timeoutMs: 1000,
        maxResultChars: 100,
      });
    expect(await run({ text: 'hi' })).toMatchObject({ status: 'ok', content: 'HI' });
    expect(await run({ text: 3 })).toMatchObject({ status: 'invalid_arguments' });
  });

  it('refuses a module that exports no tool set, and a missing dataset names the file', async () => {
    await expect(loadToolSetModule(notAToolSet)).rejects.toThrow(/must default-export defineToolSet/);
    const env = getEnvironment('tool-use');
    const config = env.configSchema.parse({ source: 'jsonl', dataset: join(dir, 'missing.jsonl') });
    const it = env
      .tasks(config, { seed: 1, split: 'train', start: 0, blobDir: '/tmp' })
      [Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow(/missing\.jsonl/);
  });
});
