#!/usr/bin/env node
// The `prefect-ecs-serverless` command (`npx prefect-ecs-serverless <command>` in this repository):
// registers tsx so Node runs the TypeScript sources as they are, then hands over to cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
