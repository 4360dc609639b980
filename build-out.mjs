import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const plugins = require(process.cwd()+'/infra/esbuild-plugins.cjs');
const [entry, out] = process.argv.slice(2);
const r = await esbuild.build({ entryPoints:[entry], bundle:true, minify:true, target:'node24', platform:'node', format:'esm', mainFields:['module','main'], outfile: out, plugins: plugins.filter(p => p.name !== 'own-code-source-maps'), banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" }, absWorkingDir:process.cwd()});
