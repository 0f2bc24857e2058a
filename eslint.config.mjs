// @ts-check
/**
 * ESLint (flat config): the recommended rules of ESLint and typescript-eslint over the TypeScript sources of the
 * workspaces, the tests, and the Node scripts of scripts/ and bench/. `npm run lint` runs it together with the
 * import-cycle guard (madge). Formatting is Prettier's job (`npm run format:check`), so no stylistic rules here.
 */
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // k6scripts/ run in k6's own runtime, not Node; tools/ is C.
    ignores: ['**/node_modules/**', '**/dist/**', 'tools/**', 'k6scripts/**'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    rules: {
      // A leading underscore marks a parameter a signature requires (express's 4-argument error handler) or a
      // property left out of a rest copy.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The services log through pino and the tests through their assertions; a console line is a deliberate
    // exception that says so with an eslint-disable comment.
    files: ['packages/*/src/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // scripts/, bench/, deploy/ and the test preload are CommonJS run by Node.
    files: ['**/*.js'],
    ignores: ['packages/*/public/**'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The browser scripts of the waiting-room page and the console: no build step, written as ES5 scripts so that
    // any browser runs them; parsing them as ES5 keeps them so.
    files: ['packages/*/public/**/*.js'],
    languageOptions: { ecmaVersion: 5, sourceType: 'script', globals: { ...globals.browser } },
    rules: {
      // ES5 has no `catch {}` without a binding, so an ignored error still needs a name.
      '@typescript-eslint/no-unused-vars': ['error', { caughtErrors: 'none' }],
    },
  },
  {
    files: ['test/**/*.ts'],
    languageOptions: { globals: { ...globals.jest } },
    rules: {
      // Tests read parsed JSON replies and walk documents whose shape their assertions check, field by field.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
