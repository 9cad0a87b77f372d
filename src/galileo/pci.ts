/**
 * PCI data is never stored for replay (docs/contract.md, Idempotency): the spec's x-pci response
 * fields come back as null, except a card number that is already masked (anything but digits, as
 * 487093XXXXXX1264). Works on JSON and XML bodies alike.
 */
export function stripPci(contentType: string, body: string, pciFields: readonly string[]): string {
  return /xml/i.test(contentType) ? stripXml(body, pciFields) : stripJson(body, pciFields);
}

const isUnmasked = (value: unknown) => typeof value === 'string' ? /^\d+$/.test(value) : typeof value === 'number';

function keep(field: string, value: unknown): boolean {
  return field === 'card_number' ? !isUnmasked(value) : value === null;
}

function stripJson(body: string, pciFields: readonly string[]): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body; // not JSON: not an envelope, never stored
  }
  let changed = false;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (pciFields.includes(key) && !keep(key, value)) {
        record[key] = null;
        changed = true;
      } else {
        visit(value);
      }
    }
  };
  visit(parsed);
  return changed ? JSON.stringify(parsed) : body;
}

function stripXml(body: string, pciFields: readonly string[]): string {
  let result = body;
  for (const field of pciFields) {
    const element = new RegExp(`<${field}>([^<]*)</${field}>`, 'g');
    result = result.replace(element, (whole, value: string) => (keep(field, value.trim()) ? whole : `<${field}/>`));
  }
  return result;
}
