/**
 * `npm run test:faults`: the fault and load tests of test/faults (scheduler kill -9, Redis restart, Redis Cluster
 * master failover, soak and spike). Slow (minutes) and CPU-heavy, so kept out of `npm test`; `.ci/run` runs both.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/faults'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300_000,
};
