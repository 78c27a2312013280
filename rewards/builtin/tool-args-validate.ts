/**
 * Validation of call arguments against a function's JSON Schema with Ajv (draft-07/2019 keywords,
 * non-strict so BFCL's extra keys such as `optional` are ignored). Compiled validators are cached by
 * the schema's JSON text. Shared by the tool-use environment (before running a tool) and the checkers
 * (scoring raw text).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isPlainObject, pointer, readJsonStrict, toPlain } from './tool-call-json.js';
import type { ParamSchema } from './tool-task.js';

// Formats (`date`, `email`…) are not checked: BFCL schemas use them loosely and a model is not
// penalised for a format hint.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map<string, ValidateFunction>();
const MAX_CACHED_VALIDATORS = 4096;

/** A compiled validator of `schema`, cached by its JSON text. Throws Ajv's error when the schema is invalid. */
export function validatorFor(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    if (validators.size >= MAX_CACHED_VALIDATORS) validators.clear();
    v = ajv.compile(schema);
    validators.set(key, v);
  }
  return v;
}

/** Ajv errors as one line a model can act on: `arguments/value must be number; unexpected argument "x"`. */
export function describeErrors(errors: ErrorObject[]): string {
  return errors
    .map((e) => {
      if (e.keyword === 'additionalProperties') {
        return `unexpected argument "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      }
      if (e.keyword === 'required') {
        return `missing required argument "${(e.params as { missingProperty: string }).missingProperty}"`;
      }
      return `arguments${e.instancePath} ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

/** A task's parameter schema that Ajv cannot compile: a data problem, never the model's. */
export class TaskSchemaError extends Error {
  override name = 'TaskSchemaError';
}

/**
 * Checks `args` against `schema`: undefined when valid, else a one-line reason. `floatPaths` (from the
 * parser) marks numbers written as floats, which an `integer` refuses (BFCL's rule; see `floatErrors`).
 * Throws `TaskSchemaError` when the schema itself is invalid: a checker's error, not an invalid call.
 */
export function argumentErrors(schema: object, args: unknown, floatPaths: string[] = []): string | undefined {
  let validate: ValidateFunction;
  try {
    validate = validatorFor(schema);
  } catch (err) {
    throw new TaskSchemaError(`the task's parameter schema is invalid: ${(err as Error).message}`);
  }
  if (!validate(args)) return describeErrors(validate.errors ?? []);
  return floatErrors(schema as ParamSchema, floatPaths);
}

/** The sub-schema at a JSON Pointer of the instance (through `properties` and `items`), if any. */
function schemaAt(schema: ParamSchema, path: string): ParamSchema | undefined {
  let s: ParamSchema | undefined = schema;
  for (const raw of path.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    s = s?.properties?.[key] ?? (s?.items as ParamSchema | undefined);
    if (!s) return undefined;
  }
  return s;
}

/**
 * BFCL's integer rule: a number written as a float (`5.0`; its JSON Pointer in `floatPaths`) where the
 * schema asks for an `integer` is a type error, though JSON reads it as 5. A `number`/`float`
 * parameter accepts an integer. Undefined when there is no such number.
 */
export function floatErrors(schema: ParamSchema, floatPaths: string[]): string | undefined {
  const bad = floatPaths.filter((p) => schemaAt(schema, p)?.type === 'integer');
  if (bad.length === 0) return undefined;
  return bad.map((p) => `arguments${p} must be integer, not a float`).join('; ');
}

const kindOf = (type: unknown): 'array' | 'object' | undefined =>
  type === 'array' || type === 'tuple'
    ? 'array'
    : type === 'object' || type === 'dict'
      ? 'object'
      : undefined;

/**
 * Reads string arguments as JSON where the schema asks for an array or an object — models often
 * write `"tags": "[\"red\", \"blue\"]"` for `tags: array`. Only a string that is strict JSON of the
 * declared kind is replaced (anything else stays a string and fails the type check); properties of
 * nested objects are treated the same way. Works on BFCL-dialect and standard schemas. Returns new
 * arguments and `floatPaths` extended with the floats of the decoded values; the input is not changed.
 */
export function coerceJsonStrings(
  schema: ParamSchema,
  args: Record<string, unknown>,
  floatPaths: string[] = [],
): { arguments: Record<string, unknown>; floatPaths: string[] } {
  const floats = [...floatPaths];
  const walk = (s: ParamSchema, value: Record<string, unknown>, base: string): Record<string, unknown> => {
    const out = { ...value };
    for (const [key, sub] of Object.entries(s.properties ?? {})) {
      const v = out[key];
      const kind = kindOf(sub.type);
      const at = pointer(base, key);
      if (kind && typeof v === 'string') {
        const parsed = readJsonStrict(v);
        const fits = kind === 'array' ? Array.isArray(parsed) : isPlainObject(parsed);
        if (fits) out[key] = toPlain(parsed, floats, at);
      }
      if (kind === 'object' && isPlainObject(out[key])) {
        out[key] = walk(sub, out[key] as Record<string, unknown>, at);
      }
    }
    return out;
  };
  return { arguments: walk(schema, args, ''), floatPaths: floats };
}

/**
 * A call's arguments as the checkers and the tool-use environment validate them: JSON strings read
 * where `schema` asks for arrays or objects (`coerceJsonStrings`), with the float pointers. Without a
 * schema (unknown function) the arguments are returned as they are.
 */
export function prepareArguments(
  schema: ParamSchema | undefined,
  call: { arguments?: Record<string, unknown>; floatPaths?: string[] },
): { arguments: Record<string, unknown>; floatPaths: string[] } {
  const args = call.arguments ?? {};
  const floatPaths = call.floatPaths ?? [];
  return schema ? coerceJsonStrings(schema, args, floatPaths) : { arguments: args, floatPaths };
}
