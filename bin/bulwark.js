#!/usr/bin/env node
// The bulwark command: a thin shim over the bundled CLI.
import { main } from '../dist/bulwark.js';

process.exitCode = await main(process.argv.slice(2));
