/** Jest runs the TypeScript tests with ts-jest (transpile only; `npm run typecheck` checks types). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
  moduleNameMapper: { '^@waiting-queue/shared$': '<rootDir>/packages/shared/src/index.ts' },
  // Workspace-only dependencies (e.g. jose, installed under packages/api) for tests that verify what the api signs.
  modulePaths: ['<rootDir>/packages/api/node_modules', '<rootDir>/packages/scheduler/node_modules'],
  testTimeout: 60_000,
};
