/**
 * prefect-aws's **AWS Credentials** block type on a Prefect server (what `prefect block register -m
 * prefect_aws` creates), and its documents. The schema has the block's fields
 * (`prefect_aws/credentials.py`) with `aws_secret_access_key` as its secret field, so the server
 * obfuscates it unless asked `include_secrets=true`, as Prefect does.
 */
import type { PrefectClient } from '../../../shared/prefect/client.ts';

/** The calls that create a block type, a schema and documents. */
export type BlockAdmin = Pick<
  PrefectClient,
  'createBlockType' | 'createBlockSchema' | 'createBlockDocument'
>;

/** Creates the type and its schema once; `create(name, data)` adds a document and answers its id. */
export const registerAwsCredentialsBlock = async (
  client: BlockAdmin
): Promise<{ create(name: string, data: Record<string, unknown>): Promise<string> }> => {
  const type = await client.createBlockType({ name: 'AWS Credentials', slug: 'aws-credentials' });
  const schema = await client.createBlockSchema({
    blockTypeId: type.id,
    fields: {
      title: 'AwsCredentials',
      type: 'object',
      properties: {
        aws_access_key_id: { title: 'AWS Access Key ID', type: 'string' },
        aws_secret_access_key: {
          title: 'AWS Access Key Secret',
          type: 'string',
          format: 'password',
          writeOnly: true,
        },
        aws_session_token: { title: 'AWS Session Token', type: 'string' },
        profile_name: { title: 'Profile Name', type: 'string' },
        region_name: { title: 'Region Name', type: 'string' },
        aws_client_parameters: { title: 'AWS Client Parameters', type: 'object' },
        assume_role_arn: { title: 'Assume Role ARN', type: 'string' },
        assume_role_kwargs: { title: 'Assume Role Parameters', type: 'object' },
      },
      secret_fields: ['aws_secret_access_key'],
      block_schema_references: {},
    },
  });
  return {
    create: async (name, data) =>
      (
        await client.createBlockDocument({
          name,
          data,
          blockSchemaId: schema.id,
          blockTypeId: type.id,
        })
      ).id,
  };
};
