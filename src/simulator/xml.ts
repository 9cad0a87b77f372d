/**
 * Galileo's XML form of the envelope: a `<response>` root with the same fields as the JSON.
 * Arrays are repeated child elements: `errors` is wrapped (`<errors><error>…</error></errors>`, as the
 * spec's `xml.wrapped` says); other arrays (createAccount's response_data) repeat the element itself,
 * OpenAPI's default for unwrapped arrays. null, "", {} and [] are empty elements (`<x/>`).
 */

const WRAPPED_ITEM_NAMES: Record<string, string> = { errors: 'error' };

export function envelopeToXml(envelope: object): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + element('response', envelope);
}

function element(name: string, value: unknown): string {
  if (value === null || value === undefined || value === '') return `<${name}/>`;
  if (Array.isArray(value)) {
    if (value.length === 0) return `<${name}/>`;
    const itemName = WRAPPED_ITEM_NAMES[name];
    return itemName === undefined
      ? value.map((item) => element(name, item)).join('')
      : `<${name}>${value.map((item) => element(itemName, item)).join('')}</${name}>`;
  }
  if (typeof value === 'object') {
    const children = Object.entries(value as Record<string, unknown>).map(([key, child]) => element(key, child));
    return children.length === 0 ? `<${name}/>` : `<${name}>${children.join('')}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}
