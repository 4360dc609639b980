import {
  checkOperationInput,
  loadServiceModel,
  type ServiceModel,
  standinModelPath,
  type ValidationIssue,
} from '../aws/model-validator.ts';
import { AwsServiceError } from '../aws/service.ts';

/** The botocore ECS model vendored in `test/standins/aws/models/`, loaded once. */
export const ecsModel = (): ServiceModel => loadServiceModel(standinModelPath('ecs.json'));

export const isEcsOperation = (operation: string): boolean =>
  Object.hasOwn(ecsModel().operations, operation);

/** Task-definition operations answer `ClientException`; the others `InvalidParameterException`. */
const CLIENT_EXCEPTION_OPERATIONS = new Set([
  'RegisterTaskDefinition',
  'DeregisterTaskDefinition',
  'DescribeTaskDefinition',
  'DeleteTaskDefinitions',
  'ListTaskDefinitions',
  'ListTaskDefinitionFamilies',
]);

export const ecsErrorCode = (operation: string): string =>
  CLIENT_EXCEPTION_OPERATIONS.has(operation) ? 'ClientException' : 'InvalidParameterException';

/** ECS's own wording (prefect-aws #223 quotes it from a RunTask answer). */
export const TAG_CHARACTERS_MESSAGE =
  'Some tags contain invalid characters. Valid characters: UTF-8 letters, spaces, numbers and _ . / = + - : @.';

/** Messages ECS gives for missing members where they differ from `<Member> can not be blank.` */
const BLANK_MESSAGES: Record<string, string> = {
  'RegisterTaskDefinition.containerDefinitions': 'Container list cannot be empty.',
  'DescribeTasks.tasks': 'Tasks cannot be empty.',
};

const upperFirst = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

const tagMessage = (issue: ValidationIssue): string | undefined => {
  const match = /(?:^|\.)tags(?:\.\d+\.member\.(key|value))?$/.exec(issue.path);
  if (!match) return undefined;
  const part = match[1];
  if (part === undefined) return 'The number of tags exceeds the limit of 50.';
  if (issue.kind === 'pattern') return TAG_CHARACTERS_MESSAGE;
  if (part === 'key') return 'Tag keys must be between 1 and 128 characters long.';
  return 'Tag values must be at most 256 characters long.';
};

/**
 * Throws what ECS answers for an input that does not fit the model: `SerializationException` for a
 * type mismatch, ECS's own wording for a missing member or a bad tag, otherwise the AWS validation
 * message under ECS's error code for the operation.
 */
export const assertEcsInput = (operation: string, input: unknown): void => {
  const problem = checkOperationInput(ecsModel(), operation, input);
  if (!problem) return;
  if (problem.kind === 'serialization') {
    throw new AwsServiceError('SerializationException', problem.message);
  }
  const code = ecsErrorCode(operation);
  const [first] = problem.issues;
  if (!first) throw new AwsServiceError(code, problem.message);
  const forTags = tagMessage(first);
  if (forTags) throw new AwsServiceError('InvalidParameterException', forTags);
  if (first.kind === 'required') {
    const message = BLANK_MESSAGES[`${operation}.${first.path}`];
    throw new AwsServiceError(code, message ?? `${upperFirst(first.member)} can not be blank.`);
  }
  throw new AwsServiceError(code, problem.message);
};
