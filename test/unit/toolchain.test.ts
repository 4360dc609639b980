import { describe, expect, it } from 'vitest';

describe('toolchain', () => {
  it('runs the tests on Node 24, the Lambda runtime (nodejs24.x)', () => {
    // Prepare / Act
    const major = Number(process.versions.node.split('.')[0]);
    // Assess
    expect(major).toBe(24);
  });
});
