// The Debian 12 baseline: what every host should satisfy before it carries anything else. `bulwark audit` runs it
// when given no file; a fresh Debian 12 host converged with examples/hardening.ts passes it.
import { defineProfile, type ControlContext } from 'bulwark';

const sshInstalled = (t: ControlContext): void =>
  t.onlyIf(t.package('openssh-server').installed, 'openssh-server is not installed');

export default defineProfile({
  name: 'baseline',
  title: 'Bulwark Debian 12 baseline',
  version: '1.0.0',
  inputs: {
    /** Packages that must not be installed: clear-text or legacy network services. */
    forbiddenPackages: ['vsftpd', 'telnetd', 'rsh-server', 'nis', 'tftpd-hpa', 'xinetd'],
    /** TCP ports that must not listen: FTP, telnet, rsh/rlogin/rexec, TFTP (UDP, checked apart). */
    forbiddenTcpPorts: [21, 23, 512, 513, 514],
    sshMaxAuthTries: 4,
    sshLoginGraceTime: 60,
    passMaxDays: 365,
    passWarnAge: 7,
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
    /** Kernel modules for filesystems nobody should mount here. */
    disabledModules: ['cramfs', 'freevxfs', 'hfs', 'hfsplus', 'jffs2', 'udf'],
  },
  controls(control, inputs) {
    // Clear-text services: the seed story. FTP installed by accident and listening on 21.
    control(
      'svc-01',
      {
        title: 'No FTP server is installed, running or listening',
        impact: 'high',
        tags: { area: 'services' },
      },
      (t) => {
        t.expect(t.package('vsftpd').installed).toBe(false);
        t.expect(t.service('vsftpd').running).toBe(false);
        t.expect(t.port(21).listening).toBe(false);
        t.expect(t.processes('^(\\S*/)?(vsftpd|proftpd|pure-ftpd)(\\s|$)').count).toBe(0);
      },
    );
    control(
      'svc-02',
      {
        title: 'No legacy clear-text service package is installed',
        impact: 'high',
        tags: { area: 'services' },
      },
      (t) => {
        for (const name of inputs.forbiddenPackages) t.expect(t.package(name).installed).toBe(false);
      },
    );
    control(
      'svc-03',
      { title: 'No clear-text TCP service listens', impact: 'high', tags: { area: 'network' } },
      (t) => {
        for (const port of inputs.forbiddenTcpPorts)
          t.expect(t.port(port, { protocol: 'tcp' }).listening).toBe(false);
      },
    );
    control('svc-04', { title: 'TFTP does not listen', impact: 'medium', tags: { area: 'network' } }, (t) => {
      t.expect(t.port(69, { protocol: 'udp' }).listening).toBe(false);
    });

    // sshd: the effective settings, as sshd itself resolves them (first value wins, Include and Match understood).
    const sshd = (id: string, title: string, impact: number, check: (t: ControlContext) => void): void =>
      control(id, { title, impact, tags: { area: 'ssh' } }, (t) => {
        sshInstalled(t);
        check(t);
      });
    sshd('ssh-01', 'sshd refuses root logins', 0.9, (t) =>
      t.expect(t.sshdConfig().get('PermitRootLogin')).toCmp('no'),
    );
    sshd('ssh-02', 'sshd refuses password logins', 0.7, (t) =>
      t.expect(t.sshdConfig().get('PasswordAuthentication')).toCmp('no'),
    );
    sshd('ssh-03', 'sshd refuses empty passwords', 0.9, (t) =>
      t.expect(t.sshdConfig().get('PermitEmptyPasswords')).not.toCmp('yes'),
    );
    sshd('ssh-04', 'sshd does not forward X11', 0.5, (t) =>
      t.expect(t.sshdConfig().get('X11Forwarding')).toCmp('no'),
    );
    sshd('ssh-05', `sshd allows at most ${inputs.sshMaxAuthTries} authentication tries`, 0.5, (t) =>
      t.expect(t.sshdConfig().get('MaxAuthTries')).toBeAtMost(inputs.sshMaxAuthTries),
    );
    sshd('ssh-06', `sshd waits at most ${inputs.sshLoginGraceTime} s for a login`, 0.3, (t) =>
      t.expect(t.sshdConfig().get('LoginGraceTime')).toBeAtMost(inputs.sshLoginGraceTime),
    );
    sshd('ssh-07', 'sshd drops idle sessions', 0.3, (t) => {
      t.expect(t.sshdConfig().get('ClientAliveInterval')).toBeGreaterThan(0);
      t.expect(t.sshdConfig().get('ClientAliveInterval')).toBeAtMost(900);
    });
    sshd('ssh-08', 'sshd does not forward agents', 0.3, (t) =>
      t.expect(t.sshdConfig().get('AllowAgentForwarding')).toCmp('no'),
    );
    sshd('ssh-09', 'sshd_config is readable by root only', 0.5, (t) => {
      const f = t.file('/etc/ssh/sshd_config');
      t.expect(f.owner).toBe('root');
      t.expect(f.mode).toBeNoMorePermissiveThan(0o600);
    });
    control(
      'ssh-10',
      { title: 'The ssh client does not forward agents to every host', impact: 0.3, tags: { area: 'ssh' } },
      (t) => {
        t.onlyIf(t.file('/etc/ssh/ssh_config').exists, 'no ssh client configuration');
        t.expect(t.sshConfig().get('ForwardAgent')).not.toCmp('yes');
      },
    );

    // Kernel network stack and hardening parameters: live values, or on an image the persisted ones.
    let n = 0;
    for (const [key, value] of Object.entries(inputs.sysctl)) {
      n++;
      control(
        `kernel-${String(n).padStart(2, '0')}`,
        {
          title: `${key} is ${value}`,
          impact: key.startsWith('kernel.') ? 0.7 : 0.5,
          tags: { area: 'kernel' },
        },
        (t) => t.expect(t.kernelParameter(key).effective).toCmp(value),
      );
    }
    control(
      'kernel-20',
      {
        title: 'Unused filesystem modules are blacklisted or disabled',
        impact: 0.3,
        tags: { area: 'kernel' },
      },
      (t) => {
        for (const name of inputs.disabledModules) t.expect(t.kernelModule(name).blacklisted).toBe(true);
      },
    );

    // Account files and accounts.
    const accountFile = (id: string, path: string, mode: number, group: string): void =>
      control(
        id,
        {
          title: `${path} is owned by root:${group} and no more permissive than ${mode.toString(8)}`,
          impact: 0.7,
          tags: { area: 'accounts' },
        },
        (t) => {
          const f = t.file(path);
          t.expect(f.exists).toBe(true);
          t.expect(f.owner).toBe('root');
          t.expect(f.group).toBe(group);
          t.expect(f.mode).toBeNoMorePermissiveThan(mode);
        },
      );
    accountFile('acct-01', '/etc/passwd', 0o644, 'root');
    accountFile('acct-02', '/etc/group', 0o644, 'root');
    accountFile('acct-03', '/etc/shadow', 0o640, 'shadow');
    accountFile('acct-04', '/etc/gshadow', 0o640, 'shadow');
    control(
      'acct-05',
      { title: 'Only root has user id 0', impact: 'critical', tags: { area: 'accounts' } },
      (t) => t.expect(t.users().withUid0).toEqual(['root']),
    );
    control(
      'acct-06',
      { title: 'No account has an empty password', impact: 'critical', tags: { area: 'accounts' } },
      (t) => t.expect(t.users().withEmptyPasswords).toEqual([]),
    );
    control(
      'acct-07',
      { title: 'User and group ids are unique', impact: 0.5, tags: { area: 'accounts' } },
      (t) => {
        t.expect(t.users().duplicateUids).toEqual([]);
        t.expect(t.groups().duplicateGids).toEqual([]);
        t.expect(t.groups().duplicateNames).toEqual([]);
      },
    );
    control(
      'acct-08',
      { title: 'The shadow group exists and has no members', impact: 0.5, tags: { area: 'accounts' } },
      (t) => {
        t.expect(t.group('shadow').exists).toBe(true);
        t.expect(t.group('shadow').members).toEqual([]);
      },
    );
    control(
      'acct-09',
      {
        title: `Passwords expire within ${inputs.passMaxDays} days`,
        impact: 0.3,
        tags: { area: 'accounts' },
      },
      (t) => t.expect(t.loginDefs().get('PASS_MAX_DAYS')).toBeAtMost(inputs.passMaxDays),
    );
    control(
      'acct-10',
      { title: 'Passwords cannot be changed again at once', impact: 0.3, tags: { area: 'accounts' } },
      (t) => t.expect(t.loginDefs().get('PASS_MIN_DAYS')).toBeAtLeast(1),
    );
    control(
      'acct-11',
      {
        title: `Users are warned ${inputs.passWarnAge} days before a password expires`,
        impact: 0.3,
        tags: { area: 'accounts' },
      },
      (t) => t.expect(t.loginDefs().get('PASS_WARN_AGE')).toBeAtLeast(inputs.passWarnAge),
    );
    control(
      'acct-12',
      {
        title: 'New files are not readable by others (UMASK 027 or stricter)',
        impact: 0.3,
        tags: { area: 'accounts' },
      },
      (t) =>
        t
          .expect(t.loginDefs().get('UMASK'))
          .toSatisfy(
            (v) => v !== undefined && /^0?[0-7]{3}$/.test(v) && (Number.parseInt(v, 8) & 0o027) === 0o027,
            'a umask masking group write and all of other (027 or stricter)',
          ),
    );

    // What the system tells strangers.
    control(
      'banner-01',
      {
        title: 'The network login banner does not name the operating system',
        impact: 0.1,
        tags: { area: 'banner' },
      },
      (t) => {
        t.onlyIf(t.file('/etc/issue.net').exists, 'no /etc/issue.net');
        t.expect(t.file('/etc/issue.net').content).not.toMatch(/debian|ubuntu|\\[mrsv]|GNU\/Linux/i);
      },
    );
    control(
      'os-01',
      { title: 'The host runs Debian 12', impact: 'none', tags: { area: 'platform' } },
      (t) => {
        t.expect(t.osRelease().id).toBe('debian');
        t.expect(t.osRelease().versionId).toBe('12');
      },
    );

    // Missing patches that version numbers do not show: Shellshock.
    control(
      'patch-01',
      {
        title: 'bash does not run code from function definitions in the environment (Shellshock)',
        impact: 'critical',
        bucket: 'patch',
        tags: { cve: ['CVE-2014-6271', 'CVE-2014-7169'] },
        refs: [{ url: 'https://security-tracker.debian.org/tracker/CVE-2014-6271', title: 'CVE-2014-6271' }],
      },
      (t) => {
        t.onlyIf(t.file('/bin/bash').exists, 'bash is not installed');
        const cve6271 = t.command(['env', 'x=() { :;}; echo vulnerable', 'bash', '-c', 'echo probe'], {
          timeoutSec: 10,
        });
        t.expect(cve6271.stdout).not.toInclude('vulnerable');
        // CVE-2014-7169: a vulnerable bash writes a file named "echo" in its working directory.
        const cve7169 = t.command(
          [
            '/bin/sh',
            '-c',
            'd=$(mktemp -d) && cd "$d" && env "X=() { (a)=>\\" bash -c "echo date" >/dev/null 2>&1; if [ -e echo ]; then echo vulnerable; fi; cd / && rm -rf "$d"',
          ],
          { timeoutSec: 10 },
        );
        t.expect(cve7169.stdout).not.toInclude('vulnerable');
      },
    );
  },
});
