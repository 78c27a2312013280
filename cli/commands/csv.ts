/** CSV lines (RFC 4180): fields with a comma, quote or line break are quoted, quotes doubled. */

/** One CSV line from values; null and undefined are empty fields. */
export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  return values
    .map((v) => {
      if (v === null || v === undefined) return '';
      const s = String(v);
      return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
    })
    .join(',');
}
