// The shop's cart: where the browser error of the source-map test comes from.
export function totalOf(items) {
  let total = 0;
  for (const item of items) {
    total += priceOf(item) * item.quantity;
  }
  return total;
}

function priceOf(item) {
  if (item.price === undefined) {
    throw new Error(`no price for ${item.sku}`);
  }
  return item.price;
}
