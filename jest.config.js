/** Three honest tiers: unit specs beside the code, integration and e2e against the real Redis. */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json' }],
  // ESM-only packages (content-disposition under Bull Board's @fastify/static, smee-client): Node 20.19+
  // requires them natively, Jest needs them compiled to CommonJS.
  '^.+/node_modules/(content-disposition|smee-client)/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } }],
};
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|smee-client)/)'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.integration-spec.ts', '<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};
