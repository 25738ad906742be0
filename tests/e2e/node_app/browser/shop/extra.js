// Two functions only the second build has: they shift the minifier's short names, as a real release does.
export function formatPrice(cents) {
  return `${(cents / 100).toFixed(2)} EUR`;
}

export function discountOf(total, percent) {
  return Math.round(total * (100 - percent)) / 100;
}
