/**
 * The AWS API operations a minified bundle can call, read from the SDK v3 command classes esbuild
 * keeps: a client's command factory is bound as `f = g(x, "<service target>", "<Name>Client", y)`
 * and each command as `class extends f(a, b, "<Operation>", schema) {}`. Only commands the code
 * imports survive tree shaking, so this is an upper bound of what the function calls.
 */

/** SDK client → IAM service prefix. */
const IAM_PREFIX: Readonly<Record<string, string>> = {
  CloudWatchLogsClient: 'logs',
  EC2Client: 'ec2',
  ECSClient: 'ecs',
  SecretsManagerClient: 'secretsmanager',
  SQSClient: 'sqs',
};

/** Operations IAM authorizes under another action (SQS batch calls). */
const IAM_ACTION_OF: Readonly<Record<string, string>> = {
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
};

const ID = '[A-Za-z0-9_$]+';
const FACTORY = new RegExp(
  `(?:^|[,;\\s])(${ID})=${ID}\\(${ID},"[A-Za-z0-9_.]+","([A-Za-z0-9]+Client)",${ID}\\)`,
  'g'
);
const COMMAND = new RegExp(`extends (${ID})\\(${ID},${ID},"([A-Za-z0-9]+)",${ID}\\)\\{\\}`, 'g');
/** A call signed by our own code, not an SDK client (shared/secrets/ssm-parameter-reader.ts). */
const RAW_TARGET = /"AmazonSSM\.([A-Za-z0-9]+)"/g;
/** STS's query-protocol action, signed by our own code (shared/aws/assume-role.ts). */
const RAW_STS_ACTION = /\bAction:"(AssumeRole)"/g;

/**
 * The IAM actions of the SDK operations in `code`, sorted; throws for a client we do not map.
 *
 * @example
 * awsOperationsInBundle(launcherBundle); // ['ec2:DescribeSubnets', …, 'sqs:ChangeMessageVisibility']
 */
export const awsOperationsInBundle = (code: string): string[] => {
  const clients = new Map([...code.matchAll(FACTORY)].map((match) => [match[1], match[2]]));
  const actions = new Set<string>();
  for (const match of code.matchAll(COMMAND)) {
    const client = clients.get(match[1] as string);
    if (client === undefined) continue;
    const prefix = IAM_PREFIX[client];
    if (prefix === undefined) throw new Error(`No IAM prefix known for ${client}`);
    const action = `${prefix}:${match[2]}`;
    actions.add(IAM_ACTION_OF[action] ?? action);
  }
  for (const match of code.matchAll(RAW_TARGET)) actions.add(`ssm:${match[1]}`);
  for (const match of code.matchAll(RAW_STS_ACTION)) actions.add(`sts:${match[1]}`);
  return [...actions].sort();
};
