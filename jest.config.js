/** Jest in ESM mode (fhir-kit-client 2 is ESM-only). Type errors are caught by `tsc --noEmit` in `npm test`. */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.data/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }] },
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  // The progress file lets test/run-jest.js notice a stuck worker (see there).
  reporters: ['default', '<rootDir>/test/progress-reporter.js'],
  // Every test and hook without a timeout of its own (starting a test hub or service in beforeAll, most of them):
  // a few seconds here, over 30 s seen on a loaded 2-core machine. Generous, so a slow machine is not a failure.
  // A test or hook gives its own timeout only to allow MORE than this, never less (a lower one is stricter than
  // every test around it: 63 of them were, 30-60 s, written when this was 30 s).
  testTimeout: 90000,
  maxWorkers: 2,
};
