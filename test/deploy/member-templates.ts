/**
 * The member-account templates (infra/member-account/*.yml), which users deploy themselves with
 * CloudFormation in the accounts and regions of their work pools, read as CloudFormation reads them
 * (osls's own YAML schema for the short `!Sub`, `!Ref`… forms), and resolved offline for given
 * parameters: conditions decided, `Fn::If` taken, `Ref`, `Fn::Sub`, `Fn::Join`, `Fn::Split`,
 * `Fn::Select`, `Fn::GetAtt …Arn` replaced by values, so that a policy simulator can read their IAM.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { CfnTemplate } from './cfn-template.ts';
import { SERVICE_DIR } from './osls-package.ts';

/** Forwards the ECS task state changes of one account and region to the central bus. */
export const FORWARD_TASK_EVENTS = 'infra/member-account/forward-task-events.yml';
/** The role the central functions assume in one account. */
export const FUNCTIONS_ROLE = 'infra/member-account/functions-role.yml';
export const MEMBER_TEMPLATES = [FORWARD_TASK_EVENTS, FUNCTIONS_ROLE] as const;

/** osls's YAML reader (lib/utils/fs/parse.js): js-yaml with the CloudFormation tags. */
const parseYaml = createRequire(import.meta.url)('osls/lib/utils/fs/parse.js') as (
  path: string,
  contents: string
) => unknown;

/** The path of a member template on disk. */
export const memberTemplatePath = (file: string): string => join(SERVICE_DIR, file);

/** A member template as CloudFormation reads it. */
export const loadMemberTemplate = (file: string): CfnTemplate =>
  parseYaml(file, readFileSync(memberTemplatePath(file), 'utf8')) as CfnTemplate;

/** Where a member stack is deployed. */
export interface MemberTarget {
  accountId: string;
  region: string;
  partition: string;
  stackName?: string;
}

const NO_VALUE = Symbol('AWS::NoValue');

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const onlyKey = (value: Record<string, unknown>): string | undefined => {
  const keys = Object.keys(value);
  return keys.length === 1 ? keys[0] : undefined;
};

/** The value of each parameter: the given one, else the default; throws for a missing one. */
const parameterValues = (
  template: CfnTemplate,
  given: Readonly<Record<string, string>>
): Record<string, string | string[]> => {
  const declared = (template.Parameters ?? {}) as Record<
    string,
    { Type: string; Default?: string }
  >;
  for (const name of Object.keys(given)) {
    if (!(name in declared)) throw new Error(`The template has no parameter ${name}`);
  }
  return Object.fromEntries(
    Object.entries(declared).map(([name, parameter]) => {
      const value = given[name] ?? parameter.Default;
      if (value === undefined) throw new Error(`Parameter ${name} has no value and no default`);
      return [name, parameter.Type === 'CommaDelimitedList' ? value.split(',') : value];
    })
  );
};

/** `Ref`/`Fn::GetAtt …Arn` of a member template's own resources (the physical names we assume). */
const physical = (
  template: CfnTemplate,
  id: string,
  values: Record<string, string | string[]>,
  target: MemberTarget
): { ref: string; arn: string } => {
  const resource = template.Resources[id];
  const { accountId, region, partition } = target;
  switch (resource?.Type) {
    case 'AWS::IAM::Role': {
      const name = String(
        resource.Properties?.RoleName !== undefined ? values.RoleName : `member-${id}`
      );
      return { ref: name, arn: `arn:${partition}:iam::${accountId}:role/${name}` };
    }
    case 'AWS::SQS::Queue':
      return {
        ref: `https://sqs.${region}.amazonaws.com/${accountId}/${id}`,
        arn: `arn:${partition}:sqs:${region}:${accountId}:${id}`,
      };
    case 'AWS::Events::Rule': {
      const arn = `arn:${partition}:events:${region}:${accountId}:rule/${id}`;
      return { ref: id, arn };
    }
    default:
      throw new Error(`No physical name for ${id} (${resource?.Type})`);
  }
};

/**
 * `template` as it would be deployed with `parameters` in `target`: every resource and output
 * with intrinsics resolved. Throws on an intrinsic it does not know.
 *
 * @example
 * const role = resolveMemberTemplate(loadMemberTemplate(FUNCTIONS_ROLE), { TrustedRoleArns: '…', PassRoleArns: '…' }, target)
 *   .Resources.FunctionsRole;
 */
export const resolveMemberTemplate = (
  template: CfnTemplate,
  parameters: Readonly<Record<string, string>>,
  target: MemberTarget
): CfnTemplate => {
  const values = parameterValues(template, parameters);
  const pseudo: Record<string, string> = {
    'AWS::AccountId': target.accountId,
    'AWS::Region': target.region,
    'AWS::Partition': target.partition,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': target.stackName ?? 'member-stack',
  };
  const ref = (name: string): string | string[] =>
    pseudo[name] ?? values[name] ?? physical(template, name, values, target).ref;
  const conditions = new Map<string, boolean>();
  const condition = (name: string): boolean => {
    const known = conditions.get(name);
    if (known !== undefined) return known;
    const definition = template.Conditions?.[name];
    if (definition === undefined) throw new Error(`Unknown condition ${name}`);
    const value = Boolean(resolve(definition));
    conditions.set(name, value);
    return value;
  };
  const sub = (text: string, variables: Record<string, unknown>): string =>
    text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(resolve(variables[name]));
      const [id, attribute] = name.split('.');
      if (attribute === 'Arn' && id !== undefined)
        return physical(template, id, values, target).arn;
      const value = ref(name);
      if (Array.isArray(value)) throw new Error(`\${${name}} is a list`);
      return value;
    });
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      return value.map(resolve).filter((item) => item !== NO_VALUE);
    }
    if (!isObject(value)) return value;
    const key = onlyKey(value);
    const argument = key === undefined ? undefined : value[key];
    switch (key) {
      case 'Ref':
        return argument === 'AWS::NoValue' ? NO_VALUE : ref(String(argument));
      case 'Fn::GetAtt': {
        const [id, attribute] = argument as [string, string];
        if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${id}.${attribute} is not resolved`);
        return physical(template, id, values, target).arn;
      }
      case 'Fn::Sub':
        return typeof argument === 'string'
          ? sub(argument, {})
          : sub(...(argument as [string, Record<string, unknown>]));
      case 'Fn::Join': {
        const [separator, parts] = argument as [string, unknown];
        return (resolve(parts) as unknown[]).flat().join(separator);
      }
      case 'Fn::Split': {
        const [separator, text] = argument as [string, unknown];
        return String(resolve(text)).split(separator);
      }
      case 'Fn::Select': {
        const [index, list] = argument as [number, unknown];
        return (resolve(list) as unknown[])[Number(index)];
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = argument as [string, unknown, unknown];
        return resolve(condition(name) ? whenTrue : whenFalse);
      }
      case 'Fn::Equals': {
        const [left, right] = (argument as unknown[]).map(resolve);
        return JSON.stringify(left) === JSON.stringify(right);
      }
      case 'Fn::Not':
        return !resolve((argument as unknown[])[0]);
      case 'Fn::And':
        return (argument as unknown[]).every((item) => Boolean(resolve(item)));
      case 'Fn::Or':
        return (argument as unknown[]).some((item) => Boolean(resolve(item)));
      case 'Condition':
        return condition(String(argument));
      default:
        if (key?.startsWith('Fn::')) throw new Error(`${key} is not resolved offline`);
    }
    const result: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) {
      const resolved = resolve(item);
      if (resolved !== NO_VALUE) result[name] = resolved;
    }
    return result;
  };
  const keep = ([, item]: [string, { Condition?: string }]) =>
    item.Condition === undefined || condition(item.Condition);
  return {
    Resources: Object.fromEntries(
      Object.entries(template.Resources)
        .filter(keep)
        .map(([id, resource]) => [id, resolve(resource)])
    ) as CfnTemplate['Resources'],
    Outputs: Object.fromEntries(
      Object.entries(template.Outputs ?? {})
        .filter(keep)
        .map(([id, output]) => [id, resolve(output)])
    ) as NonNullable<CfnTemplate['Outputs']>,
  };
};
