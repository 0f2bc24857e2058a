/**
 * Jest runs the TypeScript tests with ts-jest (transpile only; `npm run typecheck` checks types), in two projects:
 * - unit: test/unit, pure modules only (no Redis, no processes), seconds in all (`npx jest --selectProjects unit`);
 * - functional: the rest of test/, each file against its own redis-server and service processes.
 * `npm test` runs both.
 */
const common = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
  moduleNameMapper: { '^@waiting-queue/(core|http|testkit)/(.*)$': '<rootDir>/packages/$1/src/$2' },
  // Workspace-only dependencies (e.g. jose, installed under packages/api) for tests that verify what the api signs.
  modulePaths: ['<rootDir>/packages/api/node_modules', '<rootDir>/packages/scheduler/node_modules'],
};

module.exports = {
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    {
      ...common,
      displayName: 'functional',
      roots: ['<rootDir>/test'],
      // Fault and load tests (minutes, CPU-heavy) run with `npm run test:faults` (jest.faults.config.js).
      testPathIgnorePatterns: ['/node_modules/', '/test/faults/', '/test/unit/'],
    },
  ],
};
