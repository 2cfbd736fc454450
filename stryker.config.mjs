// @ts-check
// Mutation testing of the pure layers (issue 11): `npm run test:mutation`. What is in scope and
// why, the score and the survivors we accept are in README.md ("Mutation testing").
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  plugins: ['@stryker-mutator/tap-runner'],
  testRunner: 'tap',
  // The sandbox's .ts files get .js twins (scripts/stryker-sandbox.mjs), so each test file runs
  // in its own plain `node` process, without tsx's start-up: not `node --test`, whose child
  // process would hide the coverage Stryker's hook collects.
  buildCommand: 'node scripts/stryker-sandbox.mjs build',
  tap: {
    testFiles: ['test/unit/**/*.test.ts'],
    nodeArgs: [
      '--test-reporter=tap',
      '-r',
      '{{hookFile}}',
      '--import',
      './test/setup.js',
      'scripts/stryker-sandbox.mjs',
      'run',
      '{{testFile}}',
    ],
  },
  // Pure layers only. recipe/load.ts's file reading is marked `Stryker disable` in place.
  mutate: [
    'src/model/**/*.ts',
    'src/plan/**/*.ts',
    'src/compat/**/*.ts',
    'src/recipe/**/*.ts',
    'src/addr.ts',
    'src/names.ts',
    'src/values.ts',
    'src/ipam/pool.ts',
  ],
  // The TAP runner reports each test file as one test: a mutant runs only the files that reach it.
  coverageAnalysis: 'perTest',
  concurrency: 2,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  thresholds: { high: 80, low: 70, break: null },
  timeoutMS: 10000,
};
