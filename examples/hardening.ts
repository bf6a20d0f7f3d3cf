// A hardening cookbook for Debian 12: no FTP or other clear-text services, a strict sshd, safe kernel network
// parameters, login defaults, tight modes on account files and a legal banner. `npm start` plans it on this
// machine; the converge bench applies it to a test host.
import { defineCookbook, notify } from 'bulwark';

export default defineCookbook({
  name: 'hardening',
  description:
    'Remove clear-text services, harden sshd, the kernel network stack, login defaults and account files.',
  attributes: {
    /** Packages that must not be installed at all: clear-text or legacy network services. */
    forbiddenPackages: ['vsftpd', 'telnetd', 'rsh-server', 'nis', 'tftpd-hpa', 'xinetd'],
    sshd: {
      PermitRootLogin: 'no',
      PasswordAuthentication: 'no',
      PermitEmptyPasswords: 'no',
      X11Forwarding: 'no',
      MaxAuthTries: '3',
      LoginGraceTime: '30',
      ClientAliveInterval: '300',
      AllowAgentForwarding: 'no',
    },
    sysctl: {
      'net.ipv4.ip_forward': '0',
      'net.ipv4.conf.all.send_redirects': '0',
      'net.ipv4.conf.all.accept_redirects': '0',
      'net.ipv4.conf.all.accept_source_route': '0',
      'net.ipv4.conf.all.rp_filter': '1',
      'net.ipv4.conf.all.log_martians': '1',
      'net.ipv4.icmp_echo_ignore_broadcasts': '1',
      'net.ipv4.tcp_syncookies': '1',
      'kernel.randomize_va_space': '2',
      'fs.suid_dumpable': '0',
    },
    loginDefs: { PASS_MAX_DAYS: '90', PASS_MIN_DAYS: '1', PASS_WARN_AGE: '14', UMASK: '027' },
    banner: 'Authorised use only. Activity on this system is monitored and recorded.',
    /** Filesystems nobody should mount here: their modules cannot be loaded. */
    disabledModules: ['cramfs', 'freevxfs', 'hfs', 'hfsplus', 'jffs2', 'udf'],
  },
  recipe(r, a) {
    // The seed story: FTP must never run, whatever else was installed.
    r.service('vsftpd', { running: false, enabled: false });
    r.package(a.forbiddenPackages, { action: 'purge' });

    const hasSshd = ['test', '-x', '/usr/sbin/sshd'];
    const ssh = r.service('ssh', { running: true, enabled: true, onlyIf: hasSshd });
    for (const [key, value] of Object.entries(a.sshd)) {
      r.keyValue('/etc/ssh/sshd_config', {
        key,
        value,
        verify: ['/usr/sbin/sshd', '-t', '-f', '%{path}'],
        onlyIf: hasSshd,
        notifies: notify(ssh, 'reload'),
      });
    }
    r.file('/etc/ssh/sshd_config', { mode: 0o600, owner: 'root', group: 'root', onlyIf: hasSshd });

    for (const [key, value] of Object.entries(a.sysctl)) r.sysctl(key, { value });
    for (const [key, value] of Object.entries(a.loginDefs)) {
      r.keyValue('/etc/login.defs', { key, value, separator: '\t', caseSensitive: true });
    }

    r.directory('/etc/modprobe.d', { mode: 0o755, owner: 'root', group: 'root' });
    r.file('/etc/modprobe.d/bulwark-filesystems.conf', {
      content: a.disabledModules.map((m) => `install ${m} /bin/false\nblacklist ${m}\n`).join(''),
      mode: 0o644,
    });
    r.file('/etc/issue.net', { content: `${a.banner}\n`, mode: 0o644, owner: 'root', group: 'root' });
    r.file('/etc/passwd', { mode: 0o644, owner: 'root', group: 'root' });
    r.file('/etc/group', { mode: 0o644, owner: 'root', group: 'root' });
    r.file('/etc/shadow', { mode: 0o640, owner: 'root', group: 'shadow' });
    r.file('/etc/gshadow', { mode: 0o640, owner: 'root', group: 'shadow' });
  },
});
