/**
 * The doctor's real I/O: the Prefect client and the AWS adapters (this shell's credentials, and
 * those of each pool's `aws_credentials`), configured from the environment (the SDK's credential
 * chain and `AWS_ENDPOINT_URL*` settings apply; STS AssumeRole reads them from `env`).
 */
import { createPrefectClient } from '../prefect/client.ts';
import { createDoctorAwsApi, doctorAwsApiFor } from './doctor-aws.ts';
import type { DoctorDeps } from './run-doctor.ts';

/**
 * @example
 * const report = await runDoctor(defaultDoctorDeps(process.env));
 */
export const defaultDoctorDeps = (
  env: Readonly<Record<string, string | undefined>>
): DoctorDeps => ({
  env,
  createPrefect: (options) => createPrefectClient(options),
  createAws: (region) => createDoctorAwsApi({ region }),
  createScopedAws: doctorAwsApiFor,
});
