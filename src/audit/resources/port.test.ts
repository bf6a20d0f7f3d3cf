import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { LocalTransport } from '../../transports/local.js';
import {
  decodeProcAddress,
  formatIPv6,
  isBigEndian,
  parseProcNet,
  parseSocketOwners,
  port,
  portsResource,
} from './port.js';
import { observeSubjects } from './testing.js';
import type { Facts } from '../../resources/types.js';
import { subject } from '../types.js';

const FACTS: Facts = {
  hostname: 'h',
  osId: 'debian',
  osVersion: '12',
  osCodename: 'bookworm',
  arch: 'x86_64',
  init: 'sysv',
  liveKernel: true,
};

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0015 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0019 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31338 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:0016 0000000000000000FFFF00000200007F:C350 01 00000000:00000000 02:00000AB1 00000000     0        0 31339 2 0000000000000000 20 4 30 10 -1
`;

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1077 1 00000000a4686647 100 0 0 10 0
   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   102        0 1078 1 00000000a4686647 100 0 0 10 0
   2: 0100007F:0016 0100007F:A1B2 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
`;

const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2001 2 0000000000000000 0
  124: 0A00020F:D431 08080808:0035 01 00000000:00000000 00:00000000 00000000     0        0 2002 2 0000000000000000 0
`;

test('IPv4 addresses from /proc/net decode from little-endian words', () => {
  assert.equal(decodeProcAddress('0100007F'), '127.0.0.1');
  assert.equal(decodeProcAddress('00000000'), '0.0.0.0');
  assert.equal(decodeProcAddress('0F02000A'), '10.0.2.15');
});

test('IPv6 addresses from /proc/net decode word by word and print in RFC 5952 form', () => {
  assert.equal(decodeProcAddress('00000000000000000000000000000000'), '::');
  assert.equal(decodeProcAddress('00000000000000000000000001000000'), '::1');
  assert.equal(decodeProcAddress('0000000000000000FFFF00000100007F'), '::ffff:127.0.0.1');
  assert.equal(decodeProcAddress('000080FE000000000000000001000000'), 'fe80::1');
  // 2001:db8::1:0:0:1 — two zero runs of equal length: the first one is compressed.
  assert.equal(decodeProcAddress('B80D01200000000000000100' + '01000000'), '2001:db8::1:0:0:1');
  assert.equal(decodeProcAddress('b80d0120000000000000000000000000'), '2001:db8::');
});

test('a single zero group is not compressed and the longest zero run is', () => {
  assert.equal(
    formatIPv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]),
    '2001:db8:0:1:1:1:1:1',
  );
  assert.equal(formatIPv6([0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), '2001:0:0:1::1');
});

test('big-endian machines are recognised and their addresses are not byte-swapped', () => {
  assert.equal(isBigEndian('s390x'), true);
  assert.equal(isBigEndian('ppc64'), true);
  assert.equal(isBigEndian('ppc64le'), false);
  assert.equal(isBigEndian('x86_64'), false);
  assert.equal(isBigEndian('aarch64'), false);
  assert.equal(decodeProcAddress('7F000001', true), '127.0.0.1');
  assert.equal(decodeProcAddress('00000000000000000000000000000001', true), '::1');
});

test('addresses that are not hex are refused', () => {
  assert.throws(() => decodeProcAddress('zz00007F'), /not hex/);
});

test('only listening TCP sockets and unconnected UDP sockets are kept', () => {
  const tcp6 = parseProcNet(TCP6, 'tcp6');
  assert.deepEqual(
    tcp6.map((s) => [s.address, s.port, s.inode]),
    [
      ['::', 21, 31337],
      ['::1', 25, 31338],
    ],
  );
  const tcp = parseProcNet(TCP, 'tcp');
  assert.deepEqual(
    tcp.map((s) => [s.protocol, s.address, s.port]),
    [
      ['tcp', '0.0.0.0', 22],
      ['tcp', '127.0.0.1', 3306],
    ],
  );
  assert.deepEqual(
    parseProcNet(UDP, 'udp').map((s) => [s.address, s.port, s.inode]),
    [['0.0.0.0', 68, 2001]],
  );
});

test('socket owners map inodes to pids and process names', () => {
  const owners = parseSocketOwners(
    '/proc/10/fd socket:[1077]\n/proc/11/fd socket:[1077]\n/proc/12/fd socket:[9]\nC 10 sshd\nC 11 sshd\nC 12 my daemon\n',
  );
  assert.deepEqual(owners.get(1077), { pids: [10, 11], processes: ['sshd'] });
  assert.deepEqual(owners.get(9), { pids: [12], processes: ['my daemon'] });
});

test('reading ports throws a clear error when /proc/net is not there', () => {
  const missing = { exitCode: 3, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  const results = {
    tcp: missing,
    tcp6: missing,
    udp: missing,
    udp6: missing,
    owners: { ...missing, exitCode: 0 },
  };
  assert.throws(
    () => portsResource.read(results, FACTS),
    /cannot observe ports: \/proc\/net is not available in target/,
  );
});

test('ports outside 1..65535 and unknown protocols are refused at once', () => {
  assert.throws(() => port(0), /1 to 65535/);
  assert.throws(() => port(70000), /1 to 65535/);
  assert.throws(() => port(22, { protocol: 'sctp' as 'tcp' }), /'tcp' or 'udp'/);
});

test('every port view shares one ports observation', () => {
  assert.equal(port(21).listening.resource.key, port(22).pids.resource.key);
  assert.equal(port(21).listening.label, 'port 21 listening');
});

test('port 21 listens with vsftpd on a test host once the service is started', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const before = await observeSubjects(host.transport, [port(21).listening]);
  assert.equal(before.value(port(21).listening), false);

  const r = await host.sh('service vsftpd start');
  assert.equal(r.exitCode, 0, r.stderr.toString());
  const p = port(21);
  const udp = port(21, { protocol: 'udp' });
  const tcp = port(21, { protocol: 'tcp' });
  const o = await observeSubjects(host.transport, [p.listening, udp.listening, port(23).listening]);
  assert.equal(o.value(p.listening), true);
  assert.deepEqual(o.value(p.processes), ['vsftpd']);
  assert.deepEqual(o.value(p.addresses), ['::']);
  assert.deepEqual(o.value(p.protocols), ['tcp6']);
  assert.equal(o.value(p.pids).length, 1);
  assert.equal(o.value(tcp.listening), true);
  assert.equal(o.value(udp.listening), false);
  assert.equal(o.value(port(23).listening), false);

  // The pid really is vsftpd's.
  const pid = o.value(p.pids)[0];
  const comm = await host.sh(`cat /proc/${pid}/comm`);
  assert.equal(comm.stdout.toString().trim(), 'vsftpd');
});

test('a UDP socket bound on a test host counts as listening on its port, with its IPv4 address', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  // python3 is not in the base root; perl is, and binds a UDP socket with core modules only.
  const r = await host.sh(
    'perl -MIO::Socket::INET -e \'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 5353, Proto => "udp") or die; sleep 30\' >/dev/null 2>&1 & ' +
      // Wait until the socket is bound (5353 is 14E9 in /proc/net/udp).
      'for i in $(seq 100); do grep -q ":14E9 " /proc/net/udp && exit 0; sleep 0.05; done; exit 1',
  );
  assert.equal(r.exitCode, 0);
  const p = port(5353, { protocol: 'udp' });
  const o = await observeSubjects(host.transport, [p.listening]);
  assert.equal(o.value(p.listening), true);
  assert.deepEqual(o.value(p.addresses), ['127.0.0.1']);
  assert.deepEqual(o.value(p.protocols), ['udp']);
  assert.deepEqual(o.value(p.processes), ['perl']);
});

test('ports on this machine can be read through the local transport', async () => {
  const all = subject(portsResource, 'sockets', (o) => o.sockets);
  const o = await observeSubjects(new LocalTransport(), [all, port(1).listening]);
  assert.equal(typeof o.value(port(1).listening), 'boolean');
  for (const s of o.value(all)) {
    assert.ok(s.port >= 1 && s.port <= 65535);
    assert.match(s.protocol, /^(tcp|udp)6?$/);
    assert.ok(s.address.includes('.') || s.address.includes(':'));
  }
});
