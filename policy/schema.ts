/**
 * JSON Schema export of the worker protocol. The Python worker validates requests against the file
 * this writes, and `test/protocol.schema.test.ts` fails when the committed file is stale.
 */
import { z } from 'zod';
import { routes } from './protocol.js';

/** Path of the generated schema, relative to the repository root. */
export const schemaPath = 'policy/worker/multigym_worker/protocol.schema.json';

/** JSON Schema (draft 2020-12) of every route's request (input side) and response. */
export function protocolJsonSchema(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [route, { request, response }] of Object.entries(routes)) {
    out[route] = {
      request: z.toJSONSchema(request, { io: 'input', unrepresentable: 'any' }),
      response: z.toJSONSchema(response, { io: 'output', unrepresentable: 'any' }),
    };
  }
  return out;
}
