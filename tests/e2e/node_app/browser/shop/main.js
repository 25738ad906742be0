// The shop page's script, minified by build_shop.cjs with a source map: the official `@sentry/browser` SDK
// reports the error a checkout of an item without a price raises. The DSN comes from the query (`?dsn=…`);
// once Faultline answered, `#sent` says so and carries the event id.
import * as Sentry from '@sentry/browser';
import { totalOf } from './cart.js';
import * as extra from './extra.js';

const query = new URLSearchParams(window.location.search);
Sentry.init({ dsn: query.get('dsn'), release: 'shop@1.0.0', environment: 'e2e' });

const sent = document.getElementById('sent');
Sentry.getClient().on('afterSendEvent', (event, response) => {
  sent.dataset.eventId = event.event_id;
  sent.textContent = `sent ${event.exception ? 'error' : event.type} (${response.statusCode})`;
});

// Only in the second build (build_shop.cjs --extra): code the checkout never calls.
if (globalThis.WITH_EXTRA) {
  globalThis.shopExtras = extra;
}

function checkout(items) {
  return totalOf(items);
}

try {
  checkout([{ sku: 'book-7', quantity: 1 }]);
} catch (error) {
  Sentry.captureException(error);
}
