/**
 * `package(name)` and `packages(regex)`: Debian packages as dpkg knows them. One shared `dpkg` observation lists
 * every package in dpkg's database with one dpkg-query, however many package checks a run has.
 */
import type { ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { execText, misuse, regExp, resultOf } from './common.js';

/** One package of dpkg's database. */
export interface PackageEntry {
  readonly name: string;
  /** The installed (or last known) version; undefined when dpkg knows none. */
  readonly version: string | undefined;
  /** e.g. `amd64`, `all`. */
  readonly arch: string;
  /** dpkg's status word: `installed`, `config-files`, `half-installed`, `unpacked`, `not-installed`... */
  readonly status: string;
}

/** Every package dpkg knows. */
export interface DpkgObservation {
  readonly packages: readonly PackageEntry[];
}

// Status words for which the package's files are on the system and configured.
const INSTALLED = new Set(['installed', 'triggers-awaited', 'triggers-pending']);

/** True when a status word means the package is installed (configured, maybe with triggers pending). */
export function isInstalledStatus(status: string): boolean {
  return INSTALLED.has(status);
}

const FORMAT = '${Package}\\t${Architecture}\\t${db:Status-Status}\\t${Version}\\n';

/** Parses `dpkg-query -W -f '${Package}\t${Architecture}\t${db:Status-Status}\t${Version}\n'` output. */
export function parseDpkgList(text: string): PackageEntry[] {
  const out: PackageEntry[] = [];
  for (const line of text.split('\n')) {
    const [name = '', arch = '', status = '', version = ''] = line.split('\t');
    if (name === '') continue;
    out.push({ name, arch, status, version: version === '' ? undefined : version });
  }
  return out;
}

/** The shared observer of dpkg's database. */
export const dpkgResource: AuditResource<DpkgObservation> = {
  type: 'packages',
  key: 'dpkg',
  label: 'packages',
  probe() {
    return { list: { kind: 'exec', argv: ['dpkg-query', '-W', '-f', FORMAT], timeoutSec: 60 } };
  },
  read(results: ProbeResults) {
    if (resultOf(results, 'list', 'packages').exitCode === 127) {
      misuse('cannot observe packages: the target has no dpkg-query (package checks need a Debian system)');
    }
    return { packages: parseDpkgList(execText(results, 'list', 'packages (dpkg-query -W)')) };
  },
};

/** What a control can check about one package. */
export interface PackageView {
  /** True when the package is installed (status `installed`, or installed with triggers pending). */
  readonly installed: Subject<boolean>;
  /** The version dpkg records; undefined when it knows the package by name only or not at all. */
  readonly version: Subject<string | undefined>;
  /** dpkg's status word; undefined when dpkg does not know the package. */
  readonly status: Subject<string | undefined>;
  /** The package's architecture; undefined when dpkg does not know the package. */
  readonly arch: Subject<string | undefined>;
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$/;

/** Observes one package, `name` or `name:arch`. */
export function package_(name: string): PackageView {
  if (typeof name !== 'string' || !PACKAGE_NAME.test(name)) {
    misuse(
      `package() needs a Debian package name such as "openssh-server" or "libc6:amd64", not ${JSON.stringify(name)}`,
    );
  }
  const [base, arch] = name.split(':');
  const resource: AuditResource<DpkgObservation> = { ...dpkgResource, label: `package ${name}` };
  // A name may be listed once per architecture; an installed one is the one that counts.
  const entry = (o: DpkgObservation): PackageEntry | undefined => {
    const all = o.packages.filter((p) => p.name === base && (arch === undefined || p.arch === arch));
    return all.find((p) => isInstalledStatus(p.status)) ?? all[0];
  };
  return {
    installed: subject(resource, 'installed', (o) => {
      const e = entry(o);
      return e !== undefined && isInstalledStatus(e.status);
    }),
    version: subject(resource, 'version', (o) => entry(o)?.version),
    status: subject(resource, 'status', (o) => entry(o)?.status),
    arch: subject(resource, 'arch', (o) => entry(o)?.arch),
  };
}

/** What a control can check about the packages whose names match a pattern. */
export interface PackagesView {
  /** Names of the matching packages that are installed, sorted. */
  readonly names: Subject<string[]>;
  /** Every matching package dpkg knows, installed or not (e.g. `config-files` leftovers), by name. */
  readonly entries: Subject<PackageEntry[]>;
}

/** Observes the packages whose names match `regexSource` (unanchored, like `grep`); every package without one. */
export function packages(regexSource?: string): PackagesView {
  const re = regexSource === undefined ? undefined : regExp(regexSource, 'packages()');
  const resource: AuditResource<DpkgObservation> = {
    ...dpkgResource,
    label: re === undefined ? 'packages' : `packages ${String(re)}`,
  };
  const matching = (o: DpkgObservation): PackageEntry[] =>
    o.packages
      .filter((p) => re === undefined || re.test(p.name))
      .slice()
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : 1));
  return {
    names: subject(resource, 'names', (o) => [
      ...new Set(
        matching(o)
          .filter((p) => isInstalledStatus(p.status))
          .map((p) => p.name),
      ),
    ]),
    entries: subject(resource, 'entries', matching),
  };
}
