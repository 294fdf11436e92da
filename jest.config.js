// Two projects so there is a quick loop: `npm run test:unit` needs nothing running;
// `npm run test:integration` talks to a real Kafka broker (started by the global setup when
// KAFKA_BROKERS is unset). `npm test` runs both, as CI does.
/** @type {import('jest').Config['transform']} */
const transform = {
  '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, sourceMaps: 'inline' }],
};
const common = {
  transform,
  testEnvironment: 'node',
  // openid-client, jose, oidc-provider and puppeteer-core ship ESM only; let swc turn them into
  // CommonJS for jest.
  transformIgnorePatterns: [
    '/node_modules/(?!(openid-client|jose|oauth4webapi|oidc-provider|puppeteer-core|@puppeteer/browsers|chromium-bidi|webdriver-bidi-protocol)/)',
  ],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.data/'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/*.int.test.ts'],
      globalSetup: '<rootDir>/test/kafka-global-setup.ts',
      globalTeardown: '<rootDir>/test/kafka-global-teardown.ts',
      slowTestThreshold: 30,
    },
  ],
};
