import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

describe('osls package (offline, no AWS credentials)', () => {
  let workDir: string;
  let template: Template;

  beforeAll(async () => {
    // Prepare: no AWS variables and an empty HOME, as on a fresh CI machine
    workDir = await mkdtemp(join(tmpdir(), 'pes-package-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: workDir };
    // Act
    await run('npx', ['osls', 'package', '--package', join(workDir, 'out')], {
      env,
      timeout: 120_000,
    });
    template = JSON.parse(
      await readFile(join(workDir, 'out', 'cloudformation-template-update-stack.json'), 'utf8')
    ) as Template;
  }, 180_000);

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('routes launch messages that keep failing to the dead-letter queue', () => {
    // Assess
    const launch = template.Resources.LaunchQueue;
    expect(launch?.Type).toBe('AWS::SQS::Queue');
    expect(launch?.Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['LaunchDeadLetterQueue', 'Arn'] },
      maxReceiveCount: 5,
    });
  });

  it('declares the tick queue that paces the poller', () => {
    // Assess
    expect(template.Resources.TickQueue?.Type).toBe('AWS::SQS::Queue');
  });
});
