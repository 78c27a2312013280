import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEnvironment, loadPlugin } from '../../environments/registry.js';
import { getReward } from '../../rewards/registry.js';
import { scoreTrajectory } from '../../rewards/score.js';
import { repoRoot } from '../helpers/paths.js';

describe('plugins', () => {
  it('loads an environment and a reward checker from a module path', async () => {
    const names = await loadPlugin('./test/fixtures/echo-plugin.ts', repoRoot);
    expect(names).toEqual(['echo', 'echo-match']);
    const env = getEnvironment('echo');
    const it = env.tasks(env.configSchema.parse({}), {
      seed: 0,
      split: 'train',
      start: 1,
      blobDir: tmpdir(),
    });
    const first = await it[Symbol.asyncIterator]().next();
    expect(first.value).toEqual({ id: 'echo/train/1', data: { word: 'beta' } });
    expect(getReward('echo-match').name).toBe('echo-match');
    const out = await scoreTrajectory(
      env.rewards,
      { completion: 'beta!', completionTokens: 2 },
      first.value!,
    );
    expect(out.total).toBe(1);
    // Loading the same module again is harmless.
    await loadPlugin('./test/fixtures/echo-plugin.ts', repoRoot);
  });

  it('says what a plugin must export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-plugin-'));
    writeFileSync(join(dir, 'bad.mjs'), 'export default { hello: 1 };\n');
    await expect(loadPlugin(join(dir, 'bad.mjs'))).rejects.toThrow(/must default-export defineEnvironment/);
  });
});
