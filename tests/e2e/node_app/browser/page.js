// The storefront page's script: the official `@sentry/browser` SDK with `browserTracingIntegration`, which
// sends a `pageload` transaction with the page's web vitals as measurements (fcp, fp, ttfb, lcp, cls when the
// browser reports them). Bundled by build.cjs; the DSN comes from the page's query string (`?dsn=…`).
//
// The pageload span ends on its own once the page has been idle for a second (the SDK's idle timeout), and the
// SDK then sends it. When Faultline has answered, the `afterSendEvent` hook writes what was sent into
// `#sent`: the test waits for that element instead of guessing a delay, so nothing depends on the page being
// hidden or unloaded (where browsers send vitals on their own schedule).
import * as Sentry from '@sentry/browser';

const dsn = new URLSearchParams(window.location.search).get('dsn');
Sentry.init({
  dsn,
  release: 'storefront@1.0.0',
  environment: 'e2e',
  integrations: [Sentry.browserTracingIntegration()],
  tracesSampleRate: 1.0,
});

const sent = document.getElementById('sent');
Sentry.getClient().on('afterSendEvent', (event, response) => {
  if (event.type !== 'transaction') return;
  sent.dataset.traceId = event.contexts.trace.trace_id;
  const vitals = Object.keys(event.measurements || {}).sort().join(' ');
  sent.textContent = `sent ${event.contexts.trace.op} ${event.transaction} (${response.statusCode}): ${vitals}`;
});

// `?report=1`: an error the user reports through Sentry's crash-report dialog (showReportDialog), as a site
// does after a failure; the test fills in the dialog that Faultline serves.
if (new URLSearchParams(window.location.search).get('report')) {
  const eventId = Sentry.captureException(new Error('Checkout failed'));
  sent.dataset.eventId = eventId;
  Sentry.showReportDialog({ eventId, user: { name: 'Ann Reader', email: 'ann@example.com' } });
}
