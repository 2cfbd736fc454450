#!/usr/bin/env node
// Writes man/pipefitter.1 from the built command definitions (dist/cli/main.js), the same ones
// `pipefitter --help` prints. Runs at the end of `npm run build`; package.json's "man" installs it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { buildProgram, VERSION } from '../dist/cli/main.js';
import { renderMan } from '../dist/cli/man.js';

mkdirSync('man', { recursive: true });
writeFileSync('man/pipefitter.1', renderMan(buildProgram(), VERSION));
