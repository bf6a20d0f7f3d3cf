/**
 * The entry point of the bundled CLI (dist/bulwark.js): the whole public API plus `main`, in one file that loads
 * fast. Cookbooks run by this CLI import `bulwark` from this very bundle.
 */
import { fileURLToPath } from 'node:url';
import { setRuntimeEntry } from '../engine/load.js';

export * from '../index.js';
export { main } from './main.js';

setRuntimeEntry(fileURLToPath(import.meta.url));
