/**
 * The installed-package inventory of a host: every binary package whose files are on disk, with the source package
 * and source version it was built from. Advisories name source packages and fixed source versions, so matching
 * must use these, not binary names and versions (binNMUs append `+bN`; some binaries carry their own version or
 * epoch). The observation is one `dpkg-query` exec inside the run's single probe; parsing is pure.
 */
import { isValidDebianVersion, compareDebianVersions } from '../audit/debversion.js';
import type { AuditResource } from '../audit/types.js';
import { BulwarkError } from '../errors.js';
import type { ProbeOp, ProbeRequest, ProbeResults } from '../resources/types.js';
import { isValidPackageName } from './types.js';

/**
 * The dpkg-query format. `${source:Package}` and `${source:Version}` are dpkg's virtual fields (dpkg ≥ 1.17.11):
 * they read the `Source: name (version)` form of binNMUs and fall back to the binary's own name and version when
 * the `Source` field is absent or names no version. The status word tells installed packages from `config-files`
 * leftovers. `${Built-Using}` names the sources a binary was built from besides its own (`linux (= 6.1.112-1)`
 * on a signed kernel image). Fields are tab-separated because no field can hold a tab.
 */
export const INVENTORY_FORMAT =
  '${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Status}\\t${source:Package}\\t${source:Version}\\t${Built-Using}\\n';

/**
 * Source names of signing templates: `linux-signed-amd64`, `linux-signed-6.12-amd64`, `grub-efi-amd64-signed`,
 * `shim-signed`, `fwupd-amd64-signed`. Their binaries hold the signed build of another source, which advisories
 * name (`linux`, `grub2`, `shim`, `fwupd-efi`), at the version in their `Built-Using`, while their own source
 * version (`6.1.112+1`) follows a scheme of its own.
 */
const SIGNED_TEMPLATE = /(^|-)signed(-|$)/;

/** One `name (= version)` entry of a `Built-Using` field. */
const BUILT_USING_ENTRY = /^\s*([a-z0-9][a-z0-9+.-]+)\s*\(\s*=\s*([^()\s]+)\s*\)\s*$/;

/** The source a binary's code comes from, for matching advisories. */
export interface BuiltFrom {
  readonly source: string;
  readonly sourceVersion: string;
  /** The signing template dpkg records as the source, when the binary was re-keyed to the source it signs. */
  readonly signedTemplate?: { readonly source: string; readonly sourceVersion: string };
}

/**
 * The source whose code a binary carries (pure). For a signing template's binary whose `Built-Using` names
 * exactly one other source with a valid name and version, that source at that version, remembering the
 * template; otherwise the binary's own source. A template with several `Built-Using` entries, or with one that is
 * not valid, stays under its own name: guessing which entry holds the signed code could hide a vulnerability.
 */
export function builtFrom(source: string, sourceVersion: string, builtUsing: string): BuiltFrom {
  if (builtUsing === '' || !SIGNED_TEMPLATE.test(source)) return { source, sourceVersion };
  const entries = builtUsing.split(',');
  const m = entries.length === 1 ? BUILT_USING_ENTRY.exec(entries[0] ?? '') : null;
  const [, name = '', version = ''] = m ?? [];
  if (m === null || name === source || !isValidPackageName(name) || !isValidDebianVersion(version)) {
    return { source, sourceVersion };
  }
  return { source: name, sourceVersion: version, signedTemplate: { source, sourceVersion } };
}

/** The probe op id of the inventory. */
export const INVENTORY_OP_ID = 'vulns:inventory';

/** Options of the inventory op. */
export interface InventoryOptions {
  /**
   * dpkg's database directory, for a root mounted elsewhere (an image, a chroot seen from outside).
   * @default dpkg's own, /var/lib/dpkg
   */
  readonly admindir?: string;
}

/** The one probe op that lists every package dpkg knows, with its source package and version. */
export function inventoryOp(options: InventoryOptions = {}): ProbeOp {
  const { admindir } = options;
  if (admindir !== undefined && (!admindir.startsWith('/') || /[\0\n\r]/.test(admindir))) {
    throw new BulwarkError(
      'BULWARK_USAGE',
      `the dpkg admindir must be an absolute path without NUL or line breaks, not ${JSON.stringify(admindir)}`,
    );
  }
  const argv = ['dpkg-query', ...(admindir === undefined ? [] : [`--admindir=${admindir}`]), '-W', '-f'];
  return { kind: 'exec', argv: [...argv, INVENTORY_FORMAT], timeoutSec: 120 };
}

/** The probe request of the inventory, to merge into a run's batched probe. */
export function inventoryProbe(options: InventoryOptions = {}): ProbeRequest {
  return { [INVENTORY_OP_ID]: inventoryOp(options) };
}

/**
 * dpkg status words for which the package's files are on disk, so its code can be vulnerable: configured ones
 * (`installed`, with triggers pending or awaited) and ones caught mid-installation (`unpacked`,
 * `half-configured`, `half-installed`). `config-files` and `not-installed` leave no code behind.
 */
const ON_DISK = new Set([
  'installed',
  'triggers-awaited',
  'triggers-pending',
  'half-configured',
  'unpacked',
  'half-installed',
]);

/** One installed binary package. */
export interface InstalledPackage {
  /** The binary package name, e.g. `libc6`. */
  readonly name: string;
  /** The binary version, e.g. `1:2.38.1-5+deb12u3` or `5.2.15-2+b8` (a binNMU). */
  readonly version: string;
  /** e.g. `amd64`, `all`. */
  readonly arch: string;
  /** dpkg's status word; `installed` unless an installation was interrupted. */
  readonly status: string;
  /** The source package it was built from, e.g. `glibc`; the binary name when dpkg records no `Source`. */
  readonly source: string;
  /** The source version, e.g. `5.2.15-2` for binary `5.2.15-2+b8`; this is what fixed versions refer to. */
  readonly sourceVersion: string;
  /**
   * For a signed binary (`linux-image-6.1.0-26-amd64` from `linux-signed-amd64 6.1.112+1`), the signing template
   * dpkg records as its source; `source` and `sourceVersion` then name the source it signs, from `Built-Using`
   * (`linux 6.1.112-1`), which is what advisories name. See `builtFrom`.
   */
  readonly signedTemplate?: { readonly source: string; readonly sourceVersion: string };
}

/** The installed binaries of one source package. */
export interface InstalledSource {
  /** The source package name. */
  readonly name: string;
  /**
   * The lowest source version among its installed binaries. Binaries of one source normally share a version,
   * but a partial upgrade can leave older ones behind, and the oldest decides whether the host is vulnerable.
   */
  readonly version: string;
  /** Its installed binaries, sorted by name then architecture. */
  readonly binaries: readonly InstalledPackage[];
}

/** A line of dpkg-query output that was not taken into the inventory. */
export interface RefusedLine {
  /** The raw line (JSON-quote it when showing it). */
  readonly line: string;
  readonly reason: string;
}

/** Every installed package of a host, also grouped by source package. */
export interface Inventory {
  /** Installed binaries, in dpkg-query's order. */
  readonly packages: readonly InstalledPackage[];
  /** Installed binaries grouped by source package name. */
  readonly bySource: ReadonlyMap<string, InstalledSource>;
  /** Lines refused because a field was missing or not a valid package name or version. */
  readonly refused: readonly RefusedLine[];
}

/** Checks one dpkg-query line; returns the package, or why it was refused, or null when it is not installed. */
function parseLine(line: string): InstalledPackage | string | null {
  const fields = line.split('\t');
  // Six fields is the format before Built-Using was read; such output (saved inventories) still parses.
  if (fields.length !== 7 && fields.length !== 6)
    return `expected 7 tab-separated fields, found ${fields.length}`;
  // Indexed rather than destructured: this runs once per installed package, in unoptimised code.
  const name = fields[0] as string;
  const version = fields[1] as string;
  const arch = fields[2] as string;
  const status = fields[3] as string;
  const source = fields[4] as string;
  const sourceVersion = fields[5] as string;
  const builtUsing = fields[6] ?? '';
  if (!ON_DISK.has(status)) return null;
  if (!isValidPackageName(name)) return `package name ${JSON.stringify(name)} is not a valid Debian name`;
  if (!isValidDebianVersion(version))
    return `version ${JSON.stringify(version)} is not a valid Debian version`;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(arch)) return `architecture ${JSON.stringify(arch)} is not valid`;
  // dpkg falls back to the binary's name and version itself; the same fallback here covers older dpkg versions
  // that print the fields empty.
  const src = source === '' ? name : source;
  const srcVersion = sourceVersion === '' ? version : sourceVersion;
  if (!isValidPackageName(src)) return `source name ${JSON.stringify(src)} is not a valid Debian name`;
  if (!isValidDebianVersion(srcVersion)) {
    return `source version ${JSON.stringify(srcVersion)} is not a valid Debian version`;
  }
  return { name, version, arch, status, ...builtFrom(src, srcVersion, builtUsing) };
}

/** Groups installed binaries by source package. */
export function groupBySource(packages: readonly InstalledPackage[]): Map<string, InstalledSource> {
  const groups = new Map<string, InstalledPackage[]>();
  for (const p of packages) {
    const list = groups.get(p.source);
    if (list === undefined) groups.set(p.source, [p]);
    else list.push(p);
  }
  const out = new Map<string, InstalledSource>();
  for (const [name, binaries] of groups) {
    let version = binaries[0]?.sourceVersion ?? '';
    for (const b of binaries)
      if (compareDebianVersions(b.sourceVersion, version) < 0) version = b.sourceVersion;
    const sorted = [...binaries].sort((a, b) =>
      a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0,
    );
    out.set(name, { name, version, binaries: sorted });
  }
  return out;
}

/** Parses the output of `dpkg-query -W -f INVENTORY_FORMAT` (pure); packages not on disk are left out. */
export function parseInventory(text: string): Inventory {
  const packages: InstalledPackage[] = [];
  const refused: RefusedLine[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const parsed = parseLine(line);
    if (parsed === null) continue;
    if (typeof parsed === 'string') refused.push({ line, reason: parsed });
    else packages.push(parsed);
  }
  return { packages, bySource: groupBySource(packages), refused };
}

/** Reads the inventory from the probe results of `inventoryProbe()`. */
export function readInventory(results: ProbeResults): Inventory {
  const r = results[INVENTORY_OP_ID];
  if (r === undefined) {
    throw new BulwarkError(
      'BULWARK_PROBE_FAILED',
      `observing installed packages failed: the probe returned no result for ${INVENTORY_OP_ID}`,
    );
  }
  if (r.exitCode === 127) {
    throw new BulwarkError(
      'BULWARK_USAGE',
      'cannot list installed packages: the target has no dpkg-query (vulnerability checks need a Debian system)',
    );
  }
  if (r.exitCode !== 0) {
    const how = r.exitCode === 124 ? 'timed out' : `exited ${r.exitCode}`;
    const err = r.stderr.toString('utf8').trim().slice(0, 2000);
    throw new BulwarkError(
      'BULWARK_PROBE_FAILED',
      `listing installed packages failed: dpkg-query ${how}${err === '' ? '' : `: ${err}`}`,
    );
  }
  return parseInventory(r.stdout.toString('utf8'));
}

/** The inventory as an audit observer, so the audit engine observes it in the run's one probe. */
export const inventoryResource: AuditResource<Inventory> = {
  type: 'inventory',
  key: INVENTORY_OP_ID,
  label: 'installed packages',
  probe: () => inventoryProbe(),
  read: (results) => readInventory(results),
};
