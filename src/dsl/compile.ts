/**
 * Turns a cookbook into the ordered list of resources a run applies: resolves includes (each cookbook once),
 * merges attribute overrides into defaults, runs the recipes, and validates everything, collecting every problem.
 */
import { BulwarkError, throwProblems, type ErrorCode, type Problem } from '../errors.js';
import { packageKeys } from '../resources/package.js';
import { PROVIDERS } from '../resources/registry.js';
import { serviceKey } from '../resources/service.js';
import type { ControlFn } from '../audit/profile.js';
import {
  COMMON_OPTIONS,
  isCookbook,
  type AnyCookbook,
  type Attributes,
  type CommonOptions,
  type Notification,
  type Recipe,
  type ResourceDecl,
  type ResourceRef,
} from './cookbook.js';

/** A cookbook ready to run. */
export interface CompiledCookbook {
  /** The top cookbook's name. */
  readonly name: string;
  /** Every cookbook in the run, in inclusion order. */
  readonly cookbooks: readonly string[];
  /** Resources in the order they are applied. */
  readonly resources: readonly ResourceDecl[];
  /** Warnings about resources that are legal but likely mistakes. */
  readonly warnings: readonly string[];
  /** The audit controls the cookbooks carry, bound to their merged attributes. */
  readonly controlSets: readonly {
    readonly cookbook: string;
    readonly controls: (control: ControlFn) => void;
  }[];
}

/** Options for compiling. */
export interface CompileOptions {
  /** Attribute overrides keyed by cookbook name, e.g. `{ 'ssh-hardening': { port: 2222 } }`. @default {} */
  readonly attributes?: Readonly<Record<string, unknown>>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Deep-merges overrides into defaults; an override key the defaults lack, or of another type, is a problem. */
export function mergeAttributes(
  defaults: Attributes,
  overrides: unknown,
  at: string,
  found: Problem[],
  path = '',
): Attributes {
  if (overrides === undefined) return defaults;
  if (!isPlainObject(overrides)) {
    found.push({
      code: 'BULWARK_ATTRIBUTE_UNKNOWN',
      at,
      property: path || '(root)',
      message: 'overrides must be an object',
    });
    return defaults;
  }
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    const here = path === '' ? key : `${path}.${key}`;
    if (!Object.hasOwn(defaults, key)) {
      const known = Object.keys(defaults).join(', ') || 'none';
      found.push({
        code: 'BULWARK_ATTRIBUTE_UNKNOWN',
        at,
        property: here,
        message: `no such attribute (known: ${known})`,
      });
      continue;
    }
    const base = defaults[key];
    if (isPlainObject(base)) {
      out[key] = mergeAttributes(base as Attributes, value, at, found, here);
    } else if (base !== null && kindOf(base) !== kindOf(value)) {
      found.push({
        code: 'BULWARK_ATTRIBUTE_UNKNOWN',
        at,
        property: here,
        message: `expected ${kindOf(base)} like the default, got ${kindOf(value)}`,
      });
    } else {
      out[key] = value;
    }
  }
  return out as Attributes;
}

function splitOptions(input: Readonly<Record<string, unknown>>): {
  props: Record<string, unknown>;
  options: CommonOptions;
} {
  const props: Record<string, unknown> = {};
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (COMMON_OPTIONS.includes(k)) options[k] = v;
    else props[k] = v;
  }
  return { props, options: options as CommonOptions };
}

function notificationsOf(options: CommonOptions): readonly Notification[] {
  const n = options.notifies;
  if (n === undefined) return [];
  return Array.isArray(n) ? (n as readonly Notification[]) : [n as Notification];
}

/** The address a notification points at. */
export function targetAddress(n: Notification): string {
  return typeof n.resource === 'string' ? n.resource : n.resource.address;
}

function checkGuard(guard: unknown, at: string, property: string, found: Problem[]): void {
  if (guard === undefined || typeof guard === 'function') return;
  if (!Array.isArray(guard) || guard.length === 0 || !guard.every((w) => typeof w === 'string')) {
    found.push({
      code: 'BULWARK_RESOURCE_INVALID',
      at,
      property,
      message:
        "a guard is a command as argv, e.g. ['test', '-e', '/etc/foo'], or a function of the host's facts",
    });
  }
}

/** Compiles a cookbook into validated resources, or throws one error listing every problem. */
export function compileCookbook(cookbook: AnyCookbook, options: CompileOptions = {}): CompiledCookbook {
  if (!isCookbook(cookbook)) {
    throw new BulwarkError(
      'BULWARK_COOKBOOK_INVALID',
      'not a cookbook: define it with defineCookbook({...})',
    );
  }
  const found: Problem[] = [];
  const resources: ResourceDecl[] = [];
  const controlSets: { cookbook: string; controls: (control: ControlFn) => void }[] = [];
  const order: string[] = [];
  const seen = new Map<string, AnyCookbook>();
  const overrides = options.attributes ?? {};

  const run = (cb: AnyCookbook): void => {
    if (!isCookbook(cb)) {
      found.push({
        code: 'BULWARK_COOKBOOK_INVALID',
        at: 'include',
        message: 'an included value is not a cookbook',
      });
      return;
    }
    const prior = seen.get(cb.name);
    if (prior !== undefined) {
      if (prior !== cb) {
        found.push({
          code: 'BULWARK_COOKBOOK_INVALID',
          at: `cookbook[${cb.name}]`,
          message: 'two different cookbooks share this name',
        });
      }
      return;
    }
    seen.set(cb.name, cb);
    order.push(cb.name);
    const at = `cookbook[${cb.name}]`;
    if (!NAME.test(cb.name)) {
      found.push({
        code: 'BULWARK_COOKBOOK_INVALID',
        at,
        property: 'name',
        message: 'use letters, digits, - and _',
      });
    }
    for (const inc of cb.include) run(inc);
    const attributes = mergeAttributes(cb.attributes, overrides[cb.name], at, found);
    const declare = (type: string, name: string, given: object = {}): ResourceRef<never> => {
      const input = given as Readonly<Record<string, unknown>>;
      const { props, options: common } = splitOptions(input);
      const address = `${type}[${name}]`;
      resources.push({ type, name, address, props, options: common, cookbook: cb.name });
      return { address };
    };
    const recipe: Recipe = {
      file: (path, props) => declare('file', path, props),
      directory: (path, props) => declare('directory', path, props),
      package: (names, props = {}) => {
        const list = typeof names === 'string' ? [names] : [...names];
        return declare('package', list.join(','), { ...props, names: list });
      },
      service: (name, props) => declare('service', name, props),
      keyValue: (path, props) => declare('keyValue', `${path}:${String(props.key)}`, { ...props, path }),
      configLine: (path, id, props) => declare('configLine', `${path}#${id}`, { ...props, path }),
      sysctl: (key, props) => declare('sysctl', key, props),
      user: (name, props) => declare('user', name, props),
      group: (name, props) => declare('group', name, props),
      execute: (label, props) => declare('execute', label, props),
      aptUpdate: (props) => declare('aptUpdate', 'apt', props),
      securityUpdates: (props) => declare('securityUpdates', 'security', props),
      include: (other) => run(other),
    };
    const controls = cb.controls as ((c: ControlFn, a: Attributes) => void) | undefined;
    if (controls !== undefined)
      controlSets.push({ cookbook: cb.name, controls: (c) => controls(c, attributes) });
    try {
      (cb.recipe as (r: Recipe, a: Attributes) => void)(recipe, attributes);
    } catch (e) {
      found.push({
        code: 'BULWARK_COOKBOOK_INVALID',
        at,
        property: 'recipe',
        message: `the recipe threw: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  };
  run(cookbook);

  for (const name of Object.keys(overrides)) {
    if (!seen.has(name)) {
      found.push({
        code: 'BULWARK_ATTRIBUTE_UNKNOWN',
        at: `cookbook[${name}]`,
        message: `attributes were given for a cookbook that is not in this run (in it: ${order.join(', ')})`,
      });
    }
  }

  const warnings: string[] = [];
  const addresses = new Map<string, ResourceDecl>();
  // Different addresses can name the same thing on the host: service[ssh] and service[ssh.service], or one package
  // in two package resources. Two resources fighting over one thing never converge, so that is an error too.
  const identities = new Map<string, ResourceDecl>();
  const identityOf: Readonly<Record<string, (d: ResourceDecl) => readonly string[]>> = {
    service: (d) => [serviceKey(d.name)],
    package: (d) => (Array.isArray(d.props['names']) ? packageKeys(d.props['names'] as string[]) : []),
  };
  for (const decl of resources) {
    const provider = PROVIDERS[decl.type];
    if (provider === undefined) {
      found.push({
        code: 'BULWARK_RESOURCE_INVALID',
        at: decl.address,
        message: `unknown resource type ${decl.type}`,
      });
      continue;
    }
    const prior = addresses.get(decl.address);
    if (prior !== undefined) {
      found.push({
        code: 'BULWARK_RESOURCE_DUPLICATE',
        at: decl.address,
        message: `declared twice (cookbooks ${prior.cookbook} and ${decl.cookbook}); every address must be unique`,
      });
      continue;
    }
    addresses.set(decl.address, decl);
    for (const key of identityOf[decl.type]?.(decl) ?? []) {
      const other = identities.get(`${decl.type}:${key}`);
      if (other !== undefined) {
        found.push({
          code: 'BULWARK_RESOURCE_DUPLICATE',
          at: decl.address,
          message: `${decl.type} ${key} is also managed by ${other.address}; manage it in one resource`,
        });
      }
      identities.set(`${decl.type}:${key}`, decl);
    }
    for (const key of Object.keys(decl.props)) {
      if (!provider.knownProps.includes(key)) {
        found.push({
          code: 'BULWARK_RESOURCE_INVALID',
          at: decl.address,
          property: key,
          message: `unknown property (known: ${[...provider.knownProps, ...COMMON_OPTIONS].join(', ')})`,
        });
      }
    }
    try {
      found.push(...provider.validate(decl.name, decl.props));
    } catch (e) {
      found.push({ code: 'BULWARK_RESOURCE_INVALID', at: decl.address, message: `invalid: ${String(e)}` });
    }
    checkGuard(decl.options.onlyIf, decl.address, 'onlyIf', found);
    checkGuard(decl.options.notIf, decl.address, 'notIf', found);
    const warning = provider.lint?.(
      decl.name,
      decl.props,
      decl.options.onlyIf !== undefined || decl.options.notIf !== undefined,
    );
    if (warning !== undefined) warnings.push(warning);
  }
  for (const decl of resources) {
    for (const n of notificationsOf(decl.options)) {
      const target = addresses.get(targetAddress(n));
      if (target === undefined) {
        found.push({
          code: 'BULWARK_NOTIFY_UNKNOWN_TARGET',
          at: decl.address,
          property: 'notifies',
          message: `notifies ${targetAddress(n)}, which is not declared in this run`,
        });
        continue;
      }
      const actions = Object.keys(PROVIDERS[target.type]?.actions ?? {});
      if (!actions.includes(n.action)) {
        found.push({
          code: 'BULWARK_NOTIFY_UNKNOWN_TARGET',
          at: decl.address,
          property: 'notifies',
          message: `${target.address} has no action ${JSON.stringify(n.action)} (it has: ${actions.join(', ') || 'none'})`,
        });
      }
      if (n.timing !== undefined && n.timing !== 'delayed' && n.timing !== 'immediate') {
        found.push({
          code: 'BULWARK_RESOURCE_INVALID',
          at: decl.address,
          property: 'notifies',
          message: "timing is 'delayed' or 'immediate'",
        });
      }
    }
  }
  const codes = new Set(found.map((p) => p.code));
  const code: ErrorCode =
    codes.size === 1 ? ([...codes][0] ?? 'BULWARK_COOKBOOK_INVALID') : 'BULWARK_COOKBOOK_INVALID';
  throwProblems(code, `cookbook ${cookbook.name} is invalid`, found);
  return { name: cookbook.name, cookbooks: order, resources, warnings, controlSets };
}

/** The notifications a resource declares, normalised. */
export { notificationsOf };
