/**
 * The network-interface permissions a Lambda function in a VPC needs, emitted only when the
 * functions are placed in one (`vpcSubnetIds` + `vpcSecurityGroupIds`, docs/deploy.md "Private
 * Prefect: the functions in your VPC"). Without them the template holds no EC2 permission at all.
 *
 * Lambda creates and deletes the functions' Hyperplane ENIs with the execution role, and checks
 * these permissions when the function is created or its VpcConfig changes: "The provided execution
 * role does not have permissions to call CreateNetworkInterface on EC2" otherwise. The policy is a
 * separate resource, so each function `DependsOn` it (CloudFormation would otherwise create the
 * function in parallel with the policy).
 *
 * The actions are those of the AWS managed policy AWSLambdaVPCAccessExecutionRole (v3) minus its
 * logs actions (each role has its own log permissions):
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
 * https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html
 * - ec2:DescribeNetworkInterfaces works only on `"Resource": "*"` (the Lambda guide), and EC2
 *   Describe* actions have no resource-level permissions (ec2:DescribeSubnets likewise).
 * - ec2:CreateNetworkInterface, DeleteNetworkInterface, AssignPrivateIpAddresses and
 *   UnassignPrivateIpAddresses are limited to the network interfaces, subnets and security groups of
 *   this account and region, one ARN per resource type IAM authorizes them on (Service Authorization
 *   Reference for EC2). The Lambda guide writes `arn:aws:ec2:<region>:<account>:*\/*`, but a wildcard
 *   in the resource-type part of an ARN is the "incorrect wildcard usage" the IAM User Guide warns
 *   against (policy simulators deny it), so the types are spelled out. Lambda names the subnet,
 *   security groups and the new interface, so a tighter list of ids could break an update that
 *   changes them.
 */
'use strict';

const resolveParameters = require('./parameters.cjs');

/** Resource types ENI management is authorized on, in this account and region. */
const ENI_RESOURCE_TYPES = ['network-interface', 'subnet', 'security-group'];
const thisAccountAndRegion = (type) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:${type}/*`,
});

/** The four functions and their roles (serverless.yml `functions`, infra/iam.yml). */
const FUNCTIONS = [
  ['PollerLambdaFunction', 'PollerRole'],
  ['LauncherLambdaFunction', 'LauncherRole'],
  ['ReporterLambdaFunction', 'ReporterRole'],
  ['WebhookLambdaFunction', 'WebhookRole'],
];

const POLICY_ID = 'FunctionsVpcNetworkInterfacePolicy';

const vpcResources = async (context) => {
  const parameters = await resolveParameters(context);
  if (parameters.vpc === false) return {};
  return {
    Resources: {
      [POLICY_ID]: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'vpc-network-interfaces',
          Roles: FUNCTIONS.map(([, role]) => ({ Ref: role })),
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'DescribeNetworkInterfaces', // unscopable (see the header)
                Effect: 'Allow',
                Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
                Resource: '*',
              },
              {
                Sid: 'ManageFunctionNetworkInterfaces',
                Effect: 'Allow',
                Action: [
                  'ec2:CreateNetworkInterface',
                  'ec2:DeleteNetworkInterface',
                  'ec2:AssignPrivateIpAddresses',
                  'ec2:UnassignPrivateIpAddresses',
                ],
                Resource: ENI_RESOURCE_TYPES.map(thisAccountAndRegion),
              },
            ],
          },
        },
      },
    },
    // osls `resources.extensions`: adds DependsOn to the functions it generates.
    extensions: Object.fromEntries(
      FUNCTIONS.map(([functionId]) => [functionId, { DependsOn: [POLICY_ID] }])
    ),
  };
};

module.exports = vpcResources;
