/**
 * Check: each ECS cluster the rendered launches name (`cluster`, ECS's `default` when none) exists
 * and is ACTIVE in the region, and in the account, where the launcher runs their tasks (a pool's
 * `aws_credentials` may send them to another; the probe then gets that scope's client).
 */
import { accessDeniedFix } from './access-denied.ts';
import { type CheckResult, describeFailure, fail, pass } from './check-result.ts';
import type { ClusterFacts, DoctorAwsApi } from './doctor-aws.ts';

export const clusterCheckName = (cluster: string): string => `ECS cluster '${cluster}'`;

export type ClusterOutcome =
  | { ok: true; cluster: ClusterFacts | undefined }
  | { ok: false; error: unknown };

/** Describes the cluster. */
export const probeCluster = async (
  aws: Pick<DoctorAwsApi, 'describeCluster'>,
  cluster: string
): Promise<ClusterOutcome> => {
  try {
    return { ok: true, cluster: await aws.describeCluster(cluster) };
  } catch (error) {
    return { ok: false, error };
  }
};

const nameOf = (cluster: string): string => cluster.split('/').pop() ?? cluster;

/**
 * The verdict (pure). `usedBy` lists the deployments that launch there; `account` is given when the
 * launches run in another account than this shell's (a role `aws_credentials` assumes).
 */
export const decideCluster = (
  cluster: string,
  region: string,
  usedBy: readonly string[],
  outcome: ClusterOutcome,
  account?: string
): CheckResult => {
  const name = clusterCheckName(cluster);
  const users = `used by ${usedBy.join(', ')}`;
  if (!outcome.ok) {
    return fail(
      name,
      describeFailure(outcome.error),
      accessDeniedFix(outcome.error) ?? 'Allow ecs:DescribeClusters to these credentials.'
    );
  }
  const found = outcome.cluster;
  if (found === undefined) {
    return fail(
      name,
      `does not exist in ${region}${account ? ` of account ${account}` : ''} (${users})`,
      `\`aws ecs create-cluster --cluster-name ${nameOf(cluster)} --region ${region}\`${account ? ` with credentials of account ${account}` : ''}, or set the job variable "cluster" to an existing cluster.`
    );
  }
  if (found.status !== 'ACTIVE') {
    return fail(
      name,
      `is ${found.status}, not ACTIVE (${users})`,
      `Recreate it (\`aws ecs create-cluster --cluster-name ${nameOf(cluster)}\`) or set the job variable "cluster" to an active one.`
    );
  }
  return pass(name, `ACTIVE, ${found.arn} (${users})`);
};
