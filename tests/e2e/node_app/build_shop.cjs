// Bundles browser/shop/main.js with the `@sentry/browser` SDK into a minified script and its source map, as
// a site's build does. With `--extra` the bundle also keeps browser/shop/extra.js, whose two functions shift
// the minifier's short names: the same error must still land in the same issue.
//
// `--bundler` picks the bundler: esbuild (the default), vite (Rolldown, minified by Oxc) or webpack (production
// mode, minified by Terser). Each writes one classic script (an IIFE) that browser/shop/shop.html loads.
//
// With `--plugin` the build uploads its maps itself through the bundler's Sentry plugin
// (`@sentry/esbuild-plugin`, `@sentry/vite-plugin`, `@sentry/webpack-plugin`), as a site's build does:
// SENTRY_URL and SENTRY_AUTH_TOKEN name the server.
//
// Usage: node build_shop.cjs OUTDIR [--extra] [--plugin] [--bundler esbuild|vite|webpack]
//        (writes OUTDIR/app.min.js and OUTDIR/app.min.js.map)
'use strict';

const path = require('path');
const { pathToFileURL } = require('url');

const outdir = path.resolve(process.argv[2]);
const extra = process.argv.includes('--extra');
const plugin = process.argv.includes('--plugin');
const bundlerAt = process.argv.indexOf('--bundler');
const bundler = bundlerAt > 0 ? process.argv[bundlerAt + 1] : 'esbuild';
const entry = path.join(__dirname, 'browser', 'shop', 'main.js');
// The packages come from NODE_PATH (FAULTLINE_NODE_MODULES), not from a node_modules beside this file.
const nodePaths = (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean);
const withExtra = extra ? 'true' : 'false';

/** The options every Sentry bundler plugin takes alike. */
function sentryOptions() {
  return {
    url: process.env.SENTRY_URL,
    authToken: process.env.SENTRY_AUTH_TOKEN,
    org: 'default',
    project: 'default',
    telemetry: false,
    release: { name: 'shop@1.0.0', inject: false },
    sourcemaps: { assets: [path.join(outdir, '*')] },
  };
}

async function buildWithEsbuild() {
  const esbuild = require('esbuild');
  const plugins = plugin ? [require('@sentry/esbuild-plugin').sentryEsbuildPlugin(sentryOptions())] : [];
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'iife',
    target: 'chrome110',
    define: { 'globalThis.WITH_EXTRA': withExtra },
    outfile: path.join(outdir, 'app.min.js'),
    nodePaths,
    logLevel: 'warning',
    plugins,
  });
}

async function buildWithVite() {
  // Vite is an ES module; resolved through NODE_PATH like the rest.
  const vite = await import(pathToFileURL(require.resolve('vite')).href);
  const plugins = plugin ? [require('@sentry/vite-plugin').sentryVitePlugin(sentryOptions())] : [];
  await vite.build({
    configFile: false,
    root: path.dirname(entry),
    logLevel: 'warn',
    define: { 'globalThis.WITH_EXTRA': withExtra },
    // Vite resolves bare imports from the importer's folders only, so the SDK is named by its folder.
    resolve: { alias: { '@sentry/browser': path.dirname(require.resolve('@sentry/browser/package.json')) } },
    plugins,
    build: {
      outDir: outdir,
      emptyOutDir: false,
      copyPublicDir: false,
      sourcemap: true,
      minify: true,
      target: 'chrome110',
      rolldownOptions: {
        input: entry,
        output: { format: 'iife', entryFileNames: 'app.min.js' },
      },
    },
  });
}

async function buildWithWebpack() {
  const webpack = require('webpack');
  const plugins = [new webpack.DefinePlugin({ 'globalThis.WITH_EXTRA': withExtra })];
  if (plugin) {
    plugins.push(require('@sentry/webpack-plugin').sentryWebpackPlugin(sentryOptions()));
  }
  const stats = await new Promise((resolve, reject) => {
    webpack({
      mode: 'production',
      context: __dirname,
      entry,
      devtool: 'source-map',
      target: ['web', 'es2020'],
      output: { path: outdir, filename: 'app.min.js', iife: true },
      resolve: { modules: ['node_modules', ...nodePaths] },
      plugins,
    }, (error, result) => (error ? reject(error) : resolve(result)));
  });
  if (stats.hasErrors()) {
    throw new Error(stats.toString('errors-only'));
  }
}

const builders = { esbuild: buildWithEsbuild, vite: buildWithVite, webpack: buildWithWebpack };
if (!builders[bundler]) {
  console.error(`unknown bundler ${bundler}: esbuild, vite or webpack`);
  process.exit(2);
}
builders[bundler]().then(
  () => console.log(JSON.stringify({ outdir, extra, plugin, bundler })),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
