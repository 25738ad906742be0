// A Node job traced by the official `@sentry/node` SDK, for tests/integration/e2e_javascript.rs.
//
// Usage: node invoice_batch.cjs --dsn DSN --runs N
// With SENTRY_NODE_PACKAGE=@sentry/node-11 it runs on version 11 (an npm alias in package.json), which streams
// the spans as `span` items instead of sending a transaction.
//
// Runs the job N times, each a root span in a new trace (a transaction named `invoice-batch`, op `queue.task`)
// with nested child spans: a query, and the rendering with a template span inside it. The last run's rendering
// fails: the TypeError is captured inside the rendering span (so the error carries that span's trace) and
// rethrown, which marks both spans failed. Then the SDK is flushed, which waits for Faultline's answers.
// Prints one JSON line: {"traces": [trace id per run], "error": {"event_id", "trace_id"}, "flushed": bool, "sdk"},
// and exits non-zero when no error was captured or the flush timed out.
'use strict';

const Sentry = require(process.env.SENTRY_NODE_PACKAGE || '@sentry/node');

function parseArgs(argv) {
  const args = { dsn: '', runs: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--dsn') args.dsn = argv[i + 1];
    else if (argv[i] === '--runs') args.runs = Number(argv[i + 1]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The bug: an empty batch has no first line.
function pricePerLine(lines) {
  return lines[0].cents / lines.length;
}

async function renderInvoices(batch, failing) {
  await Sentry.startSpan({ name: 'invoice.html', op: 'template.render' }, () => sleep(5));
  try {
    return pricePerLine(failing ? [] : batch);
  } catch (error) {
    const eventId = Sentry.captureException(error);
    throw Object.assign(error, { eventId });
  }
}

// A job is not part of a request, so each run starts a trace of its own (as a queue consumer would).
async function runBatch(failing) {
  return Sentry.startNewTrace(() => Sentry.startSpan({ name: 'invoice-batch', op: 'queue.task' }, async (root) => {
    const traceId = root.spanContext().traceId;
    await Sentry.startSpan({ name: 'SELECT * FROM customers WHERE due < $1', op: 'db.query' }, () => sleep(15));
    try {
      await Sentry.startSpan({ name: 'render invoices', op: 'function' }, () =>
        renderInvoices([{ cents: 1200 }, { cents: 800 }], failing),
      );
    } catch (error) {
      error.traceId = traceId;
      throw error;
    }
    return traceId;
  }));
}

async function main() {
  const { dsn, runs } = parseArgs(process.argv.slice(2));
  Sentry.init({ dsn, tracesSampleRate: 1.0, release: 'invoicer@1.0.0', environment: 'e2e' });
  const traces = [];
  let error = null;
  for (let run = 1; run <= runs; run += 1) {
    try {
      traces.push(await runBatch(run === runs));
    } catch (failed) {
      traces.push(failed.traceId);
      error = { event_id: failed.eventId, trace_id: failed.traceId };
    }
  }
  const flushed = await Sentry.flush(10000);
  console.log(JSON.stringify({ traces, error, flushed, sdk: Sentry.SDK_VERSION }));
  process.exitCode = flushed && error && error.event_id ? 0 : 1;
}

main();
