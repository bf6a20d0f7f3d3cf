#!/usr/bin/env node
// The bulwark command: a thin shim over the compiled CLI.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
