import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { protocolJsonSchema, schemaPath } from '../../policy/schema.js';
import { repoRoot } from '../helpers/paths.js';

describe('protocol JSON Schema', () => {
  it('committed file matches policy/protocol.ts (run `npm run protocol:schema` if not)', () => {
    const committed = JSON.parse(readFileSync(resolve(repoRoot, schemaPath), 'utf8'));
    expect(committed).toEqual(protocolJsonSchema());
  });
});
