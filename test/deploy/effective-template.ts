/**
 * The template as CloudFormation will apply it: our conditions are decided at package time
 * (infra/parameters.cjs writes literal `Fn::Equals`), so they can be evaluated here. Resources and
 * outputs whose condition is false are dropped, `Fn::If` takes its branch and `AWS::NoValue`
 * disappears. The guard rules and assertions then see exactly what would be deployed.
 */
import type { CfnTemplate } from './cfn-template.ts';

const NO_VALUE = Symbol('AWS::NoValue');

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const onlyKey = (value: Record<string, unknown>): string | undefined => {
  const keys = Object.keys(value);
  return keys.length === 1 ? keys[0] : undefined;
};

/** Evaluates every condition of the template; throws on a form it cannot decide offline. */
export const evaluateConditions = (template: CfnTemplate): Map<string, boolean> => {
  const definitions = template.Conditions ?? {};
  const results = new Map<string, boolean>();
  const evaluate = (expression: unknown, path: string): boolean => {
    if (!isObject(expression)) throw new Error(`${path}: not a condition expression`);
    const key = onlyKey(expression);
    const argument = key === undefined ? undefined : expression[key];
    switch (key) {
      case 'Condition':
        return byName(String(argument));
      case 'Fn::Equals': {
        const [left, right] = argument as unknown[];
        if (typeof left !== 'string' || typeof right !== 'string') {
          throw new Error(
            `${path}: Fn::Equals over ${JSON.stringify(argument)} is not decidable offline`
          );
        }
        return left === right;
      }
      case 'Fn::And':
        return (argument as unknown[]).every((item) => evaluate(item, path));
      case 'Fn::Or':
        return (argument as unknown[]).some((item) => evaluate(item, path));
      case 'Fn::Not':
        return !evaluate((argument as unknown[])[0], path);
      default:
        throw new Error(`${path}: unsupported condition ${JSON.stringify(expression)}`);
    }
  };
  const byName = (name: string): boolean => {
    const known = results.get(name);
    if (known !== undefined) return known;
    if (!(name in definitions)) throw new Error(`Unknown condition ${name}`);
    const value = evaluate(definitions[name], `Conditions.${name}`);
    results.set(name, value);
    return value;
  };
  for (const name of Object.keys(definitions)) byName(name);
  return results;
};

const resolve = (value: unknown, conditions: Map<string, boolean>): unknown => {
  if (Array.isArray(value)) {
    return value.map((item) => resolve(item, conditions)).filter((item) => item !== NO_VALUE);
  }
  if (!isObject(value)) return value;
  if (onlyKey(value) === 'Ref' && value.Ref === 'AWS::NoValue') return NO_VALUE;
  if (onlyKey(value) === 'Fn::If') {
    const [name, whenTrue, whenFalse] = value['Fn::If'] as [string, unknown, unknown];
    const chosen = conditions.get(name);
    if (chosen === undefined) throw new Error(`Fn::If on unknown condition ${name}`);
    return resolve(chosen ? whenTrue : whenFalse, conditions);
  }
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const resolved = resolve(item, conditions);
    if (resolved !== NO_VALUE) result[key] = resolved;
  }
  return result;
};

/** The deployed shape of `template` (see the module comment). */
export const effectiveTemplate = (template: CfnTemplate): CfnTemplate => {
  const conditions = evaluateConditions(template);
  const keep = (condition: unknown) =>
    condition === undefined || conditions.get(String(condition)) === true;
  const resources = Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, resource]) => keep(resource.Condition))
      .map(([id, resource]) => {
        const { Condition: _condition, ...rest } = resource;
        return [id, resolve(rest, conditions)];
      })
  ) as CfnTemplate['Resources'];
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {})
      .filter(([, output]) => keep(output.Condition))
      .map(([id, output]) => {
        const { Condition: _condition, ...rest } = output;
        return [id, resolve(rest, conditions)];
      })
  ) as NonNullable<CfnTemplate['Outputs']>;
  const { Conditions: _conditions, ...rest } = template;
  return { ...rest, Resources: resources, Outputs: outputs };
};
