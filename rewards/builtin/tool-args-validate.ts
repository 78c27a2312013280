/**
 * Validation of call arguments against a function's JSON Schema with Ajv (draft-07/2019 keywords,
 * non-strict so BFCL's extra keys such as `optional` are ignored). Compiled validators are cached by
 * the schema's JSON text. Shared by the tool-use environment (before running a tool) and the checkers
 * (scoring raw text).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

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

/**
 * Checks `args` against `schema`: undefined when valid, else a one-line reason. A schema Ajv cannot
 * compile yields a reason starting with "schema is invalid".
 */
export function argumentErrors(schema: object, args: unknown): string | undefined {
  let validate: ValidateFunction;
  try {
    validate = validatorFor(schema);
  } catch (err) {
    return `schema is invalid: ${(err as Error).message}`;
  }
  return validate(args) ? undefined : describeErrors(validate.errors ?? []);
}
