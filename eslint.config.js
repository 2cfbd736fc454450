// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layer rule (STYLE.md 7.1): pure code never reaches for processes, files or the network.
const pureForbidden = {
  paths: [
    { name: 'execa', message: 'pure layers never spawn: plan steps and let exec/ run them' },
    { name: 'zx', message: 'pure layers never spawn' },
    { name: 'node:child_process', message: 'spawn only via exec/runner.ts' },
    { name: 'node:fs', message: 'pure layers do no file I/O' },
    { name: 'node:fs/promises', message: 'pure layers do no file I/O' },
    { name: 'node:net', message: 'pure layers do no network I/O' },
    { name: 'node:http', message: 'pure layers do no network I/O' },
  ],
  patterns: [
    {
      group: ['**/exec/*', '**/observe/*', '**/targets/*', '**/ipam/store*'],
      message: 'pure layers import no effect layer',
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      '.cache/',
      'bench/out/',
      'test/fixtures/',
      '.stryker-tmp/',
      'reports/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.mjs', 'bench/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'node:child_process', message: 'use execa through exec/runner.ts' }] },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/exec/runner.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'execa', message: 'execa is imported only by src/exec/runner.ts' },
            { name: 'node:child_process', message: 'use execa through exec/runner.ts' },
          ],
        },
      ],
    },
  },
  {
    files: [
      'src/model/**/*.ts',
      'src/plan/**/*.ts',
      'src/render/**/*.ts',
      'src/compat/**/*.ts',
      'src/names.ts',
      'src/addr.ts',
      'src/errors.ts',
      'src/tools.ts',
    ],
    rules: { 'no-restricted-imports': ['error', pureForbidden] },
  },
  {
    // the CNI plugin's pure modules; main.ts is its entry (stdin, environment, stdout)
    files: ['src/cni/**/*.ts'],
    ignores: ['src/cni/main.ts'],
    rules: { 'no-restricted-imports': ['error', pureForbidden] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The bootstrap runs before npm dependencies exist, so it spawns with node's own module.
    files: ['scripts/ensure.mjs'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
