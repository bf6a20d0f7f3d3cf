#!/usr/bin/env node
// The bulwark command's Node entry, a thin shim over the bundled CLI. bin/bulwark starts it with
// NODE_EXTRA_CA_CERTS moved aside (see there); it is put back here, so every command bulwark starts inherits it.
import { main } from '../dist/bulwark.js';

const deferred = process.env['BULWARK_DEFERRED_CA_CERTS'];
if (deferred !== undefined) {
  process.env['NODE_EXTRA_CA_CERTS'] = deferred;
  delete process.env['BULWARK_DEFERRED_CA_CERTS'];
}
const code = await main(process.argv.slice(2), process, { caCertsDeferred: deferred !== undefined });
// Exit once stdout and stderr have taken everything (a pipe that is not read fast enough holds writes back):
// left to wind down on its own, Node would first wait for V8's background optimizing compiles queued during the
// run, useless now and 10 to 40 ms after a vulns scan.
const flushed = (stream) => new Promise((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
