/**
 * Asks a Temporal cluster which custom search attributes a namespace has, and says which of
 * multigym's are missing (workflows/searchAttributes.ts). Used by `multigym run` before it starts a
 * run and by `validateRun` at the start of `rlRun` (non-retryable), so a cluster without them fails
 * the run at once with the commands to run, instead of a workflow task failing forever.
 */
import type { ConnectionLike } from '@temporalio/client';
import { missingSearchAttributes, searchAttributesMessage } from '../workflows/searchAttributes.js';

/** The `temporal` CLI's name of each `IndexedValueType` (temporal/api/enums/v1/common.proto). */
const TYPE_NAMES = ['Unspecified', 'Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'];

const typeName = (t: unknown): string => {
  if (typeof t === 'number') return TYPE_NAMES[t] ?? String(t);
  const s = String(t).replace(/^INDEXED_VALUE_TYPE_/, '');
  return TYPE_NAMES.find((n) => n.toUpperCase() === s.replace(/_/g, '')) ?? s;
};

/** gRPC status codes that mean "this cluster will not tell us" (not "the attributes are missing"). */
const CANNOT_ASK = new Set([7 /* PERMISSION_DENIED */, 12 /* UNIMPLEMENTED */]);

/**
 * Returns the problem (a message naming each missing attribute and the exact `temporal operator
 * search-attribute create` command for it), or undefined when every attribute is registered with
 * its type, or when the cluster does not let this client list them (then nothing is claimed).
 * `address` goes into the commands when known. Connection errors are thrown.
 */
export async function searchAttributesProblem(
  connection: Pick<ConnectionLike, 'operatorService'>,
  namespace: string,
  address?: string,
): Promise<string | undefined> {
  let custom: Record<string, unknown>;
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    custom = (res.customAttributes ?? {}) as Record<string, unknown>;
  } catch (err) {
    if (CANNOT_ASK.has((err as { code?: number }).code ?? -1)) return undefined;
    throw err;
  }
  const registered = Object.fromEntries(Object.entries(custom).map(([k, t]) => [k, typeName(t)]));
  const missing = missingSearchAttributes(registered);
  return missing.length ? searchAttributesMessage(namespace, missing, registered, address) : undefined;
}
