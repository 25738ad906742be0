// Bundles browser/shop/main.js with the `@sentry/browser` SDK into a minified script and its source map, as
// a site's build does. With `--extra` the bundle also keeps browser/shop/extra.js, whose two functions shift
// the minifier's short names: the same error must still land in the same issue.
//
// With `--plugin` the build uploads its maps itself through `@sentry/esbuild-plugin` (which drives sentry-cli's
// npm binary), as a site's build does: SENTRY_URL and SENTRY_AUTH_TOKEN name the server.
//
// Usage: node build_shop.cjs OUTDIR [--extra] [--plugin]   (writes OUTDIR/app.min.js and OUTDIR/app.min.js.map)
'use strict';

const path = require('path');
const esbuild = require('esbuild');

const outdir = process.argv[2];
const extra = process.argv.includes('--extra');
const plugins = [];
if (process.argv.includes('--plugin')) {
  const { sentryEsbuildPlugin } = require('@sentry/esbuild-plugin');
  plugins.push(sentryEsbuildPlugin({
    url: process.env.SENTRY_URL,
    authToken: process.env.SENTRY_AUTH_TOKEN,
    org: 'default',
    project: 'default',
    telemetry: false,
    release: { name: 'shop@1.0.0', inject: false },
    sourcemaps: { assets: [path.join(outdir, '*')] },
  }));
}
esbuild.build({
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
  plugins,
}).then(
  () => console.log(JSON.stringify({ outdir, extra, plugin: plugins.length > 0 })),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
