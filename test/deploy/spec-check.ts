/**
 * Checks a CloudFormation template against the CloudFormation resource specification shipped in
 * `@aws-cdk/aws-service-spec` (the approach of aws-local-testing.md, appendix A, extended):
 *
 * - every resource type exists; every property is known, required ones are present, and values have
 *   the spec's type (string, number, integer, boolean, array, map, nested types, unions, JSON, tags);
 * - `Ref`, `Fn::GetAtt` and `Fn::Sub` variables name an existing resource, parameter or pseudo
 *   parameter, and `Fn::GetAtt` an attribute the type has;
 * - `DependsOn` and `Condition` name existing resources and conditions; both branches of `Fn::If` are
 *   checked.
 *
 * It cannot check enumerations or ranges (the spec has none), nor IAM semantics: the cfn-guard rules
 * (infra/guard) cover what matters to us there.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import type { CfnTemplate } from './cfn-template.ts';

interface SpecType {
  type: string;
  element?: SpecType;
  types?: SpecType[];
  reference?: { $ref: string };
}

interface SpecProperty {
  type: SpecType;
  required?: boolean;
}

interface SpecResource {
  cloudFormationType: string;
  properties: Record<string, SpecProperty>;
  attributes?: Record<string, unknown>;
}

interface SpecTypeDefinition {
  $id: string;
  properties: Record<string, SpecProperty>;
}

interface SpecDatabase {
  schema: {
    resource: { entities: Record<string, SpecResource> };
    typeDefinition: { entities: Record<string, SpecTypeDefinition> };
  };
}

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

let loaded:
  | { resources: Map<string, SpecResource>; types: Map<string, SpecTypeDefinition> }
  | undefined;

/** The spec, loaded once per process (about 1 s). */
const spec = () => {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    const db = JSON.parse(
      gunzipSync(readFileSync(require.resolve('@aws-cdk/aws-service-spec/db.json.gz'))).toString(
        'utf8'
      )
    ) as SpecDatabase;
    loaded = {
      resources: new Map(
        Object.values(db.schema.resource.entities).map((resource) => [
          resource.cloudFormationType,
          resource,
        ])
      ),
      types: new Map(
        Object.values(db.schema.typeDefinition.entities).map((type) => [type.$id, type])
      ),
    };
  }
  return loaded;
};

/** How many resource types the spec knows (a sanity check for the tests). */
export const specResourceTypeCount = (): number => spec().resources.size;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const intrinsicName = (value: unknown): string | undefined => {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const key = keys[0] as string;
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::') ? key : undefined;
};

/**
 * Every finding for `template`, as `path: problem` lines; empty when the template passes.
 *
 * @example
 * expect(checkTemplateAgainstSpec(template)).toEqual([]);
 */
export const checkTemplateAgainstSpec = (template: CfnTemplate): string[] => {
  const { resources: specs, types } = spec();
  const findings: string[] = [];
  const resources = template.Resources ?? {};
  const names = new Set([...Object.keys(resources), ...Object.keys(template.Parameters ?? {})]);
  const conditions = new Set(Object.keys(template.Conditions ?? {}));

  const checkReference = (path: string, name: string) => {
    if (!names.has(name) && !PSEUDO_PARAMETERS.has(name))
      findings.push(`${path}: Ref to unknown ${name}`);
  };
  const checkAttribute = (path: string, id: string, attribute: string) => {
    const resource = resources[id];
    if (resource === undefined) {
      findings.push(`${path}: GetAtt on unknown resource ${id}`);
      return;
    }
    const resourceSpec = specs.get(resource.Type);
    if (resourceSpec && !Object.keys(resourceSpec.attributes ?? {}).includes(attribute)) {
      findings.push(`${path}: ${resource.Type} has no attribute ${attribute}`);
    }
  };

  /** Intrinsics anywhere: references, attributes, Sub variables, conditions. */
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) walk(item, `${path}[${index}]`);
      return;
    }
    if (!isObject(value)) return;
    const name = intrinsicName(value);
    if (name === 'Ref' && typeof value.Ref === 'string') checkReference(path, value.Ref);
    if (name === 'Fn::GetAtt') {
      const argument = value['Fn::GetAtt'];
      const [id, ...rest] = Array.isArray(argument)
        ? argument.map(String)
        : String(argument).split('.');
      checkAttribute(path, id ?? '', rest.join('.'));
    }
    if (name === 'Fn::Sub') {
      const argument = value['Fn::Sub'];
      const [text, variables] = Array.isArray(argument)
        ? [String(argument[0]), isObject(argument[1]) ? argument[1] : {}]
        : [String(argument), {}];
      for (const match of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
        const variable = match[1] as string;
        if (variable in variables) continue;
        const [id, ...attribute] = variable.split('.');
        if (attribute.length > 0) checkAttribute(path, id as string, attribute.join('.'));
        else checkReference(path, variable);
      }
    }
    if (name === 'Fn::If' || name === 'Condition') {
      const condition = name === 'Fn::If' ? (value['Fn::If'] as unknown[])[0] : value.Condition;
      if (!conditions.has(String(condition)))
        findings.push(`${path}: unknown condition ${String(condition)}`);
    }
    for (const [key, item] of Object.entries(value)) walk(item, `${path}.${key}`);
  };

  const accepts = (type: SpecType, value: unknown): boolean => {
    if (value === undefined || intrinsicName(value) !== undefined) return true;
    switch (type.type) {
      case 'string':
      case 'date-time':
        return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
      case 'integer':
      case 'number':
        return (
          (typeof value === 'number' && (type.type === 'number' || Number.isInteger(value))) ||
          (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))
        );
      case 'boolean':
        return value === true || value === false || value === 'true' || value === 'false';
      case 'array':
        return Array.isArray(value);
      case 'map':
      case 'ref':
      case 'tag':
        return isObject(value);
      case 'json':
        return isObject(value) || Array.isArray(value) || typeof value === 'string';
      case 'union':
        return (type.types ?? []).some((member) => accepts(member, value));
      default:
        return true;
    }
  };

  const checkValue = (path: string, type: SpecType, value: unknown): void => {
    if (value === undefined) return;
    if (isObject(value) && intrinsicName(value) === 'Fn::If') {
      const [, whenTrue, whenFalse] = value['Fn::If'] as unknown[];
      for (const branch of [whenTrue, whenFalse]) {
        if (!(isObject(branch) && branch.Ref === 'AWS::NoValue')) checkValue(path, type, branch);
      }
      return;
    }
    if (intrinsicName(value) !== undefined) return;
    if (!accepts(type, value)) {
      findings.push(`${path}: expected ${type.type}, got ${JSON.stringify(value).slice(0, 80)}`);
      return;
    }
    if (type.type === 'array' && Array.isArray(value) && type.element) {
      const element = type.element;
      for (const [index, item] of value.entries()) checkValue(`${path}[${index}]`, element, item);
    } else if (type.type === 'map' && isObject(value) && type.element) {
      const element = type.element;
      for (const [key, item] of Object.entries(value)) checkValue(`${path}.${key}`, element, item);
    } else if (type.type === 'ref' && isObject(value) && type.reference) {
      checkProperties(path, types.get(type.reference.$ref)?.properties ?? {}, value);
    } else if (type.type === 'tag' && isObject(value)) {
      if (!('Key' in value) || !('Value' in value))
        findings.push(`${path}: a tag needs Key and Value`);
    } else if (type.type === 'union') {
      const member = (type.types ?? []).find(
        (candidate) => candidate.type === 'ref' && isObject(value) && accepts(candidate, value)
      );
      if (member) checkValue(path, member, value);
    }
  };

  const checkProperties = (
    path: string,
    properties: Record<string, SpecProperty>,
    values: Record<string, unknown>
  ): void => {
    for (const [name, property] of Object.entries(properties)) {
      if (property.required && values[name] === undefined) {
        findings.push(`${path}: required property ${name} missing`);
      }
    }
    for (const [name, value] of Object.entries(values)) {
      const property = properties[name];
      if (property === undefined) findings.push(`${path}: unknown property ${name}`);
      else checkValue(`${path}.${name}`, property.type, value);
    }
  };

  for (const [id, resource] of Object.entries(resources)) {
    const resourceSpec = specs.get(resource.Type);
    if (resourceSpec === undefined) {
      if (!resource.Type?.startsWith('Custom::'))
        findings.push(`${id}: unknown resource type ${resource.Type}`);
      continue;
    }
    checkProperties(id, resourceSpec.properties, resource.Properties ?? {});
    for (const dependency of ([] as string[]).concat(resource.DependsOn ?? [])) {
      if (resources[dependency] === undefined)
        findings.push(`${id}: DependsOn unknown ${dependency}`);
    }
    if (resource.Condition !== undefined && !conditions.has(resource.Condition)) {
      findings.push(`${id}: unknown condition ${resource.Condition}`);
    }
    walk(resource.Properties, id);
  }
  for (const [id, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition !== undefined && !conditions.has(output.Condition)) {
      findings.push(`Outputs.${id}: unknown condition ${output.Condition}`);
    }
    walk(output.Value, `Outputs.${id}`);
  }
  walk(template.Conditions, 'Conditions');
  return findings;
};
