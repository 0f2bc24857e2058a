/** Jest runs the TypeScript tests with ts-jest (transpile only; `npm run typecheck` checks types). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Fault and load tests (minutes, CPU-heavy) run with `npm run test:faults` (jest.faults.config.js).
  testPathIgnorePatterns: ['/node_modules/', '/test/faults/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
  moduleNameMapper: { '^@waiting-queue/shared$': '<rootDir>/packages/shared/src/index.ts' },
  // Workspace-only dependencies (e.g. jose, installed under packages/api) for tests that verify what the api signs.
  modulePaths: ['<rootDir>/packages/api/node_modules', '<rootDir>/packages/scheduler/node_modules'],
  testTimeout: 60_000,
};
