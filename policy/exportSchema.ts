/** Writes the protocol's JSON Schema for the Python worker: `npm run protocol:schema`. */
import { writeFileSync } from 'node:fs';
import { protocolJsonSchema, schemaPath } from './schema.js';

writeFileSync(schemaPath, `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`);
console.log(`wrote ${schemaPath}`);
