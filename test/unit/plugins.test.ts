import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities/deps.js';
import { runActivities } from '../../activities/runs.js';
import { readRunConfig } from '../../cli/commands/run.js';
import { pluginSpecifiers, warnOnPluginEdits } from '../../cli/plugins.js';
import { getEnvironment, loadPlugin } from '../../environments/registry.js';
import { getReward } from '../../rewards/registry.js';
import { scoreTrajectory } from '../../rewards/score.js';
import { RunConfig } from '../../workflows/config.js';
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
    await expect(loadPlugin(join(dir, 'bad.mjs'))).rejects.toThrow(
      `plugin ${join(dir, 'bad.mjs')}: export default: expected defineEnvironment(...) (with tasks and rollout) or defineReward(...) (with score); found the keys hello`,
    );
  });
});

describe('plugin errors and names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mg-plugin-errors-'));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const env = (name: string, extra = '') =>
    `{ name: '${name}', description: 'd', configSchema: { safeParse: () => ({ success: true }) }, ` +
    `tasks: async function* () {}, rollout: async () => [], parseTask: (r) => r, rewards: [] ${extra} }`;

  it('names the file, the export and the field', async () => {
    const file = write(
      'no-rollout.mjs',
      `export default [${env('ok-one')}, { ...${env('bad-one')}, rollout: 3 }];\n`,
    );
    await expect(loadPlugin(file)).rejects.toThrow(
      `plugin ${file}: export default[1].rollout: expected a function (task, policy, ctx, config) returning trajectories, got 3`,
    );
    const weight = write(
      'weight.mjs',
      `export default ${env('w-env', ", rewards: [{ checker: 'x', weight: '1' }]")};\n`,
    );
    await expect(loadPlugin(weight)).rejects.toThrow(
      `plugin ${weight}: export default.rewards.0.weight: expected a finite number`,
    );
    const none = write('none.mjs', 'export const x = 1;\n');
    await expect(loadPlugin(none)).rejects.toThrow(`plugin ${none}: no default export`);
    await expect(loadPlugin(join(dir, 'missing.mjs'))).rejects.toThrow(
      `plugin ${join(dir, 'missing.mjs')}: cannot load`,
    );
  });

  it('a name clash says which file registered the name first', async () => {
    const first = write('first.mjs', `export default ${env('clash-env')};\n`);
    const second = write('second.mjs', `export default ${env('clash-env')};\n`);
    expect(await loadPlugin(first)).toEqual(['clash-env']);
    await expect(loadPlugin(second)).rejects.toThrow(
      `plugin ${second}: export default.name: environment "clash-env" is already registered by ${first}; rename the one in ${second}`,
    );
    const math = write('math.mjs', `export default ${env('math')};\n`);
    await import('../../environments/builtin.js');
    await expect(loadPlugin(math)).rejects.toThrow('environment "math" is already registered by builtin');
  });

  it('--plugin and MULTIGYM_PLUGINS: colon- or comma-separated, paths absolute against the cwd', () => {
    expect(pluginSpecifiers(['./b.ts', 'pkg-b'], './a.ts:pkg-a,/abs/c.ts', '/work/x')).toEqual([
      '/work/x/a.ts',
      'pkg-a',
      '/abs/c.ts',
      '/work/x/b.ts',
      'pkg-b',
    ]);
    expect(pluginSpecifiers(['./a.ts'], './a.ts', '/w')).toEqual(['/w/a.ts']);
    expect(pluginSpecifiers([], '', '/w')).toEqual([]);
    // A bare name is a path when it exists under the cwd, else a package.
    expect(pluginSpecifiers(['examples/countdown', 'no-such-package'], '', repoRoot)).toEqual([
      join(repoRoot, 'examples/countdown'),
      'no-such-package',
    ]);
  });

  it("a run config's plugin paths resolve against the config file's directory", () => {
    const sub = join(dir, 'configs');
    mkdirSync(sub, { recursive: true });
    const file = join(sub, 'run.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'p',
        steps: 1,
        policy: { url: 'http://127.0.0.1:1' },
        plugins: ['../plugins/countdown.ts', 'some-package'],
        environments: [{ name: 'math', prompts_per_step: 1, group_size: 2 }],
      }),
    );
    expect(readRunConfig(file).plugins).toEqual([join(dir, 'plugins/countdown.ts'), 'some-package']);
  });

  it('a config error of a plugin environment names the field without an empty segment', async () => {
    await loadPlugin(join(repoRoot, 'examples/countdown'));
    const { validateRun } = runActivities({} as ActivityDeps);
    const config = RunConfig.parse({
      name: 'p',
      steps: 1,
      policy: { url: 'http://127.0.0.1:1' },
      environments: [{ name: 'countdown', prompts_per_step: 1, group_size: 2, config: { colour: 'red' } }],
    });
    await expect(validateRun({ config })).rejects.toThrow(
      'invalid run config: environments.0.config: Unrecognized key: "colour"',
    );
  });

  it('warns when a loaded plugin is edited: running workers keep the code they loaded', async () => {
    const pluginDir = mkdtempSync(join(tmpdir(), 'mg-plugin-edit-'));
    const file = join(pluginDir, 'index.mjs');
    writeFileSync(file, 'export default [];\n');
    const warnings: string[] = [];
    let edited: () => void = () => undefined;
    const seen = new Promise<void>((r) => (edited = r));
    const stop = warnOnPluginEdits([{ specifier: file, names: [] }], (line) => {
      warnings.push(line);
      edited();
    });
    try {
      writeFileSync(join(pluginDir, 'checker.ts'), 'export const x = 1;\n');
      await seen;
      expect(warnings).toEqual([
        `multigym: plugin ${file} changed on disk (checker.ts); running workers keep the code they loaded: restart this command to load it`,
      ]);
    } finally {
      stop();
    }
  });
});
