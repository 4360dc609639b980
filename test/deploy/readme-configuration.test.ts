/**
 * The documentation of the settings against the packaged template:
 * - README's configuration table names, for each variable, the functions that read it; the stack
 *   must set exactly those variables in exactly those functions' environments, except the rows
 *   marked *not set by the stack* or *set by Lambda*, which it must not set.
 * - docs/deploy.md's parameter table lists every stack parameter of serverless.yml `params.default`,
 *   and no parameter that does not exist.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceOf } from './cfn-template.ts';
import { codeSpans, tableAfterHeading } from './markdown-table.ts';
import { type PackagedService, packageService, SERVICE_DIR } from './osls-package.ts';
import { defaultStackParameters } from './stack-parameters.ts';

const FUNCTIONS = {
  poller: 'PollerLambdaFunction',
  launcher: 'LauncherLambdaFunction',
  reporter: 'ReporterLambdaFunction',
  webhook: 'WebhookLambdaFunction',
} as const;
type FunctionName = keyof typeof FUNCTIONS;
const NAMES = Object.keys(FUNCTIONS) as FunctionName[];

/** The markers of README rows the stack does not set. */
const NOT_SET = /\*(not set by the stack|set by Lambda)\*/;

/** One variable of the README's configuration table. */
interface DocumentedVariable {
  name: string;
  /** The functions of the "used by" column (`all` is the four; `npm start` is none). */
  usedBy: FunctionName[];
  /** Marked *not set by the stack* or *set by Lambda*. */
  notSetByStack: boolean;
}

const usedByOf = (cell: string): FunctionName[] =>
  cell.trim() === 'all'
    ? NAMES
    : cell
        .split(',')
        .map((item) => item.trim())
        .filter((item): item is FunctionName => (NAMES as string[]).includes(item));

const readmeVariables = (readme: string): DocumentedVariable[] =>
  tableAfterHeading(readme, '## Configuration reference').flatMap((cells) =>
    codeSpans(cells[0] ?? '').map((name) => ({
      name,
      usedBy: usedByOf(cells[2] ?? ''),
      notSetByStack: NOT_SET.test(cells.join('|')),
    }))
  );

/** The names of serverless.yml's `params.default`. */
const stackParameters = (serverlessYml: string): string[] => [
  ...defaultStackParameters(serverlessYml).keys(),
];

const environmentNames = (packaged: PackagedService, name: FunctionName): string[] => {
  const properties = resourceOf(packaged.template, FUNCTIONS[name]).Properties as {
    Environment?: { Variables?: Record<string, unknown> };
  };
  return Object.keys(properties.Environment?.Variables ?? {}).sort();
};

let packaged: PackagedService;
let variables: DocumentedVariable[];
let readme: string;
let deployDoc: string;
let serverlessYml: string;

beforeAll(async () => {
  // Prepare: the default template and the three documents
  [packaged, readme, deployDoc, serverlessYml] = await Promise.all([
    packageService(),
    readFile(join(SERVICE_DIR, 'README.md'), 'utf8'),
    readFile(join(SERVICE_DIR, 'docs', 'deploy.md'), 'utf8'),
    readFile(join(SERVICE_DIR, 'serverless.yml'), 'utf8'),
  ]);
  variables = readmeVariables(readme);
}, 180_000);

afterAll(async () => {
  await packaged?.dispose();
});

describe("README's configuration table", () => {
  it('names each variable once, with the functions that read it or a marker', () => {
    // Assess
    const names = variables.map((variable) => variable.name);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    expect(names.filter((name) => !/^[A-Z][A-Z0-9_]*$/.test(name))).toEqual([]);
  });

  it.each(NAMES)('lists exactly the variables the stack sets for the %s', (name) => {
    // Act
    const documented = variables
      .filter((variable) => variable.usedBy.includes(name) && !variable.notSetByStack)
      .map((variable) => variable.name)
      .sort();
    // Assess
    const set = environmentNames(packaged, name);
    expect({
      setButNotDocumented: set.filter((variable) => !documented.includes(variable)),
      documentedButNotSet: documented.filter((variable) => !set.includes(variable)),
    }).toEqual({ setButNotDocumented: [], documentedButNotSet: [] });
  });

  it('documents every variable the template sets in any function', () => {
    // Assess
    const documented = new Set(variables.map((variable) => variable.name));
    const set = new Set(NAMES.flatMap((name) => environmentNames(packaged, name)));
    expect([...set].filter((name) => !documented.has(name))).toEqual([]);
  });

  it('marks as not set only variables the template indeed never sets', () => {
    // Assess
    const set = new Set(NAMES.flatMap((name) => environmentNames(packaged, name)));
    const marked = variables.filter((variable) => variable.notSetByStack);
    expect(marked.map((variable) => variable.name)).toEqual(
      expect.arrayContaining(['AWS_REGION', 'PREFECT_API_KEY', 'WEBHOOK_SECRET'])
    );
    expect(marked.filter((variable) => set.has(variable.name)).map((v) => v.name)).toEqual([]);
  });

  it('gives TEMPLATE_ENV_ALLOWLIST to the launcher from the templateEnvAllowlist parameter', () => {
    // Assess
    const launcher = resourceOf(packaged.template, FUNCTIONS.launcher).Properties as {
      Environment: { Variables: Record<string, unknown> };
    };
    expect(launcher.Environment.Variables.TEMPLATE_ENV_ALLOWLIST).toBe('');
    expect(stackParameters(serverlessYml)).toContain('templateEnvAllowlist');
  });
});

describe("docs/deploy.md's parameter table", () => {
  const documentedParameters = () =>
    tableAfterHeading(deployDoc, '### Parameters').flatMap((cells) => codeSpans(cells[0] ?? ''));

  it('lists every stack parameter of serverless.yml', () => {
    // Assess
    const parameters = stackParameters(serverlessYml);
    expect(parameters.length).toBeGreaterThan(20);
    expect(parameters.filter((name) => !documentedParameters().includes(name))).toEqual([]);
  });

  it('lists no parameter serverless.yml does not have, but the two required ones', () => {
    // Assess
    const parameters = new Set([...stackParameters(serverlessYml), 'prefectApiUrl', 'workPools']);
    expect(documentedParameters().filter((name) => !parameters.has(name))).toEqual([]);
  });
});
