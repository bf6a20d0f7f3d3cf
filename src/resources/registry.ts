/** Every resource type Bulwark knows, by the type name used in addresses. */
import { aptUpdateProvider } from './apt-update.js';
import { configLineProvider } from './config-line.js';
import { directoryProvider } from './directory.js';
import { executeProvider } from './execute.js';
import { fileProvider } from './file.js';
import { groupProvider } from './group.js';
import { keyValueProvider } from './key-value.js';
import { packageProvider } from './package.js';
import { securityUpdatesProvider } from './security-updates.js';
import { serviceProvider } from './service.js';
import { sysctlProvider } from './sysctl.js';
import type { Provider } from './types.js';
import { userProvider } from './user.js';

/** A provider whatever its props and state types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProvider = Provider<any, any>;

/** Providers by resource type name. */
export const PROVIDERS: Readonly<Record<string, AnyProvider>> = {
  file: fileProvider,
  directory: directoryProvider,
  package: packageProvider,
  service: serviceProvider,
  keyValue: keyValueProvider,
  configLine: configLineProvider,
  sysctl: sysctlProvider,
  user: userProvider,
  group: groupProvider,
  execute: executeProvider,
  aptUpdate: aptUpdateProvider,
  securityUpdates: securityUpdatesProvider,
};
