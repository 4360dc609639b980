/**
 * The CloudWatch embedded-metric-format documents a Powertools `Metrics` writes while a handler
 * runs. Powertools writes EMF with its own `Console` over `process.stdout` (not the global
 * `console`), so the capture spies on `process.stdout.write`; every other write passes through.
 */
import { vi } from 'vitest';

/** One EMF document, as CloudWatch reads it. */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** The service name the metric tests give `createMetrics` (as `POWERTOOLS_SERVICE_NAME`). */
export const TEST_SERVICE = 'prefect-ecs-serverless-test';
export const TEST_ENV = { POWERTOOLS_SERVICE_NAME: TEST_SERVICE };

/**
 * Runs `act` and returns its result with the EMF documents written meanwhile, in order.
 *
 * @example
 * const { documents } = await captureEmf(() => handler(event));
 */
export const captureEmf = async <T>(
  act: () => Promise<T>
): Promise<{ result: T; documents: EmfDocument[] }> => {
  const documents: EmfDocument[] = [];
  const original = process.stdout.write.bind(process.stdout);
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((
    chunk: unknown,
    ...rest: unknown[]
  ) => {
    const text = String(chunk);
    if (!text.includes('"_aws"'))
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    for (const line of text.split('\n')) {
      if (line.includes('"_aws"')) documents.push(JSON.parse(line) as EmfDocument);
    }
    return true;
  }) as typeof process.stdout.write);
  try {
    return { result: await act(), documents };
  } finally {
    spy.mockRestore();
  }
};

/** The metric names one document declares. */
export const metricNames = (document: EmfDocument | undefined): string[] =>
  document?._aws.CloudWatchMetrics.flatMap((set) => set.Metrics.map((metric) => metric.Name)) ?? [];
