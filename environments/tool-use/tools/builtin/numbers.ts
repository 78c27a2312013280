/** Number formatting shared by the built-in tools, so results and generated answers agree exactly. */

/**
 * A number as short decimal text with `significant` significant digits (default 10), without
 * exponent notation for ordinary magnitudes: `formatNumber(1.3607771100000001, 6)` → `"1.36078"`.
 */
export function formatNumber(x: number, significant = 10): string {
  if (!Number.isFinite(x)) return String(x);
  const rounded = Number(x.toPrecision(significant));
  // Normalise -0 to 0.
  return String(rounded === 0 ? 0 : rounded);
}
