import { describe, expect, it } from 'vitest';
import {
  assumedAccountOf,
  describeAwsCredentials,
  parseAwsCredentials,
} from '../../../../shared/aws/aws-credentials-settings.ts';
import { PermanentLaunchError } from '../../../../shared/errors/permanent-launch-error.ts';

const ROLE = 'arn:aws:iam::210987654321:role/prefect-member';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** A block document as Prefect returns it with `include_secrets=true`: every field, most null. */
const block = (fields: Record<string, unknown>) => ({
  aws_access_key_id: null,
  aws_secret_access_key: null,
  aws_session_token: null,
  profile_name: null,
  region_name: null,
  aws_client_parameters: {
    api_version: null,
    use_ssl: true,
    verify: true,
    verify_cert_path: null,
    endpoint_url: null,
    config: null,
  },
  assume_role_arn: null,
  assume_role_kwargs: {
    RoleSessionName: null,
    DurationSeconds: null,
    ExternalId: null,
  },
  ...fields,
});

describe('parseAwsCredentials', () => {
  it.each([
    ['no variable', undefined],
    ['null (the default template without a block)', null],
    ['an empty object', {}],
    ["a block with Prefect's defaults only", block({})],
  ])('%s is the functions’ own credentials', (_, value) => {
    // Act / Assess
    expect(parseAwsCredentials(value)).toBeNull();
  });

  it('reads assume_role_arn with its non-null kwargs, the region and the endpoint', () => {
    // Prepare
    const value = block({
      assume_role_arn: ROLE,
      region_name: 'eu-west-1',
      assume_role_kwargs: {
        RoleSessionName: null,
        DurationSeconds: 1800,
        ExternalId: 'pool-42',
        Tags: [{ Key: 'team', Value: 'data' }],
      },
      aws_client_parameters: {
        use_ssl: true,
        endpoint_url: 'https://ecs.eu-west-1.amazonaws.com',
        config: { retries: { max_attempts: 2, mode: 'adaptive' }, connect_timeout: 5 },
      },
    });
    // Act
    const settings = parseAwsCredentials(value);
    // Assess
    expect(settings).toMatchObject({
      region: 'eu-west-1',
      accessKeys: undefined,
      assumeRole: {
        RoleArn: ROLE,
        DurationSeconds: 1800,
        ExternalId: 'pool-42',
        Tags: [{ Key: 'team', Value: 'data' }],
      },
      endpointUrl: 'https://ecs.eu-west-1.amazonaws.com',
      tuning: { maxAttempts: 3, retryMode: 'adaptive', connectionTimeoutMs: 5000 },
      ignored: [],
    });
    expect(settings?.assumeRole).not.toHaveProperty('RoleSessionName');
    expect(assumedAccountOf(settings)).toBe('210987654321');
  });

  it('region_name wins over config.region_name, as in _get_client_cached', () => {
    // Act
    const settings = parseAwsCredentials(
      block({
        region_name: 'eu-west-1',
        aws_client_parameters: { config: { region_name: 'ap-south-1' } },
      })
    );
    const fromConfig = parseAwsCredentials(
      block({ aws_client_parameters: { config: { region_name: 'ap-south-1' } } })
    );
    // Assess
    expect(settings?.region).toBe('eu-west-1');
    expect(fromConfig?.region).toBe('ap-south-1');
  });

  it('keeps static keys, and its key differs by secret without holding it', () => {
    // Act
    const one = parseAwsCredentials(
      block({ aws_access_key_id: 'AKIAEXAMPLE1234', aws_secret_access_key: SECRET })
    );
    const other = parseAwsCredentials(
      block({ aws_access_key_id: 'AKIAEXAMPLE1234', aws_secret_access_key: `${SECRET}x` })
    );
    // Assess
    expect(one?.accessKeys).toEqual({ accessKeyId: 'AKIAEXAMPLE1234', secretAccessKey: SECRET });
    expect(one?.key).not.toBe(other?.key);
    expect(one?.key).not.toContain(SECRET);
    expect(describeAwsCredentials(one, 'us-east-1').join('\n')).not.toContain(SECRET);
    expect(describeAwsCredentials(one, 'us-east-1')[0]).toContain('…1234');
  });

  it('refuses profile_name with the fix, naming the variable', () => {
    // Act
    const act = () => parseAwsCredentials(block({ profile_name: 'prod' }));
    // Assess
    expect(act).toThrow(PermanentLaunchError);
    expect(act).toThrow(/aws_credentials.*profile_name "prod".*assume_role_arn.*assumeRoleArns/s);
  });

  it.each([
    [{ aws_access_key_id: 'AKIAEXAMPLE1234' }, /aws_secret_access_key is not set/],
    [{ aws_secret_access_key: SECRET }, /aws_access_key_id is not set/],
    [
      { aws_access_key_id: 'AKIAEXAMPLE1234', aws_secret_access_key: '**********' },
      /read obfuscated/,
    ],
    [{ assume_role_arn: 'arn:aws:iam::123:user/x' }, /not an IAM role ARN/],
    [
      { assume_role_arn: ROLE, assume_role_kwargs: { RoleArn: ROLE } },
      /not an AssumeRole parameter/,
    ],
    [{ assume_role_arn: ROLE, assume_role_kwargs: { DurationSeconds: '900' } }, /an integer/],
    [{ assume_role_arn: ROLE, assume_role_kwargs: { Tags: [{ Key: 'a' }] } }, /"Key": …, "Value"/],
    [{ region_name: 'Europe' }, /not an AWS region/],
    [{ aws_client_parameters: { endpoint_url: 'not a url' } }, /not a URL/],
  ])('refuses %j with a clear message that holds no secret', (fields, message) => {
    // Act
    const act = () => parseAwsCredentials(block(fields));
    // Assess
    expect(act).toThrow(message);
    try {
      act();
    } catch (error) {
      expect((error as Error).message).not.toContain(SECRET);
    }
  });

  it('lists the fields that have no effect here', () => {
    // Act
    const settings = parseAwsCredentials(
      block({
        region_name: 'eu-west-1',
        aws_session_token: 'token-without-keys',
        aws_client_parameters: {
          api_version: '2014-11-13',
          use_ssl: false,
          verify: false,
          verify_cert_path: '/etc/ca.pem',
          config: { signature_version: 'v4', retries: { mode: 'legacy' } },
        },
        assume_role_kwargs: { ExternalId: 'x' },
        custom: 'value',
      })
    );
    // Assess
    expect(settings?.ignored.map((line) => line.split(':')[0])).toEqual([
      'custom',
      'aws_session_token',
      'assume_role_kwargs',
      'aws_client_parameters.api_version',
      'aws_client_parameters.use_ssl',
      'aws_client_parameters.verify',
      'aws_client_parameters.verify_cert_path',
      'aws_client_parameters.config.signature_version',
      'aws_client_parameters.config.retries.mode',
    ]);
  });
});

describe('describeAwsCredentials', () => {
  it('shows the role, the region and what is ignored', () => {
    // Prepare
    const settings = parseAwsCredentials(
      block({
        assume_role_arn: ROLE,
        region_name: 'eu-west-1',
        assume_role_kwargs: { RoleSessionName: 'etl', ExternalId: 'secret-ish' },
        aws_client_parameters: { api_version: 'x' },
      })
    );
    // Act
    const lines = describeAwsCredentials(settings, 'us-east-1');
    // Assess
    expect(lines).toEqual([
      `assumes ${ROLE} (STS AssumeRole as the functions' own role, session etl, with an external id)`,
      'region eu-west-1',
      'ignored: aws_client_parameters.api_version: the Node SDK has one API version per service',
    ]);
    expect(describeAwsCredentials(null, 'us-east-1')).toEqual([
      "the functions' own role, region us-east-1",
    ]);
  });
});
