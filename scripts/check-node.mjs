// Guard: every npm script must run on the Node 24 binary that the `node` devDependency installs.
// If `npm ci --ignore-scripts` skipped its preinstall, npm falls back to the system Node silently.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  console.error(
    `prefect-ecs-serverless needs Node 24 for its scripts (Lambda runs nodejs24.x), but got ${process.version}.\n` +
      'Fix: run `npm rebuild node` (or `npm ci` without --ignore-scripts) so node_modules/.bin/node is Node 24.'
  );
  process.exit(1);
}
