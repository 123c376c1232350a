#!/usr/bin/env node
// Entry point of the `learngene` command (compiled TypeScript lives in dist/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
