// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings
/**
 * A function's environment as Lambda would see it: the template's variables with references
 * replaced by realistic values (queue URLs, secret and role ARNs), plus what the runtime adds.
 */
import type { CfnTemplate } from './cfn-template.ts';

const ACCOUNT = '123456789012';

const resolvedValue = (template: CfnTemplate, value: unknown, region: string): string => {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  // A Fn::Sub over pseudo parameters only (the SSM parameter ARNs of infra/parameters.cjs).
  const sub = (value as { 'Fn::Sub'?: unknown })['Fn::Sub'];
  if (typeof sub === 'string' && !/\$\{(?!AWS::(Partition|Region|AccountId)\})/.test(sub)) {
    return sub
      .replaceAll('${AWS::Partition}', 'aws')
      .replaceAll('${AWS::Region}', region)
      .replaceAll('${AWS::AccountId}', ACCOUNT);
  }
  const reference = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (reference.Ref === 'AWS::AccountId') return ACCOUNT;
  const id = reference.Ref ?? reference['Fn::GetAtt']?.[0];
  const type = id === undefined ? undefined : template.Resources[id]?.Type;
  switch (type) {
    case 'AWS::SQS::Queue':
      return `https://sqs.${region}.amazonaws.com/${ACCOUNT}/${id}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${id}-AbCdEf`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${ACCOUNT}:role/${id}`;
    default:
      throw new Error(`Cannot give a value to ${JSON.stringify(value)}`);
  }
};

/**
 * The environment of `functionId`.
 *
 * @example
 * loadPollerConfig(functionEnvironment(template, 'PollerLambdaFunction'));
 */
export const functionEnvironment = (
  template: CfnTemplate,
  functionId: string,
  region = 'us-east-1'
): Record<string, string> => {
  const properties = template.Resources[functionId]?.Properties as
    | { Environment?: { Variables?: Record<string, unknown> } }
    | undefined;
  const variables = properties?.Environment?.Variables ?? {};
  return {
    AWS_REGION: region,
    ...Object.fromEntries(
      Object.entries(variables).map(([name, value]) => [
        name,
        resolvedValue(template, value, region),
      ])
    ),
  };
};
