/**
 * Turns Ajv errors into the pydantic v2 error items FastAPI reports (`{type, loc, msg, input, ctx?}`):
 * `extra_forbidden`, `missing`, `int_type`, `enum`, `uuid_parsing`, … with `loc` following the
 * request (`["body", "state", "type"]`, `["body", 0, "worker_id"]`).
 */
import type { ErrorObject } from 'ajv/dist/2020.js';

/** One pydantic validation error, as FastAPI lists it. */
export interface ValidationIssue {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

const inputAt = (root: unknown, segments: readonly string[]): unknown => {
  let current: unknown = root;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
};

const locOf = (root: unknown, segments: readonly string[]): Array<string | number> => {
  const loc: Array<string | number> = [];
  let current: unknown = root;
  for (const segment of segments) {
    loc.push(Array.isArray(current) ? Number(segment) : segment);
    current =
      current !== null && typeof current === 'object'
        ? (current as Record<string, unknown>)[segment]
        : undefined;
  }
  return loc;
};

const splitPointer = (pointer: string): string[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

const quoteList = (values: readonly unknown[]): string => {
  const quoted = values.map((v) => `'${String(v)}'`);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
};

const typeIssue = (
  expected: string,
  input: unknown,
  schema: unknown
): Omit<ValidationIssue, 'loc'> => {
  switch (expected) {
    case 'string':
      return { type: 'string_type', msg: 'Input should be a valid string', input };
    case 'integer':
      return typeof input === 'number'
        ? {
            type: 'int_from_float',
            msg: 'Input should be a valid integer, got a number with a fractional part',
            input,
          }
        : { type: 'int_type', msg: 'Input should be a valid integer', input };
    case 'number':
      return { type: 'float_type', msg: 'Input should be a valid number', input };
    case 'boolean':
      return { type: 'bool_type', msg: 'Input should be a valid boolean', input };
    case 'array':
      return { type: 'list_type', msg: 'Input should be a valid list', input };
    case 'object': {
      const isModel =
        schema !== null && typeof schema === 'object' && 'properties' in (schema as object);
      return isModel
        ? {
            type: 'model_attributes_type',
            msg: 'Input should be a valid dictionary or object to extract fields from',
            input,
          }
        : { type: 'dict_type', msg: 'Input should be a valid dictionary', input };
    }
    default:
      return { type: `${expected}_type`, msg: `Input should be a valid ${expected}`, input };
  }
};

const formatIssue = (format: string, input: unknown): Omit<ValidationIssue, 'loc'> => {
  if (format === 'uuid') {
    return { type: 'uuid_parsing', msg: 'Input should be a valid UUID', input };
  }
  if (format === 'date-time') {
    return {
      type: 'datetime_from_date_parsing',
      msg: 'Input should be a valid datetime with a timezone offset',
      input,
    };
  }
  return { type: 'value_error', msg: `Input should be a valid ${format}`, input };
};

const issueFor = (
  error: ErrorObject,
  root: unknown,
  prefix: ReadonlyArray<string | number>
): ValidationIssue | undefined => {
  const segments = splitPointer(error.instancePath);
  const at = (extra: string[]) => [...prefix, ...locOf(root, [...segments, ...extra])];
  const input = inputAt(root, segments);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return { type: 'missing', loc: at([missing]), msg: 'Field required', input };
    }
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      return {
        type: 'extra_forbidden',
        loc: at([extra]),
        msg: 'Extra inputs are not permitted',
        input: inputAt(root, [...segments, extra]),
      };
    }
    case 'type':
      return { loc: at([]), ...typeIssue(String(params.type), input, error.parentSchema) };
    case 'format':
      return { loc: at([]), ...formatIssue(String(params.format), input) };
    case 'enum': {
      const expected = quoteList(params.allowedValues as unknown[]);
      return {
        type: 'enum',
        loc: at([]),
        msg: `Input should be ${expected}`,
        input,
        ctx: { expected },
      };
    }
    case 'const': {
      const expected = `'${String(params.allowedValue)}'`;
      return {
        type: 'literal_error',
        loc: at([]),
        msg: `Input should be ${expected}`,
        input,
        ctx: { expected },
      };
    }
    case 'pattern':
      return {
        type: 'string_pattern_mismatch',
        loc: at([]),
        msg: `String should match pattern '${String(params.pattern)}'`,
        input,
        ctx: { pattern: params.pattern },
      };
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum': {
      const limit = params.limit;
      const bounds: Record<string, [string, string, string]> = {
        minimum: ['greater_than_equal', 'greater than or equal to', 'ge'],
        exclusiveMinimum: ['greater_than', 'greater than', 'gt'],
        maximum: ['less_than_equal', 'less than or equal to', 'le'],
        exclusiveMaximum: ['less_than', 'less than', 'lt'],
      };
      const [type, words, key] = bounds[error.keyword] ?? ['value_error', 'valid', 'limit'];
      return {
        type,
        loc: at([]),
        msg: `Input should be ${words} ${String(limit)}`,
        input,
        ctx: { [key]: limit },
      };
    }
    case 'maxLength':
      return {
        type: 'string_too_long',
        loc: at([]),
        msg: `String should have at most ${String(params.limit)} characters`,
        input,
        ctx: { max_length: params.limit },
      };
    case 'minLength':
      return {
        type: 'string_too_short',
        loc: at([]),
        msg: `String should have at least ${String(params.limit)} characters`,
        input,
        ctx: { min_length: params.limit },
      };
    case 'anyOf':
    case 'oneOf':
    case 'allOf':
      // Summary errors of unions: the branch errors already say what is wrong.
      return undefined;
    default:
      return { type: 'value_error', loc: at([]), msg: error.message ?? 'Invalid value', input };
  }
};

const isNullBranchError = (error: ErrorObject): boolean =>
  error.keyword === 'type' &&
  (error.params as { type?: unknown }).type === 'null' &&
  /\/anyOf\/\d+\/type$/.test(error.schemaPath);

/** Converts Ajv errors for `root` into pydantic-style issues whose `loc` starts with `prefix`. */
export const toValidationIssues = (
  errors: readonly ErrorObject[],
  root: unknown,
  prefix: ReadonlyArray<string | number>
): ValidationIssue[] => {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (isNullBranchError(error)) continue;
    const issue = issueFor(error, root, prefix);
    if (!issue) continue;
    const key = JSON.stringify([issue.type, issue.loc]);
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
};
