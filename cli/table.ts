/** Tables the CLI prints: plain text, no colour codes (cli-table3 colours headers even when piped), no lines between rows. */
import Table from 'cli-table3';

/** A table with `head` as its header row; `push` rows, then `toString()`. */
export const plainTable = (head: string[]): Table.Table =>
  new Table({ head, style: { head: [], border: [], compact: true } });
