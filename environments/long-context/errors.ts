/** Errors of the long-context environment. */

/**
 * Thrown for bad corpora, unreadable blobs and malformed task records. `type` is stable:
 * `corpus` (missing or empty haystack corpus), `blob` (a blob cannot be read or written),
 * `task_record` (a `parseTask` record does not fit any accepted shape), `tokenizer` (a token counter
 * answered something unusable), `length` (a target length cannot be reached).
 */
export class LongContextError extends Error {
  readonly type = 'LongContextError';
  constructor(
    readonly kind: 'corpus' | 'blob' | 'task_record' | 'tokenizer' | 'length',
    message: string,
  ) {
    super(message);
  }
}
