/**
 * `convert_units`: converts a quantity between units of the same dimension with mathjs units
 * (length, mass, volume, time, speed, temperature, …). Common spellings mathjs lacks are mapped
 * (`pounds` → `lbm`, `celsius` → `degC`, `kph` → `km/h`, …).
 */
import { unit } from 'mathjs';
import { z } from 'zod';
import { defineTool, ToolError } from '../api.js';
import { formatNumber } from './numbers.js';

const ALIASES: Record<string, string> = {
  pound: 'lbm',
  pounds: 'lbm',
  lb: 'lbm',
  lbs: 'lbm',
  metre: 'm',
  metres: 'm',
  kilometre: 'km',
  kilometres: 'km',
  celsius: 'degC',
  '°c': 'degC',
  c: 'degC',
  fahrenheit: 'degF',
  '°f': 'degF',
  f: 'degF',
  kelvin: 'K',
  k: 'K',
  mph: 'mi/h',
  kph: 'km/h',
  kmh: 'km/h',
  litre: 'L',
  litres: 'L',
  liter: 'L',
  liters: 'L',
};

/** The mathjs spelling of a unit name written by a model or a task. */
export function canonicalUnit(name: string): string {
  const trimmed = name.trim();
  return ALIASES[trimmed.toLowerCase()] ?? trimmed;
}

/** Converts `value` from one unit to another; 6 significant digits. Throws `ToolError`. */
export function convert(value: number, fromUnit: string, toUnit: string): string {
  try {
    return formatNumber(unit(value, canonicalUnit(fromUnit)).toNumber(canonicalUnit(toUnit)), 6);
  } catch (err) {
    throw new ToolError(`cannot convert ${value} ${fromUnit} to ${toUnit}: ${(err as Error).message}`);
  }
}

/** The unit-conversion tool. */
export const convertUnitsTool = defineTool({
  name: 'convert_units',
  description:
    'Convert a quantity from one unit to another of the same kind, e.g. 5 mi to km, 3 lb to kg, 100 degF to degC. Returns the converted number.',
  schema: z.object({
    value: z.number().describe('The quantity to convert.'),
    from_unit: z.string().min(1).describe('Unit of the value, e.g. "mi", "lb", "degF", "ft".'),
    to_unit: z.string().min(1).describe('Unit to convert to, e.g. "km", "kg", "degC", "m".'),
  }),
  run: ({ value, from_unit, to_unit }) => convert(value, from_unit, to_unit),
});
