import { describe, expect, it } from 'vitest';
import { fail, pass, skip, warn } from '../../../../shared/doctor/check-result.ts';
import { formatCheck, formatReport } from '../../../../shared/doctor/format-report.ts';

describe('formatReport', () => {
  it('marks a warning with ! and its fix, keeps it passed, and counts it in the summary', () => {
    // Prepare
    const warning = warn("AWS credentials of 'ecs'", 'uses …\nignored: x', 'Remove x.');
    // Act
    const passedText = formatReport({ ok: true, checks: [pass('A', 'fine'), warning] });
    const failedText = formatReport({
      ok: false,
      checks: [warning, fail('B', 'broken', 'Fix B.'), skip('C', 'B failed')],
    });
    // Assess
    expect(formatCheck(warning)).toBe(
      "! AWS credentials of 'ecs': uses …\n    ignored: x\n    fix: Remove x."
    );
    expect(passedText).toBe(
      "✔ A: fine\n! AWS credentials of 'ecs': uses …\n    ignored: x\n    fix: Remove x.\n\nAll 2 checks passed (1 with a warning).\n"
    );
    expect(failedText).toContain('1 of 3 checks failed, 1 passed (1 with a warning), 1 skipped.');
  });

  it('shows no fix for a passed check without a warning', () => {
    // Act / Assess
    expect(formatCheck({ ...pass('A', 'fine'), fix: 'never shown' })).toBe('✔ A: fine');
  });
});
