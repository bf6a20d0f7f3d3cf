#!/usr/bin/env node
// The bulwark command's Node entry, a thin shim over the bundled CLI. bin/bulwark starts it with
// NODE_EXTRA_CA_CERTS moved aside (see there); it is put back here, so every command bulwark starts inherits it.
import { main } from '../dist/bulwark.js';

const deferred = process.env['BULWARK_DEFERRED_CA_CERTS'];
if (deferred !== undefined) {
  process.env['NODE_EXTRA_CA_CERTS'] = deferred;
  delete process.env['BULWARK_DEFERRED_CA_CERTS'];
}
process.exitCode = await main(process.argv.slice(2), process, { caCertsDeferred: deferred !== undefined });
