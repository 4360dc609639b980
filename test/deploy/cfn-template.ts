/**
 * The CloudFormation template as `osls package` writes it, and small helpers the deploy tests share.
 */

/** A resource of the template. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
  [attribute: string]: unknown;
}

/** The parts of a template the checks read. */
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Condition?: string; [key: string]: unknown }>;
  Conditions?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A deep copy, for mutation tests. */
export const cloneTemplate = (template: CfnTemplate): CfnTemplate => structuredClone(template);

/** The resource with this logical id; throws when it is missing. */
export const resourceOf = (template: CfnTemplate, logicalId: string): CfnResource => {
  const resource = template.Resources[logicalId];
  if (resource === undefined) throw new Error(`No resource ${logicalId} in the template`);
  return resource;
};

/** The logical ids of every resource of a type. */
export const idsOfType = (template: CfnTemplate, type: string): string[] =>
  Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id]) => id);

/** An IAM policy statement as we write them. */
export interface IamStatement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The actions of a statement, always as a list. */
export const actionsOf = (statement: IamStatement): string[] => asList(statement.Action);

/** The resources of a statement, always as a list. */
export const resourcesOf = (statement: IamStatement): unknown[] => asList(statement.Resource);

interface PolicyDocument {
  Statement: IamStatement[];
}

/**
 * Every statement that applies to a role: its inline policies plus the `AWS::IAM::Policy` resources
 * attached to it (`Roles: [{Ref: role}]`).
 */
export const statementsOfRole = (template: CfnTemplate, roleId: string): IamStatement[] => {
  const role = resourceOf(template, roleId);
  const inline = (
    (role.Properties?.Policies ?? []) as { PolicyDocument: PolicyDocument }[]
  ).flatMap((policy) => policy.PolicyDocument.Statement);
  const attached = Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((resource) =>
      ((resource.Properties?.Roles ?? []) as unknown[]).some(
        (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleId })
      )
    )
    .flatMap(
      (resource) =>
        (resource.Properties as { PolicyDocument: PolicyDocument }).PolicyDocument.Statement
    );
  return [...inline, ...attached];
};

/** The role logical id of a function (`Role: {Fn::GetAtt: [id, Arn]}`). */
export const roleOfFunction = (template: CfnTemplate, functionId: string): string => {
  const role = resourceOf(template, functionId).Properties?.Role as {
    'Fn::GetAtt'?: [string, string];
  };
  const id = role['Fn::GetAtt']?.[0];
  if (id === undefined) throw new Error(`${functionId} has no Role from this template`);
  return id;
};
