// The layering rule (eslint plugin `dtca`, rule `layering`): a file in one top-level folder may not
// import from the folders above it. cells/ fabric/ rng/ power/ traces/ never import sim/ or cli/;
// sim/ never imports cli/. Relative specifiers are resolved against the importing file, so the rule
// sees through '../../sim/x.js' as well as './x.js'; package imports are not its business.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
/** folder -> the folders it must not import */
export const FORBIDDEN = {
  cells: ['sim', 'cli'],
  fabric: ['sim', 'cli'],
  rng: ['sim', 'cli'],
  power: ['sim', 'cli'],
  traces: ['sim', 'cli'],
  sim: ['cli'],
};

function topFolder(file) {
  const rel = path.relative(ROOT, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : undefined;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'lower layers (cells, fabric, rng, power, traces) never import sim/ or cli/; sim/ never imports cli/' },
    schema: [],
    messages: { upward: "{{from}}/ must not import {{to}}/ ('{{spec}}'): pass what it needs down instead" },
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const from = topFolder(file);
    const banned = from ? FORBIDDEN[from] : undefined;
    if (!banned) return {};
    function check(node, source) {
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const spec = source.value;
      if (!spec.startsWith('.')) return;
      const to = topFolder(path.resolve(path.dirname(file), spec));
      if (to && banned.includes(to)) context.report({ node: source, messageId: 'upward', data: { from, to, spec } });
    }
    return {
      ImportDeclaration: (n) => check(n, n.source),
      ExportNamedDeclaration: (n) => check(n, n.source),
      ExportAllDeclaration: (n) => check(n, n.source),
      ImportExpression: (n) => check(n, n.source),
      // typescript-eslint 8: `source` (the string literal); older versions: argument.literal
      TSImportType: (n) => check(n, 'source' in n ? n.source : n.argument?.literal),
    };
  },
};

export default { rules: { layering: rule } };
