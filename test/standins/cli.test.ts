import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';

const started: ChildProcess[] = [];

/**
 * Runs `npm run standin -- <args>` the way the README says (tsx on this Node) and waits for its URL,
 * or for `until` when the stand-in prints more than one line (stdout arrives in chunks).
 */
const startCli = async (
  args: string[],
  until = /http:\/\/\S+:\d+/
): Promise<{ child: ChildProcess; output: string }> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/standins/cli.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const deadline = Date.now() + 15_000;
  while (!until.test(output) && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, output };
};

afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

describe('npm run standin', () => {
  it('serves the Prefect API under /api and stops cleanly on Ctrl-C', async () => {
    // Prepare / Act
    const { child, output } = await startCli(['prefect', '--port', '0']);
    const apiUrl = /PREFECT_API_URL=(\S+)/.exec(output)?.[1];
    const health = await fetch(`${apiUrl}/health`);
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number | null];
    // Assess
    expect(health.status).toBe(200);
    expect(await health.json()).toBe(true);
    expect(code).toBe(0);
  });

  it('serves ECS over awsJson1_1 on the AWS port', async () => {
    // Prepare
    const { output } = await startCli(['ecs', '--port', '0']);
    const endpoint = /AWS_ENDPOINT_URL=(\S+)/.exec(output)?.[1];
    // Act: an unsigned call, which ECS refuses
    const response = await fetch(`${endpoint}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListClusters',
      },
      body: '{}',
    });
    // Assess
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(response.status).toBe(403);
  });

  it('serves more regions and lets STS assume the roles it is given', async () => {
    // Prepare
    const role = 'arn:aws:iam::222222222222:role/prefect-launch';
    const { output } = await startCli(
      ['ecs', '--port', '0', '--regions', 'eu-west-1', '--role', role],
      /role: \S+/
    );
    const endpoint = /AWS_ENDPOINT_URL=(\S+)/.exec(output)?.[1] ?? '';
    const home = { accessKeyId: 'AKIDCLI', secretAccessKey: 'cli' };
    const sts = new STSClient({ region: 'us-east-1', endpoint, credentials: home });
    // Act
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'cli' })
    );
    const ecs = new ECSClient({
      region: 'eu-west-1',
      endpoint,
      credentials: {
        accessKeyId: Credentials?.AccessKeyId ?? '',
        secretAccessKey: Credentials?.SecretAccessKey ?? '',
        sessionToken: Credentials?.SessionToken ?? '',
      },
    });
    const { cluster } = await ecs.send(new CreateClusterCommand({ clusterName: 'member' }));
    sts.destroy();
    ecs.destroy();
    // Assess
    expect(output).toContain('regions: us-east-1, eu-west-1');
    expect(cluster?.clusterArn).toBe('arn:aws:ecs:eu-west-1:222222222222:cluster/member');
  });

  it('creates the launch and tick queues on the SQS port', async () => {
    // Prepare / Act
    const { output } = await startCli(['sqs', '--port', '0'], /tick: \S+/);
    // Assess
    expect(output).toMatch(/AWS_ENDPOINT_URL_SQS=http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/launch: http:\/\/127\.0\.0\.1:\d+\/\d+\/launch \(DLQ/);
    expect(output).toMatch(/tick: http:\/\/127\.0\.0\.1:\d+\/\d+\/tick/);
  });

  it('names the stand-ins when given an unknown one', async () => {
    // Prepare / Act
    const { child, output } = await startCli(['kafka']);
    if (child.exitCode === null) await once(child, 'exit');
    // Assess
    expect(child.exitCode).toBe(2);
    expect(output).toContain("Unknown stand-in 'kafka'");
    expect(output).toContain('prefect|ecs|sqs');
  });
});
