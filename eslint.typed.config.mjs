// @ts-check
/**
 * `npm run lint:types`: the project's ESLint config plus typescript-eslint's type-checked rules (floating and
 * misused promises, unbound methods, throws of non-Errors, ...) over the packages' sources. Kept out of
 * `npm run lint` because building the TypeScript program for every file more than doubles its time.
 */
import tseslint from 'typescript-eslint';
import base from './eslint.config.mjs';

export default tseslint.config(
  ...base,
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: ['packages/*/src/**/*.ts'] })),
  {
    files: ['packages/*/src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // The same options as the base config: the type-checked preset would reset them.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
);
