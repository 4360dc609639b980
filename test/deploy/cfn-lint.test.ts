/**
 * cfn-lint, the linter AWS maintains for CloudFormation, over the template of every parameter set
 * a user would really deploy (deploy-matrix.ts): zero errors, and only the warnings listed below,
 * each with the reason it cannot be fixed in the template. A new warning fails the test. The
 * member-account templates users deploy themselves (infra/member-account/*.yml) are linted in the
 * same run and must show no finding at all.
 *
 * Needs `cfn-lint` on PATH (`pip install cfn-lint`; CI has it). Without it the test is skipped and
 * says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CfnLintFinding, cfnLintVersion, runCfnLint } from './cfn-lint.ts';
import type { CfnTemplate } from './cfn-template.ts';
import { DEPLOY_MATRIX } from './deploy-matrix.ts';
import { MEMBER_TEMPLATES, memberTemplatePath } from './member-templates.ts';
import {
  type MatrixEntry,
  type PackagedEntry,
  type PackagedMatrix,
  packageMatrix,
} from './package-matrix.ts';

const CFN_LINT = cfnLintVersion();
if (CFN_LINT === undefined) {
  console.warn(
    'cfn-lint is not on PATH: test/deploy/cfn-lint.test.ts is SKIPPED (pip install cfn-lint to run it)'
  );
}

/**
 * A condition decided by `osls package` from the parameters (infra/conditions.yml): an
 * `Fn::Equals` of two literal strings, which CloudFormation will find equal or not whatever the
 * stack. Returns that outcome, or `undefined` for a condition of another shape.
 */
const packageTimeCondition = (template: CfnTemplate, name: string): boolean | undefined => {
  const condition = template.Conditions?.[name] as { 'Fn::Equals'?: unknown[] } | undefined;
  const operands = condition?.['Fn::Equals'];
  if (!Array.isArray(operands) || !operands.every((operand) => typeof operand === 'string')) {
    return undefined;
  }
  return operands[0] === operands[1];
};

/** A warning the project accepts, and why. */
interface AcceptedWarning {
  rule: string;
  path: RegExp;
  reason: string;
  /** A further check on the finding in its template. */
  holds?: (finding: CfnLintFinding, template: CfnTemplate) => boolean;
}

const ACCEPTED_WARNINGS: readonly AcceptedWarning[] = [
  {
    rule: 'W1001',
    path: /^(Resources|Outputs)\//,
    reason:
      'a Ref/GetAtt to a resource whose condition osls decided at package time: infra/parameters.cjs ' +
      'emits the reference only when the resource is created, so the condition is always true here; ' +
      'cfn-lint cannot know that. Accepted only when the named condition is such a constant and true.',
    holds: (finding, template) => {
      const named = /when condition '(\w+)' is False/.exec(finding.message)?.[1];
      return named !== undefined && packageTimeCondition(template, named) === true;
    },
  },
  {
    rule: 'W8003',
    path: /^Conditions\/\w+$/,
    reason:
      'the conditions compare two strings osls wrote at package time (infra/conditions.yml): they are ' +
      'constant by design, CloudFormation only uses them to keep or drop resources.',
    holds: (finding, template) =>
      packageTimeCondition(template, finding.path.slice('Conditions/'.length)) !== undefined,
  },
  {
    rule: 'W3005',
    path: /^Resources\/(\w+LambdaFunction\/DependsOn\/\d+|HttpApiStage\/DependsOn|HttpApiRoutePostTrigger\/DependsOn)$/,
    reason:
      'DependsOn that osls itself generates (function → its role, HTTP API stage → access-log group, ' +
      'route → integration) next to a Ref/GetAtt of the same resource: redundant, harmless, not ours.',
  },
];

const acceptance = (finding: CfnLintFinding, template: CfnTemplate) =>
  ACCEPTED_WARNINGS.find(
    (accepted) =>
      accepted.rule === finding.rule &&
      accepted.path.test(finding.path) &&
      (accepted.holds?.(finding, template) ?? true)
  );

/** The default parameters again, packaged from the first entry's zips like every other entry. */
const DEFAULT_PREBUILT: MatrixEntry = { name: 'default-prebuilt' };

const describeFinding = (entry: PackagedEntry, finding: CfnLintFinding) =>
  `${entry.entry.name}: ${finding.rule} at ${finding.path}: ${finding.message}`;

describe.skipIf(CFN_LINT === undefined)(
  `cfn-lint (${CFN_LINT ?? 'not installed: skipped'})`,
  () => {
    let matrix: PackagedMatrix;
    const findings = new Map<PackagedEntry, CfnLintFinding[]>();
    let all: CfnLintFinding[];

    beforeAll(async () => {
      // Prepare: package every parameter set, lint all templates and the member templates at once
      matrix = await packageMatrix([...DEPLOY_MATRIX, DEFAULT_PREBUILT]);
      all = await runCfnLint([
        ...matrix.entries.map((entry) => entry.templatePath),
        ...MEMBER_TEMPLATES.map(memberTemplatePath),
      ]);
      for (const entry of matrix.entries) {
        findings.set(
          entry,
          all.filter((finding) => finding.file === entry.templatePath)
        );
      }
    }, 300_000);

    afterAll(async () => {
      await matrix?.dispose();
    });

    it('packages every parameter set of the matrix', () => {
      // Assess
      expect(matrix.entries.map((entry) => entry.entry.name)).toEqual(
        [...DEPLOY_MATRIX, DEFAULT_PREBUILT].map((entry) => entry.name)
      );
    });

    it('reads every template: each finding is of one, and each has findings', () => {
      // Assess: every template has package-time conditions (W8003), so none is silent unread
      const templates = [
        ...matrix.entries.map((entry) => entry.templatePath),
        ...MEMBER_TEMPLATES.map(memberTemplatePath),
      ];
      expect(all.filter((finding) => !templates.includes(finding.file))).toEqual([]);
      expect(
        matrix.entries.filter((entry) => findings.get(entry)?.length === 0).map((e) => e.entry.name)
      ).toEqual([]);
    });

    it('reports no error for any parameter set', () => {
      // Assess
      const errors = matrix.entries.flatMap((entry) =>
        (findings.get(entry) ?? [])
          .filter((finding) => finding.level === 'Error')
          .map((finding) => describeFinding(entry, finding))
      );
      expect(errors).toEqual([]);
    });

    it('reports only the warnings listed here with their reason', () => {
      // Assess
      const unlisted = matrix.entries.flatMap((entry) =>
        (findings.get(entry) ?? [])
          .filter((finding) => finding.level !== 'Error')
          .filter((finding) => acceptance(finding, entry.template) === undefined)
          .map((finding) => describeFinding(entry, finding))
      );
      expect(unlisted).toEqual([]);
    });

    it('lists no warning that no template shows any more', () => {
      // Assess
      const seen = new Set(
        matrix.entries.flatMap((entry) =>
          (findings.get(entry) ?? []).map((finding) => acceptance(finding, entry.template))
        )
      );
      expect(
        ACCEPTED_WARNINGS.filter((accepted) => !seen.has(accepted)).map((a) => a.rule)
      ).toEqual([]);
    });

    it('reports nothing for the member-account templates (no error, no warning)', () => {
      // Assess: their conditions depend on their parameters, so not even W8003 applies
      const paths = MEMBER_TEMPLATES.map(memberTemplatePath);
      expect(
        all
          .filter((finding) => paths.includes(finding.file))
          .map(
            (finding) => `${finding.file}: ${finding.rule} at ${finding.path}: ${finding.message}`
          )
      ).toEqual([]);
    });

    it('lints what a full build writes: the prebuilt shortcut changes only the code keys', () => {
      // Prepare
      const withoutCodeKeys = (template: CfnTemplate | undefined) =>
        JSON.parse(JSON.stringify(template).replace(/"S3Key":"[^"]*"/g, '"S3Key":""'));
      const built = matrix.entries.find((entry) => entry.entry === DEPLOY_MATRIX[0]);
      const prebuilt = matrix.entries.find((entry) => entry.entry === DEFAULT_PREBUILT);
      // Assess
      expect(built?.entry.params).toBeUndefined();
      expect(withoutCodeKeys(prebuilt?.template)).toEqual(withoutCodeKeys(built?.template));
      expect(JSON.stringify(prebuilt?.template)).toMatch(/"S3Key":"[^"]+\/poller\.zip"/);
    });
  }
);
