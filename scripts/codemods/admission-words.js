// @ts-check
/**
 * Codemod: one word per concept for admission in TypeScript identifiers. Renames, with the TypeScript language
 * service (every reference, including object literals typed by the renamed property, across packages/*\/src and
 * test/), then by exact text in the plain-JS tools (bench/, scripts/) and what is left in test/:
 * - keys.entry        -> keys.admitted          (Redis key `wq:{<itemId>}:entry` unchanged)
 * - keys.entryBatches -> keys.admissionBatches  (Redis key `wq:{<itemId>}:entry-batches` unchanged)
 * - AdmitParams.entryTtlMs and AdmissionOptions.entryTtlMs -> admissionTtlMs
 * Wire names, Redis keys, metric names, log fields and the ENTRY_TTL_SECONDS setting are not touched.
 * Idempotent: a name already renamed is skipped. Run from anywhere: node scripts/codemods/admission-words.js
 */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..', '..');

/** [file, name of the container, old property, new property] */
const RENAMES = [
  ['packages/shared/src/keys.ts', 'keys', 'entryBatches', 'admissionBatches'],
  ['packages/shared/src/keys.ts', 'keys', 'entry', 'admitted'],
  ['packages/shared/src/queue-store.ts', 'AdmitParams', 'entryTtlMs', 'admissionTtlMs'],
  ['packages/scheduler/src/admission.ts', 'AdmissionOptions', 'entryTtlMs', 'admissionTtlMs'],
];
/**
 * Exact-text renames in the JS tools, which the language service does not see, and in the tests after it (object
 * literals built before the call, e.g. `const base = {...}`, and the helpers' parameter names).
 */
const TEXT_RENAMES = [
  [/\bkeys\.entryBatches\(/g, 'keys.admissionBatches('],
  [/\bkeys\.entry\(/g, 'keys.admitted('],
  [/\bentryTtlMs\b/g, 'admissionTtlMs'],
  [/\badmissionTtlMs: admissionTtlMs\b/g, 'admissionTtlMs'],
];

const configPath = path.join(root, 'test', 'tsconfig.json');
const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, path.dirname(configPath));
/** @type {Map<string, { text: string, version: number }>} */
const files = new Map(parsed.fileNames.map((f) => [path.resolve(f), { text: fs.readFileSync(f, 'utf8'), version: 0 }]));
/** @type {ts.LanguageServiceHost} */
const host = {
  getScriptFileNames: () => [...files.keys()],
  getScriptVersion: (f) => String(files.get(path.resolve(f))?.version ?? 0),
  getScriptSnapshot: (f) => {
    const known = files.get(path.resolve(f));
    if (known) return ts.ScriptSnapshot.fromString(known.text);
    return fs.existsSync(f) ? ts.ScriptSnapshot.fromString(fs.readFileSync(f, 'utf8')) : undefined;
  },
  getCurrentDirectory: () => root,
  getCompilationSettings: () => parsed.options,
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  fileExists: ts.sys.fileExists,
  readFile: ts.sys.readFile,
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
};
const service = ts.createLanguageService(host, ts.createDocumentRegistry());

/** Position of property `prop` declared directly in `container` (an object literal const or an interface). */
function findDeclaration(file, container, prop) {
  const sf = /** @type {ts.SourceFile} */ (service.getProgram()?.getSourceFile(file));
  let found = -1;
  /** @param {ts.Node} node */
  const visit = (node) => {
    if (found >= 0) return;
    let members;
    if (ts.isInterfaceDeclaration(node) && node.name.text === container) members = node.members;
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === container && node.initializer) {
      let init = node.initializer;
      while (ts.isAsExpression(init) || ts.isSatisfiesExpression(init) || ts.isParenthesizedExpression(init)) init = init.expression;
      if (ts.isObjectLiteralExpression(init)) members = init.properties;
    }
    for (const m of members ?? []) {
      if (m.name && ts.isIdentifier(m.name) && m.name.text === prop) found = m.name.getStart(sf);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

let total = 0;
for (const [rel, container, from, to] of RENAMES) {
  const file = path.join(root, rel);
  const pos = findDeclaration(file, container, from);
  if (pos < 0) {
    console.log(`${rel}: ${container}.${from} not found (already renamed?)`);
    continue;
  }
  const locations = service.findRenameLocations(file, pos, false, false, { providePrefixAndSuffixTextForRename: true }) ?? [];
  /** @type {Map<string, ts.RenameLocation[]>} */
  const byFile = new Map();
  for (const l of locations) byFile.set(l.fileName, [...(byFile.get(l.fileName) ?? []), l]);
  for (const [f, locs] of byFile) {
    const entry = /** @type {{ text: string, version: number }} */ (files.get(path.resolve(f)));
    let text = entry.text;
    for (const l of locs.sort((a, b) => b.textSpan.start - a.textSpan.start)) {
      text = text.slice(0, l.textSpan.start) + (l.prefixText ?? '') + to + (l.suffixText ?? '') + text.slice(l.textSpan.start + l.textSpan.length);
    }
    entry.text = text;
    entry.version++;
    fs.writeFileSync(f, text);
    total += locs.length;
  }
  console.log(`${container}.${from} -> ${to}: ${locations.length} place(s) in ${byFile.size} file(s)`);
}

for (const dir of ['bench', 'scripts', 'test']) {
  for (const name of fs.readdirSync(path.join(root, dir), { recursive: true })) {
    const f = path.join(root, dir, String(name));
    if (!/\.(js|ts)$/.test(f) || f.includes('node_modules') || f.includes('codemods')) continue;
    const before = fs.readFileSync(f, 'utf8');
    let after = before;
    for (const [re, to] of TEXT_RENAMES) after = after.replace(re, /** @type {string} */ (to));
    if (after !== before) {
      fs.writeFileSync(f, after);
      console.log(`${path.relative(root, f)}: renamed by text`);
    }
  }
}
console.log(`${total} reference(s) renamed`);
