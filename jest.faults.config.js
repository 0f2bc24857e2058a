/**
 * `npm run test:faults`: the fault and load tests of test/faults (scheduler kill -9, Redis restart, Redis Cluster
 * master failover, soak and spike). Slow (minutes) and CPU-heavy, so kept out of `npm test`; `.ci/run` runs both.
 */
const { projects } = require('./jest.config');

const { displayName: _functional, ...functional } = projects.find((p) => p.displayName === 'functional');

module.exports = {
  ...functional,
  roots: ['<rootDir>/test/faults'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300_000,
};
