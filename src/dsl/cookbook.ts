/**
 * The cookbook language: `defineCookbook`, the `Recipe` whose methods declare resources, typed attributes with
 * overridable defaults, includes and notifications. Declaring records data only; nothing here touches a host.
 * This layer may import the resources layer (for props types and providers) and `../errors.js`.
 */
import type { ControlFn } from '../audit/profile.js';
import type { Facts } from '../resources/types.js';
import type { AptUpdateProps } from '../resources/apt-update.js';
import type { ConfigLineProps } from '../resources/config-line.js';
import type { DirectoryProps } from '../resources/directory.js';
import type { ExecuteProps } from '../resources/execute.js';
import type { FileProps } from '../resources/file.js';
import type { GroupProps } from '../resources/group.js';
import type { KeyValueProps } from '../resources/key-value.js';
import type { PackageProps } from '../resources/package.js';
import type { SecurityUpdatesProps } from '../resources/security-updates.js';
import type { ServiceProps } from '../resources/service.js';
import type { SysctlProps } from '../resources/sysctl.js';
import type { UserProps } from '../resources/user.js';

/** A guard: a command as argv (true when it exits 0) or a function of the host's facts. */
export type Guard = readonly string[] | ((facts: Facts) => boolean);

/** A reference to a declared resource, used as a notification target. `A` names its actions. */
export interface ResourceRef<A extends string = string> {
  readonly address: string;
  /** Phantom field carrying the action names for the type checker; always undefined at run time. */
  readonly actions?: A;
}

/** When a notification runs: right after the notifying resource changed, or once at the end of the run. */
export type Timing = 'delayed' | 'immediate';

/** Run `action` on another resource when this one changes. */
export interface Notification {
  /** The target: a reference returned by a recipe method, or its address such as `service[ssh]`. */
  readonly resource: ResourceRef | string;
  readonly action: string;
  /** @default 'delayed' */
  readonly timing?: Timing;
}

/** Options every resource takes. */
export interface CommonOptions {
  /** Apply only when this guard holds (a command exiting 0, or a function returning true). */
  readonly onlyIf?: Guard;
  /** Skip when this guard holds. */
  readonly notIf?: Guard;
  /** Actions to run on other resources when this one changes. */
  readonly notifies?: Notification | readonly Notification[];
  /** Redact this resource's values and diffs everywhere: output, reports and records. @default false */
  readonly sensitive?: boolean;
  /** Record a failure of this resource and go on as if it had not failed. @default false */
  readonly ignoreFailure?: boolean;
}

/** The names of the common options, which every resource accepts besides its own props. */
export const COMMON_OPTIONS: readonly string[] = [
  'onlyIf',
  'notIf',
  'notifies',
  'sensitive',
  'ignoreFailure',
];

/** One declared resource, as the engine receives it. */
export interface ResourceDecl {
  readonly type: string;
  readonly name: string;
  /** `type[name]`, the resource's key everywhere. */
  readonly address: string;
  readonly props: Readonly<Record<string, unknown>>;
  readonly options: CommonOptions;
  /** The cookbook that declared it. */
  readonly cookbook: string;
}

/** Attribute values: plain data that cookbooks read and callers override. */
export type Attributes = { readonly [key: string]: AttributeValue };
/** One attribute value. */
export type AttributeValue = string | number | boolean | null | readonly AttributeValue[] | Attributes;

/** Deep partial attributes, the shape of an override. */
export type AttributeOverrides<A> = {
  readonly [K in keyof A]?: A[K] extends Attributes ? AttributeOverrides<A[K]> : A[K];
};

/** A cookbook as `defineCookbook` returns it. */
export interface Cookbook<A extends Attributes = Attributes> {
  readonly kind: 'bulwark.cookbook';
  readonly name: string;
  readonly description: string;
  readonly attributes: A;
  readonly include: readonly AnyCookbook[];
  readonly recipe: (r: Recipe, attributes: A) => void;
  readonly controls?: (control: ControlFn, attributes: A) => void;
}

/** A cookbook whatever its attribute type; every `Cookbook<A>` is one. */
export interface AnyCookbook {
  readonly kind: 'bulwark.cookbook';
  readonly name: string;
  readonly description: string;
  readonly attributes: Attributes;
  readonly include: readonly AnyCookbook[];
  readonly recipe: (r: Recipe, attributes: never) => void;
  readonly controls?: (control: ControlFn, attributes: never) => void;
}

/** What `defineCookbook` takes. */
export interface CookbookSpec<A extends Attributes> {
  /** The cookbook's name: letters, digits, `-` and `_`; attribute overrides are keyed by it. */
  readonly name: string;
  /** One sentence on what the cookbook makes true. @default '' */
  readonly description?: string;
  /** Attribute defaults; a caller overrides them by cookbook name. @default {} */
  readonly attributes?: A;
  /** Cookbooks whose resources come first; each cookbook is included once per run. @default [] */
  readonly include?: readonly AnyCookbook[];
  /** Declares the resources, in the order they are applied. */
  readonly recipe: (r: Recipe, attributes: A) => void;
  /**
   * Audit controls the cookbook carries besides its resources (each resource already checks its own desired
   * state in audit mode): e.g. "nothing listens on port 21". @default none
   */
  readonly controls?: (control: ControlFn, attributes: A) => void;
}

/** Defines a cookbook: a named, typed desired state with attribute defaults. */
export function defineCookbook<A extends Attributes = Record<string, never>>(
  spec: CookbookSpec<A>,
): Cookbook<A> {
  return {
    kind: 'bulwark.cookbook',
    name: spec.name,
    description: spec.description ?? '',
    attributes: spec.attributes ?? ({} as A),
    include: spec.include ?? [],
    recipe: spec.recipe,
    ...(spec.controls === undefined ? {} : { controls: spec.controls }),
  };
}

/** True when `value` is a cookbook made by `defineCookbook`. */
export function isCookbook(value: unknown): value is AnyCookbook {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'bulwark.cookbook'
  );
}

/** Builds a notification with its action checked against the target's actions. */
export function notify<A extends string>(
  resource: ResourceRef<A>,
  action: A,
  timing: Timing = 'delayed',
): Notification {
  return { resource, action, timing };
}

/** The methods a recipe declares resources with. Each returns a reference usable in `notifies`. */
export interface Recipe {
  /** A regular file: content, mode, owner, group, or its absence. */
  file(path: string, props?: FileProps & CommonOptions): ResourceRef<never>;
  /** A directory. */
  directory(path: string, props?: DirectoryProps & CommonOptions): ResourceRef<never>;
  /** One or more Debian packages installed, pinned, removed, purged or upgraded, in one apt call. */
  package(
    names: string | readonly string[],
    props?: Omit<PackageProps, 'names'> & CommonOptions,
  ): ResourceRef<never>;
  /** A service running or stopped, enabled or disabled (systemd when it is PID 1, otherwise init scripts). */
  service(
    name: string,
    props: ServiceProps & CommonOptions,
  ): ResourceRef<'restart' | 'reload' | 'start' | 'stop'>;
  /** One key of a config file such as sshd_config or login.defs, keeping the rest of the file and its comments. */
  keyValue(path: string, props: Omit<KeyValueProps, 'path'> & CommonOptions): ResourceRef<never>;
  /** One exact line present in (or absent from) a file; `id` names it in the address `configLine[PATH#ID]`. */
  configLine(
    path: string,
    id: string,
    props: Omit<ConfigLineProps, 'path'> & CommonOptions,
  ): ResourceRef<never>;
  /** A kernel parameter, persisted under /etc/sysctl.d and applied live where the target allows. */
  sysctl(key: string, props: SysctlProps & CommonOptions): ResourceRef<never>;
  /** A local user account. */
  user(name: string, props?: UserProps & CommonOptions): ResourceRef<never>;
  /** A local group. */
  group(name: string, props?: GroupProps & CommonOptions): ResourceRef<never>;
  /** A command, run when it is needed (`creates`, guards) or when notified. */
  execute(label: string, props: ExecuteProps & CommonOptions): ResourceRef<'run'>;
  /** Refreshes the apt index when it is older than a given age. */
  aptUpdate(props?: AptUpdateProps & CommonOptions): ResourceRef<never>;
  /** Upgrades exactly the packages with fixable vulnerabilities (security suite, optional feed), then verifies. */
  securityUpdates(props?: SecurityUpdatesProps & CommonOptions): ResourceRef<never>;
  /** Includes another cookbook's resources here (once per run), with its attributes. */
  include(cookbook: AnyCookbook): void;
}
