// Bundles browser/shop/main.js with the `@sentry/browser` SDK into a minified script and its source map, as
// a site's build does. With `--extra` the bundle also keeps browser/shop/extra.js, whose two functions shift
// the minifier's short names: the same error must still land in the same issue.
//
// Usage: node build_shop.cjs OUTDIR [--extra]   (writes OUTDIR/app.min.js and OUTDIR/app.min.js.map)
'use strict';

const path = require('path');
const esbuild = require('esbuild');

const outdir = process.argv[2];
const extra = process.argv.includes('--extra');
esbuild.buildSync({
  entryPoints: [path.join(__dirname, 'browser', 'shop', 'main.js')],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'iife',
  target: 'chrome110',
  define: { 'globalThis.WITH_EXTRA': extra ? 'true' : 'false' },
  outfile: path.join(outdir, 'app.min.js'),
  nodePaths: (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean),
  logLevel: 'warning',
});
console.log(JSON.stringify({ outdir, extra }));
