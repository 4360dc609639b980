/**
 * A role's identity policies as IAM would hold them after the stack is created: the packaged
 * template's conditions decided ({@link effectiveTemplate}: `Fn::If`, conditional resources), then
 * every intrinsic left resolved to a concrete value (`Ref`, `Fn::GetAtt …Arn`, `Fn::Sub`,
 * `Fn::Join`, pseudo parameters), so that a policy simulator can evaluate them offline.
 *
 * Physical names follow one convention (the one of function-environment.ts), overridable per
 * logical id for resources a test creates in a stand-in (a secret's ARN carries a random suffix).
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings
import { type CfnTemplate, resourceOf } from './cfn-template.ts';
import { effectiveTemplate } from './effective-template.ts';

/** Where the stack is deployed. */
export interface DeployTarget {
  accountId: string;
  region: string;
  partition: string;
  /** Physical values of some logical ids (`Ref` and `Fn::GetAtt …Arn`), instead of the convention. */
  physical?: Readonly<Record<string, { ref: string; arn: string }>>;
}

/** An IAM policy document, intrinsics resolved. */
export interface PolicyDocument {
  Version: string;
  Statement: Record<string, unknown>[];
}

/** `Ref` and `Arn` of a resource of the template, by the naming convention (or `physical`). */
export const physicalOf = (
  template: CfnTemplate,
  logicalId: string,
  target: DeployTarget
): { ref: string; arn: string } => {
  const given = target.physical?.[logicalId];
  if (given) return given;
  const { accountId, region, partition } = target;
  const type = resourceOf(template, logicalId).Type;
  switch (type) {
    case 'AWS::SQS::Queue':
      return {
        ref: `https://sqs.${region}.amazonaws.com/${accountId}/${logicalId}`,
        arn: `arn:${partition}:sqs:${region}:${accountId}:${logicalId}`,
      };
    case 'AWS::SecretsManager::Secret': {
      const arn = `arn:${partition}:secretsmanager:${region}:${accountId}:secret:${logicalId}-AbCdEf`;
      return { ref: arn, arn };
    }
    case 'AWS::IAM::Role':
      return { ref: logicalId, arn: `arn:${partition}:iam::${accountId}:role/${logicalId}` };
    case 'AWS::SNS::Topic': {
      const arn = `arn:${partition}:sns:${region}:${accountId}:${logicalId}`;
      return { ref: arn, arn };
    }
    case 'AWS::Lambda::Function':
      return {
        ref: logicalId,
        arn: `arn:${partition}:lambda:${region}:${accountId}:function:${logicalId}`,
      };
    default:
      throw new Error(`No physical name convention for ${logicalId} (${type})`);
  }
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Resolves every intrinsic of `value`; throws on one it does not know. */
export const resolveIntrinsics = (
  template: CfnTemplate,
  value: unknown,
  target: DeployTarget
): unknown => {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': target.accountId,
    'AWS::Region': target.region,
    'AWS::Partition': target.partition,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'prefect-ecs-serverless-dev',
  };
  const ref = (name: string): string => pseudo[name] ?? physicalOf(template, name, target).ref;
  const getAtt = (id: string, attribute: string): string => {
    if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${id}.${attribute} is not resolved`);
    return physicalOf(template, id, target).arn;
  };
  const sub = (text: string, variables: Record<string, unknown>): string =>
    text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(resolve(variables[name]));
      const [id, attribute] = name.split('.');
      if (attribute !== undefined && id !== undefined) return getAtt(id, attribute);
      return ref(name);
    });
  const resolve = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(resolve);
    if (!isObject(item)) return item;
    const keys = Object.keys(item);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const argument = item[key];
      if (key === 'Ref') return ref(String(argument));
      if (key === 'Fn::GetAtt') {
        const [id, attribute] = argument as [string, string];
        return getAtt(id, attribute);
      }
      if (key === 'Fn::Sub') {
        return typeof argument === 'string'
          ? sub(argument, {})
          : sub(...(argument as [string, Record<string, unknown>]));
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = argument as [string, unknown[]];
        return (resolve(parts) as unknown[]).join(separator);
      }
      if (key.startsWith('Fn::')) throw new Error(`${key} is not resolved offline`);
    }
    return Object.fromEntries(Object.entries(item).map(([name, inner]) => [name, resolve(inner)]));
  };
  return resolve(value);
};

/**
 * Every identity policy of `roleId` in the deployed stack: its inline `Policies` and the
 * `AWS::IAM::Policy` resources attached to it, conditions decided, intrinsics resolved.
 *
 * @example
 * rolePolicies(packaged.template, 'PollerRole', { accountId, region, partition: 'aws' });
 * // [{ name: 'poller', policy: { Version: '2012-10-17', Statement: [...] } }, ...]
 */
export const rolePolicies = (
  template: CfnTemplate,
  roleId: string,
  target: DeployTarget
): { name: string; policy: PolicyDocument }[] => {
  const deployed = effectiveTemplate(template);
  const inline = (
    (resourceOf(deployed, roleId).Properties?.Policies ?? []) as {
      PolicyName: string;
      PolicyDocument: unknown;
    }[]
  ).map((policy) => ({ name: policy.PolicyName, document: policy.PolicyDocument }));
  const attached = Object.entries(deployed.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Policy')
    .filter(([, resource]) =>
      ((resource.Properties?.Roles ?? []) as unknown[]).some(
        (item) => JSON.stringify(item) === JSON.stringify({ Ref: roleId })
      )
    )
    .map(([id, resource]) => ({
      name: String(resource.Properties?.PolicyName ?? id),
      document: resource.Properties?.PolicyDocument,
    }));
  const managed = (resourceOf(deployed, roleId).Properties?.ManagedPolicyArns ?? []) as unknown[];
  if (managed.length > 0) {
    throw new Error(`${roleId} has managed policies, which this simulation cannot read`);
  }
  return [...inline, ...attached].map(({ name, document }) => ({
    name,
    policy: resolveIntrinsics(template, document, target) as PolicyDocument,
  }));
};
