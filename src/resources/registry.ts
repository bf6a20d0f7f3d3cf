/** Every resource type Bulwark knows, by the type name used in addresses. */
import { directoryProvider } from './directory.js';
import { fileProvider } from './file.js';
import type { Provider } from './types.js';

/** A provider whatever its props and state types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProvider = Provider<any, any>;

export const PROVIDERS: Readonly<Record<string, AnyProvider>> = {
  file: fileProvider,
  directory: directoryProvider,
};
