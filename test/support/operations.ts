import { randomUUID } from 'node:crypto';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
} from 'graphql';
import { forwardFlow } from './api';

/*
 * Calls to any root field of the schema, built from the schema itself (so a new operation is
 * covered by the tests that enumerate them): arguments that pass validation, and the paths of
 * their string leaves for tests that replace one leaf with hostile input.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type LeafPath = readonly (string | number)[];

export interface Fixtures {
  readonly ids: Readonly<Record<string, string>>;
}

/** Values that pass validation, per field name; the rest are derived from the field's type. */
export class Samples {
  private serial = 0;
  readonly passwords: string[] = [];

  constructor(private readonly fixtures: Fixtures) {}

  next(): number {
    return ++this.serial;
  }

  known(field: string, serial: number): Json | undefined {
    const digits = String(1000 + serial).slice(-4);
    switch (field) {
      case 'name':
        return `Hostile ${serial}`;
      case 'timeZone':
        return 'Europe/Berlin';
      case 'companyId':
        return this.fixtures.ids.Company;
      case 'sipUsername':
        return `hostile-${serial}`;
      case 'sipPassword': {
        const password = `Real-Passw0rd-${serial}-${randomUUID()}`;
        this.passwords.push(password);
        return password;
      }
      case 'inboundNumbers':
        return [`+44207946${digits}`];
      case 'did':
        return `+44207946${digits}`;
      case 'externalNumber':
        return `+44161496${digits}`;
      case 'internalNumber':
        return `7${digits}`;
      case 'sourceCidrs':
        return ['198.51.100.0/24'];
      case 'cidrs':
        return ['198.51.100.0/24'];
      case 'uri':
        return 'sip:gw.example.net';
      case 'flow': {
        // A webhook secret is a secret like a password: searched for in every log.
        const secret = `webhook-secret-${serial}-${randomUUID()}`;
        this.passwords.push(secret);
        return webhookThenForwardFlow(secret);
      }
      case 'maxConcurrentCalls':
        return 2;
      case 'seconds':
        return 3600;
      default:
        return undefined;
    }
  }

  /** A value for `type`: the known one for the field name, else one built from the type. */
  value(field: string, type: GraphQLInputType, serial: number, idOf: string | undefined): Json | undefined {
    const known = this.known(field, serial);
    if (known !== undefined) return known;
    if (!isNonNullType(type)) return undefined;
    const inner = type.ofType;
    if (isListType(inner)) {
      const item = this.value(field, inner.ofType as GraphQLInputType, serial, idOf);
      return item === undefined ? [] : [item];
    }
    if (isInputObjectType(inner)) {
      const object: Record<string, Json> = {};
      for (const child of Object.values(inner.getFields())) {
        const value = this.value(child.name, child.type, serial, undefined);
        if (value !== undefined) object[child.name] = value;
      }
      return object;
    }
    if (isEnumType(inner)) return inner.getValues()[0].value as string;
    switch (inner.name) {
      case 'ID':
        return idOf ?? randomUUID();
      case 'Int':
        return 1;
      case 'Float':
        return 1;
      case 'Boolean':
        return false;
      default:
        return 'x';
    }
  }
}

/**
 * The kind of object an operation's `id` argument names: updateTrunk and trunk -> Trunk,
 * revokeApiKey -> ApiKey. Deletes get unknown ids, so the fixtures survive.
 */
function targetOf(operation: string): string | undefined {
  if (operation === 'revokeApiKey') return 'ApiKey';
  if (operation.startsWith('delete')) return undefined;
  return /^update(\w+)$/.exec(operation)?.[1] ?? operation.charAt(0).toUpperCase() + operation.slice(1);
}

/** A WEBHOOK step with a secret whose `failure` exit leads to forwardFlow's steps. */
function webhookThenForwardFlow(secret: string): Json {
  const forward = forwardFlow() as { entryStepId: string; steps: Json[] };
  return {
    entryStepId: 'ask',
    steps: [
      { id: 'ask', app: 'WEBHOOK', webhook: { url: 'https://hooks.example.com/route', secret, exits: ['direct'] }, exits: [{ on: 'failure', stepId: forward.entryStepId }] },
      ...forward.steps,
    ],
  };
}

export function argumentsFor(samples: Samples, fixtures: Fixtures, field: GraphQLField<unknown, unknown>): Record<string, Json> {
  const serial = samples.next();
  const args: Record<string, Json> = {};
  for (const arg of field.args as readonly GraphQLArgument[]) {
    const target = arg.name === 'id' ? targetOf(field.name) : undefined;
    const value = samples.value(arg.name, arg.type, serial, target === undefined ? undefined : fixtures.ids[target]);
    if (value !== undefined) args[arg.name] = value;
  }
  return args;
}

export function stringLeaves(value: Json, path: LeafPath = []): LeafPath[] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringLeaves(item, [...path, index]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => stringLeaves(item, [...path, key]));
  return [];
}

export function withLeaf(value: Json, path: LeafPath, leaf: string): Json {
  const copy = structuredClone(value) as Record<string | number, Json>;
  let at = copy;
  path.slice(0, -1).forEach((key) => (at = at[key] as Record<string | number, Json>));
  at[path[path.length - 1]] = leaf;
  return copy as Json;
}

/** The text of an operation calling one root field with every argument as a variable. */
export function operationText(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): string {
  const variables = field.args.map((arg) => `$${arg.name}: ${arg.type.toString()}`).join(', ');
  const args = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const selection = isObjectType(getNamedType(field.type)) ? '{ __typename }' : '';
  return `${kind}${variables === '' ? '' : ` (${variables})`} { ${field.name}${args === '' ? '' : `(${args})`} ${selection} }`;
}

