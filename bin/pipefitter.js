#!/usr/bin/env node
import { run } from '../dist/cli-bundle/pipefitter.js';

run();
