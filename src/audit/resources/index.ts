/**
 * Every audit resource a control can use, as the functions the control context exposes: `t.port(21)`,
 * `t.file('/etc/shadow')`... Each returns a view whose fields are subjects.
 */
import { group, groups, user, users } from './accounts.js';
import { command } from './command.js';
import { directory, file } from './file.js';
import { kernelModule, kernelParameter } from './kernel.js';
import { loginDefs } from './login-defs.js';
import { mount } from './mount.js';
import { osRelease } from './os-release.js';
import { package_, packages } from './package.js';
import { port } from './port.js';
import { processes } from './processes.js';
import { service } from './service.js';
import { sshConfig, sshdConfig } from './ssh.js';

/** The resource functions, by the name controls call them with. */
export const auditResources = {
  port,
  package: package_,
  packages,
  service,
  file,
  directory,
  command,
  sshdConfig,
  sshConfig,
  kernelParameter,
  kernelModule,
  loginDefs,
  user,
  users,
  group,
  groups,
  processes,
  mount,
  osRelease,
};

/** The resource functions controls see on their context. */
export type AuditResources = typeof auditResources;
