// @ts-check
/**
 * Codemod: rewrites `new WqError(code, message, headers?, data?, status?)` to
 * `new WqError(code, message, { headers, data, status })`, leaving out what equals the default (`{}` headers, `null`
 * data, no status). Calls with two arguments are left as they are. Idempotent: a call whose third argument is
 * already an options object (it has a `headers`, `data` or `status` key, or it is the only extra argument and not
 * an object literal of header names) is not touched twice.
 *
 * Usage: node scripts/codemods/wq-error-options.js [dir ...]   (default: packages/*\/src and test)
 */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..', '..');
const dirs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['packages/api/src', 'packages/scheduler/src', 'packages/shared/src', 'test'];

/** @param {string} dir @returns {string[]} */
function tsFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'dist') out.push(...tsFiles(p));
    else if (e.isFile() && p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const OPTION_KEYS = new Set(['headers', 'data', 'status']);

/** @param {ts.Expression} arg @param {ts.SourceFile} sf */
function isOptionsObject(arg, sf) {
  if (!ts.isObjectLiteralExpression(arg)) return false;
  return arg.properties.length > 0 && arg.properties.every((p) => p.name !== undefined && OPTION_KEYS.has(p.name.getText(sf)));
}

let changed = 0;
for (const file of dirs.flatMap((d) => tsFiles(path.resolve(root, d)))) {
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes('new WqError(')) continue;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  /** @type {{ start: number, end: number, replacement: string }[]} */
  const edits = [];
  /** @param {ts.Node} node */
  const visit = (node) => {
    if (ts.isNewExpression(node) && node.expression.getText(sf) === 'WqError' && node.arguments && node.arguments.length > 2) {
      const [, , headers, data, status] = node.arguments;
      if (node.arguments.length === 3 && isOptionsObject(headers, sf)) return;
      const parts = [];
      const isEmptyObject = headers && ts.isObjectLiteralExpression(headers) && headers.properties.length === 0;
      if (headers && !isEmptyObject) parts.push(`headers: ${headers.getText(sf)}`);
      if (data && data.kind !== ts.SyntaxKind.NullKeyword) parts.push(`data: ${data.getText(sf)}`);
      if (status && status.getText(sf) !== 'undefined') parts.push(`status: ${status.getText(sf)}`);
      const start = node.arguments[1].getEnd();
      const end = node.arguments[node.arguments.length - 1].getEnd();
      edits.push({ start, end, replacement: parts.length > 0 ? `, { ${parts.join(', ')} }` : '' });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  if (edits.length === 0) continue;
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.replacement + out.slice(e.end);
  fs.writeFileSync(file, out);
  changed += edits.length;
  console.log(`${path.relative(root, file)}: ${edits.length}`);
}
console.log(`${changed} call(s) rewritten`);
