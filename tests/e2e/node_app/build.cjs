// Bundles browser/page.js and the `@sentry/browser` SDK into one script with esbuild.
//
// Usage: node build.cjs OUTFILE
//
// Packages are found in this folder's node_modules or, when the tests run from a copy of the repository
// without them, in the folders of NODE_PATH (which the test sets to `npm ci`'s node_modules).
'use strict';

const path = require('path');
const esbuild = require('esbuild');

esbuild.buildSync({
  entryPoints: [path.join(__dirname, 'browser', 'page.js')],
  bundle: true,
  format: 'iife',
  target: 'chrome110',
  outfile: process.argv[2],
  nodePaths: (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean),
  logLevel: 'warning',
});
