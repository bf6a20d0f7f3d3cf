// The audit bench's profile: 100 controls over the kinds of checks a baseline makes (files, packages, ports,
// kernel parameters, accounts, login defaults, services, processes), all answered by one probe.
import { defineProfile } from 'bulwark';

const files = [
  '/etc/passwd',
  '/etc/group',
  '/etc/shadow',
  '/etc/gshadow',
  '/etc/hosts',
  '/etc/hostname',
  '/etc/fstab',
  '/etc/login.defs',
  '/etc/os-release',
  '/etc/resolv.conf',
];
const packages = [
  'vsftpd',
  'telnetd',
  'rsh-server',
  'nis',
  'tftpd-hpa',
  'xinetd',
  'talkd',
  'ypserv',
  'inetutils-telnetd',
  'rsh-redone-server',
];
const ports = [21, 23, 69, 111, 512, 513, 514, 873, 2049, 6000];
const sysctl = [
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.send_redirects',
  'net.ipv4.conf.all.accept_redirects',
  'net.ipv4.conf.all.accept_source_route',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.all.log_martians',
  'net.ipv4.icmp_echo_ignore_broadcasts',
  'net.ipv4.tcp_syncookies',
  'kernel.randomize_va_space',
  'fs.suid_dumpable',
];
const loginKeys = [
  'PASS_MAX_DAYS',
  'PASS_MIN_DAYS',
  'PASS_WARN_AGE',
  'UMASK',
  'ENCRYPT_METHOD',
  'LOGIN_RETRIES',
  'LOGIN_TIMEOUT',
  'UID_MIN',
  'UID_MAX',
  'GID_MIN',
];
const services = [
  'vsftpd',
  'telnet',
  'rsh',
  'nis',
  'tftpd-hpa',
  'xinetd',
  'avahi-daemon',
  'cups',
  'rpcbind',
  'nfs-server',
];
const modules = ['cramfs', 'freevxfs', 'hfs', 'hfsplus', 'jffs2', 'udf', 'dccp', 'sctp', 'rds', 'tipc'];
const users = ['root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news'];

export default defineProfile({
  name: 'bench-100',
  controls(control) {
    files.forEach((path, i) =>
      control(`file-${i}`, { title: `${path} is not world-writable` }, (t) => {
        t.expect(t.file(path).mode).toBeNoMorePermissiveThan(0o7755);
        t.expect(t.file(path).owner).toBe('root');
      }),
    );
    packages.forEach((name, i) =>
      control(`pkg-${i}`, { title: `${name} is not installed` }, (t) =>
        t.expect(t.package(name).installed).toBe(false),
      ),
    );
    ports.forEach((port, i) =>
      control(`port-${i}`, { title: `nothing listens on ${port}` }, (t) =>
        t.expect(t.port(port).listening).toBe(false),
      ),
    );
    sysctl.forEach((key, i) =>
      control(`kernel-${i}`, { title: `${key} is set` }, (t) =>
        t.expect(t.kernelParameter(key).value).toMatch(/^\d+$/),
      ),
    );
    loginKeys.forEach((key, i) =>
      control(`login-${i}`, { title: `${key} is readable` }, (t) =>
        t.expect(t.loginDefs().exists).toBe(true),
      ),
    );
    services.forEach((name, i) =>
      control(`svc-${i}`, { title: `${name} does not run` }, (t) =>
        t.expect(t.service(name).running).toBe(false),
      ),
    );
    modules.forEach((name, i) =>
      control(`mod-${i}`, { title: `${name} is not loaded` }, (t) =>
        t.expect(t.kernelModule(name).loaded).toBe(false),
      ),
    );
    users.forEach((name, i) =>
      control(`user-${i}`, { title: `${name} has a shell path` }, (t) =>
        t.expect(t.user(name).shell).toMatch(/^\//),
      ),
    );
    for (let i = 0; i < 10; i++) {
      control(`acct-${i}`, { title: 'only root has uid 0' }, (t) =>
        t.expect(t.users().withUid0).toEqual(['root']),
      );
    }
    for (let i = 0; i < 10; i++) {
      control(`proc-${i}`, { title: 'no telnetd process' }, (t) =>
        t.expect(t.processes('telnetd').count).toBe(0),
      );
    }
  },
});
