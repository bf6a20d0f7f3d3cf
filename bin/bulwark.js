#!/usr/bin/env node
// The bulwark command's Node entry, a thin shim over the bundled CLI. bin/bulwark starts it with
// NODE_EXTRA_CA_CERTS moved aside (see there); it is put back here, so every command bulwark starts inherits it.
import { setFlagsFromString } from 'node:v8';

const argv = process.argv.slice(2);
// `vulns` has a bundle of its own, about a fifth of the whole CLI (see scripts/bundle.js).
const { main } = await (argv[0] === 'vulns'
  ? import('../dist/bulwark-vulns.js')
  : import('../dist/bulwark.js'));

// A bulwark command is a short process: a scan or an audit runs for tens of milliseconds. V8 sends code it finds
// hot to its optimizing compiler on background threads; in a run this short those compiles mostly finish after
// the work they were for, compete with it for the CPU, and hold up the exit (Node joins the compiler threads
// first). Asking for four times V8's default profiling budget before a function counts as hot keeps such runs in
// the baseline tiers, while long work (indexing a 75 MB feed, type-checking a cookbook) is optimized a few
// milliseconds later than it would be. Set after the bundle is loaded: V8 refuses Node's code cache for internal
// modules loaded after a flag change. Library users (`import 'bulwark'`) keep V8's defaults.
setFlagsFromString('--interrupt-budget=270336');

const deferred = process.env['BULWARK_DEFERRED_CA_CERTS'];
if (deferred !== undefined) {
  process.env['NODE_EXTRA_CA_CERTS'] = deferred;
  delete process.env['BULWARK_DEFERRED_CA_CERTS'];
}
const code = await main(argv, process, { caCertsDeferred: deferred !== undefined });
// Exit once stdout and stderr have taken everything (a pipe that is not read fast enough holds writes back):
// left to wind down on its own, Node would first wait for V8's background optimizing compiles queued during the
// run.
const flushed = (stream) => new Promise((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
