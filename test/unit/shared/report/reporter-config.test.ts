import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../shared/errors/config-error.ts';
import { loadReporterConfig } from '../../../../shared/report/reporter-config.ts';

describe('loadReporterConfig', () => {
  it.each([
    [{}, 200],
    [{ REPORTER_LOG_TAIL_LINES: '' }, 200],
    [{ REPORTER_LOG_TAIL_LINES: '500' }, 500],
    [{ REPORTER_LOG_TAIL_LINES: '0' }, 0],
  ])('%j → %i lines', (env, lines) => {
    // Act / Assess
    expect(loadReporterConfig(env)).toEqual({ logTailLines: lines });
  });

  it.each(['-1', '10001', '2.5', 'many'])('refuses REPORTER_LOG_TAIL_LINES=%s', (value) => {
    // Act / Assess
    expect(() => loadReporterConfig({ REPORTER_LOG_TAIL_LINES: value })).toThrow(ConfigError);
    expect(() => loadReporterConfig({ REPORTER_LOG_TAIL_LINES: value })).toThrow(
      /REPORTER_LOG_TAIL_LINES/
    );
  });
});
