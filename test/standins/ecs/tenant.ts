/**
 * One (account, region) of the AWS stand-in: its own ECS control plane (clusters, task definitions,
 * tasks, event bus), EC2 (a default VPC, as every new account has in every region), CloudWatch Logs,
 * Secrets Manager and SSM, and the calls it answered. AWS keeps these apart per account and per
 * region, so a request signed for region R with account A's credentials only ever sees A's R.
 */
import { createEc2Service } from '../aws/ec2.ts';
import { createLogsService } from '../aws/logs.ts';
import { createSecretsManagerService } from '../aws/secrets-manager.ts';
import type { JsonService } from '../aws/service.ts';
import { createSsmService } from '../aws/ssm.ts';
import { createEcsService, type EcsService } from './ecs-service.ts';
import { createEcsThrottling, type EcsThrottlingOptions } from './throttling.ts';
import type { AwsServiceName, AwsTenant, RecordedCall, TaskPlan } from './types.ts';

export interface JsonRoute {
  name: AwsServiceName;
  signingName: string;
  contentType: string;
  service: JsonService;
}

export interface TenantOptions {
  accountId: string;
  region: string;
  now: () => Date;
  taskPlan?: TaskPlan;
  throttling?: boolean | Omit<EcsThrottlingOptions, 'nowMs'>;
}

/** A tenant's services (for the server) and its controls (for tests). */
export interface Tenant {
  readonly controls: AwsTenant;
  readonly ecs: EcsService;
  readonly ec2: AwsTenant['ec2'];
  readonly jsonRoutes: readonly JsonRoute[];
  readonly throttling: AwsTenant['throttling'];
  /** The tenant's calls (the live array `controls.calls`). */
  readonly calls: RecordedCall[];
  close(): void;
}

const JSON_1_1 = 'application/x-amz-json-1.1';

export const createTenant = (options: TenantOptions): Tenant => {
  const { accountId, region, now } = options;
  const ec2 = createEc2Service({ region, accountId });
  const secrets = createSecretsManagerService({ region, accountId });
  const parameters = createSsmService({ region, accountId });
  const logs = createLogsService({ region, accountId });
  const ecs = createEcsService({
    region,
    accountId,
    now,
    ...(options.taskPlan ? { taskPlan: options.taskPlan } : {}),
    network: {
      subnet: (id) => ec2.getSubnet(id),
      securityGroup: (id) => ec2.getSecurityGroup(id),
    },
  });
  // ECS's token buckets are per account and region, as are its quotas.
  const throttling = options.throttling
    ? createEcsThrottling({
        ...(options.throttling === true ? {} : options.throttling),
        nowMs: () => now().getTime(),
      })
    : undefined;
  const calls: RecordedCall[] = [];
  const jsonRoutes: JsonRoute[] = [
    { name: 'ecs', signingName: 'ecs', contentType: JSON_1_1, service: ecs },
    {
      name: 'secretsmanager',
      signingName: 'secretsmanager',
      contentType: JSON_1_1,
      service: secrets,
    },
    { name: 'logs', signingName: 'logs', contentType: JSON_1_1, service: logs },
    { name: 'ssm', signingName: 'ssm', contentType: JSON_1_1, service: parameters },
  ];
  return {
    controls: {
      accountId,
      region,
      calls,
      callsTo: (operation) => calls.filter((call) => call.operation === operation),
      events: ecs.bus.events,
      subscribe: (listener) => ecs.bus.subscribe(listener),
      ecs: ecs.control,
      throttling,
      ec2,
      secrets,
      parameters,
      logs,
    },
    ecs,
    ec2,
    jsonRoutes,
    throttling,
    calls,
    close: () => ecs.close(),
  };
};
