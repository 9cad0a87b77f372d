/**
 * Galileo's XML form of the envelope: a `<response>` root with the same fields as the JSON.
 * A wrapped array is one element holding its items under the item name the spec gives
 * (`<errors><error>…</error></errors>`, `<response_data><new_account>…</new_account></response_data>`,
 * `<cip><aps>…</aps></cip>`); any other array repeats the element itself, OpenAPI's default.
 * null, "", {} and [] are empty elements (`<x/>`).
 */

export function envelopeToXml(envelope: object, itemNames: ReadonlyMap<string, string>): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + element('response', envelope, itemNames);
}

function element(name: string, value: unknown, itemNames: ReadonlyMap<string, string>): string {
  if (value === null || value === undefined || value === '') return `<${name}/>`;
  if (Array.isArray(value)) {
    if (value.length === 0) return `<${name}/>`;
    const itemName = itemNames.get(name);
    return itemName === undefined
      ? value.map((item) => element(name, item, itemNames)).join('')
      : `<${name}>${value.map((item) => element(itemName, item, itemNames)).join('')}</${name}>`;
  }
  if (typeof value === 'object') {
    const children = Object.entries(value as Record<string, unknown>).map(([key, child]) => element(key, child, itemNames));
    return children.length === 0 ? `<${name}/>` : `<${name}>${children.join('')}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}
