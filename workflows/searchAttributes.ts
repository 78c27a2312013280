/**
 * Custom search attributes shown in the Temporal UI's workflow list. The cluster must know them, or
 * `upsertSearchAttributes` fails the workflow task forever (BadSearchAttributes) while the run stays
 * RUNNING: `multigym dev` and the tests register them (`temporal server start-dev --search-attribute
 * ...`), `multigym run` and `rlRun` (through `validateRun`) check them first and print the commands
 * that register them on any other cluster.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const RUN_NAME = defineSearchAttributeKey('MultigymRunName', SearchAttributeType.KEYWORD);
export const STEP = defineSearchAttributeKey('MultigymStep', SearchAttributeType.INT);
export const MEAN_REWARD = defineSearchAttributeKey('MultigymMeanReward', SearchAttributeType.DOUBLE);

/** All keys, for registering with a server. */
export const multigymSearchAttributes = [RUN_NAME, STEP, MEAN_REWARD];

/** A search attribute as the `temporal` CLI names its type (`Keyword`, `Int`, `Double`). */
export interface SearchAttributeSpec {
  name: string;
  type: string;
}

/** multigym's attributes with their CLI type names. */
export const searchAttributeSpecs = (): SearchAttributeSpec[] =>
  multigymSearchAttributes.map((k) => ({ name: k.name, type: k.type[0] + k.type.slice(1).toLowerCase() }));

/** `--search-attribute` flags for `temporal server start-dev`. */
export const devServerSearchAttributeArgs = (): string[] =>
  searchAttributeSpecs().flatMap((a) => ['--search-attribute', `${a.name}=${a.type}`]);

/**
 * multigym's attributes a cluster lacks or has with another type. `registered` maps each registered
 * custom attribute to its CLI type name.
 */
export function missingSearchAttributes(registered: Record<string, string>): SearchAttributeSpec[] {
  return searchAttributeSpecs().filter((a) => registered[a.name] !== a.type);
}

/** What to tell the user about missing attributes, with the exact commands that register them. */
export function searchAttributesMessage(
  namespace: string,
  missing: SearchAttributeSpec[],
  registered: Record<string, string>,
  address?: string,
): string {
  const cmd = (verb: 'create' | 'remove', a: SearchAttributeSpec) =>
    `temporal operator search-attribute ${verb}${address ? ` --address ${address}` : ''} ` +
    `--namespace ${namespace} --name ${a.name}${verb === 'create' ? ` --type ${a.type}` : ' --yes'}`;
  const commands = missing.flatMap((a) =>
    registered[a.name]
      ? [
          `# ${a.name} is registered as ${registered[a.name]}, not ${a.type}:`,
          cmd('remove', a),
          cmd('create', a),
        ]
      : [cmd('create', a)],
  );
  return (
    `the Temporal namespace ${namespace} lacks multigym's search attributes ` +
    `${missing.map((a) => `${a.name} (${a.type})`).join(', ')}; without them rlRun's workflow task ` +
    `would fail forever (BadSearchAttributes). Register them once per namespace:\n  ${commands.join('\n  ')}`
  );
}
