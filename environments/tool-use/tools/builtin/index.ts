/**
 * The built-in tool set `builtin`: calculator, unit conversion, date arithmetic, a knowledge-base
 * search over the shipped `data/kb.json`, and Python execution in the code sandbox. Importing this
 * module registers it. `builtinTools(options)` builds the same set over another knowledge base.
 */
import { defineToolSet, type ToolSet } from '../api.js';
import { registerToolSet } from '../registry.js';
import { calculatorTool } from './calculator.js';
import { addDaysTool, dayOfWeekTool, daysBetweenTool } from './dates.js';
import { DEFAULT_KB_PATH, KnowledgeBase, searchKbTool } from './knowledgeBase.js';
import { type PythonToolOptions, pythonTool } from './python.js';
import { convertUnitsTool } from './units.js';

/** Name of the built-in tool set. */
export const BUILTIN_TOOL_SET = 'builtin';

/** Builds the built-in tools over the knowledge base at `kbPath` (default: the shipped one). */
export function builtinTools(
  options: { kbPath?: string; name?: string; python?: PythonToolOptions } = {},
): ToolSet {
  const kb = KnowledgeBase.load(options.kbPath ?? DEFAULT_KB_PATH);
  return defineToolSet({
    name: options.name ?? BUILTIN_TOOL_SET,
    description: 'Calculator, unit conversion, date arithmetic, knowledge-base search and sandboxed Python.',
    tools: [
      calculatorTool,
      convertUnitsTool,
      addDaysTool,
      daysBetweenTool,
      dayOfWeekTool,
      searchKbTool(kb),
      pythonTool(options.python),
    ],
  });
}

/** The registered built-in tool set. */
export const builtinToolSet = builtinTools();
registerToolSet(builtinToolSet);
