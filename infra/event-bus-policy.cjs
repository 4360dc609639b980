/**
 * Lets the accounts of `eventSourceAccounts` put the ECS task state changes of their flow-run
 * tasks on this account's default event bus, where TaskStateChangeRule (infra/events.yml) delivers
 * them to the reporter as it does this account's own: its pattern names no `account` or `region`
 * (test/deploy/member-account.test.ts). Each such account (and region) runs the rule of
 * infra/member-account/forward-task-events.yml. Emitted only when there are such accounts.
 *
 * - `Statement` (one statement, the resource's current form): `Principal`/`Action`/`Condition` at
 *   the top level are the deprecated PutPermission shape of AWS::Events::EventBusPolicy
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-eventbuspolicy.html).
 *   One statement lists every account as a principal (`arn:…:iam::<account>:root`).
 * - Only `events:PutEvents`, only on the default bus, and only events whose every `source` is
 *   aws.ecs and every `detail-type` ECS Task State Change: the form of AWS's own example, "Send
 *   events to a custom bus in a different account", with `ForAllValues` because both condition keys
 *   are multivalued (a PutEvents call may carry several entries; Service Authorization Reference,
 *   Amazon EventBridge: events:source and events:detail-type are ArrayOfString).
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-example-policy-cross-account-custom-bus-source.html
 *
 * Nothing to pay: a bus policy costs nothing, and events another account sends are billed to that
 * account (as custom events), not to the receiver
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html).
 */
'use strict';

const resolveParameters = require('./parameters.cjs');

const TASK_STATE_SOURCE = 'aws.ecs';
/** This account's default bus, for `Fn::Sub`. */
const DEFAULT_BUS_ARN = `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`;
const TASK_STATE_DETAIL_TYPE = 'ECS Task State Change';

const eventBusPolicyResources = async (context) => {
  const { eventSourceAccounts, eventBusPolicyStatementId } = await resolveParameters(context);
  if (eventSourceAccounts.length === 0) return {};
  return {
    Resources: {
      TaskStateEventsFromOtherAccountsPolicy: {
        Type: 'AWS::Events::EventBusPolicy',
        Properties: {
          EventBusName: 'default',
          StatementId: eventBusPolicyStatementId,
          // The statement's Sid is StatementId (PutPermission sets it).
          Statement: {
            Effect: 'Allow',
            Principal: {
              AWS: eventSourceAccounts.map((account) => ({
                'Fn::Sub': `arn:\${AWS::Partition}:iam::${account}:root`,
              })),
            },
            Action: 'events:PutEvents',
            Resource: { 'Fn::Sub': DEFAULT_BUS_ARN },
            Condition: {
              'ForAllValues:StringEquals': {
                'events:source': [TASK_STATE_SOURCE],
                'events:detail-type': [TASK_STATE_DETAIL_TYPE],
              },
            },
          },
        },
      },
    },
  };
};

module.exports = eventBusPolicyResources;
