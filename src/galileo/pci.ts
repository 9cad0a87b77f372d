/**
 * What of Galileo's answer may be kept for replay (docs/contract.md, Idempotency): PCI data never
 * is. The spec's x-pci fields come back as null, except a card number already masked as Galileo
 * masks it (487093XXXXXX1264). JSON and XML alike, XML read with a real parser (attributes, CDATA,
 * character references, whitespace and case in tag names included). As the last line, an answer
 * that still holds a card number anywhere (a Luhn-valid 13 to 19 digits, whatever separates them)
 * is not kept at all: it is withheld, and a retry gets a problem instead of it.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { isXml } from '../media-type.js';
import { digitCount, digitGroups, isLuhnValid, isUuid } from '../sensitive-numbers.js';

export type Storable = { kind: 'response'; body: string } | { kind: 'withheld'; reason: string };

/** Galileo's masked PAN: a few leading digits, masking characters, the last four. */
const MASKED_PAN = /^[0-9]{0,6}[Xx*]{4,}[0-9]{0,4}$/;
/**
 * What Galileo always sends that is made of digit groups but is no card number: its timestamps
 * (system_timestamp) and UUIDs (rtoken, new_emboss_uuid), whose digits can line up across the
 * dashes into a Luhn-valid run by chance (about one rtoken in a hundred).
 */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;

/** What of an answer may be kept, given the spec's PCI fields (read once, at start-up). */
export function storableBody(pciFields: readonly string[]): (contentType: string, body: string) => Storable {
  const fields = new Set(pciFields.map((f) => f.toLowerCase()));
  return (contentType, body) => (isXml(contentType) ? fromXml(body, fields) : fromJson(body, fields));
}

/** A value that may stay in a PCI field: null, or (card_number only) an already masked PAN. */
function keeps(field: string, value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  return field === 'card_number' && typeof value === 'string' && value.length <= 19 && MASKED_PAN.test(value.trim());
}

function holdsCardNumber(value: string): boolean {
  if (digitCount(value) < 13) return false; // most values: too few digits to be a card number
  if (DATE_TIME.test(value.trim()) || isUuid(value.trim())) return false;
  return digitGroups(value).some(({ digits }) => digits.length >= 13 && digits.length <= 19 && isLuhnValid(digits));
}

function fromJson(body: string, fields: ReadonlySet<string>): Storable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'withheld', reason: 'not JSON' };
  }
  let changed = false;
  let card = false;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) {
      if ((typeof node === 'string' || typeof node === 'number') && holdsCardNumber(String(node))) card = true;
      return;
    }
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (holdsCardNumber(key)) card = true;
      const field = key.trim().toLowerCase();
      if (fields.has(field) && !keeps(field, value)) {
        record[key] = null;
        changed = true;
      } else {
        visit(value);
      }
    }
  };
  visit(parsed);
  if (card) return { kind: 'withheld', reason: 'a card number outside the PCI fields' };
  return { kind: 'response', body: changed ? JSON.stringify(parsed) : body };
}

const XML_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
  processEntities: true,
  htmlEntities: true,
} as const;
const parser = new XMLParser(XML_OPTIONS);
const builder = new XMLBuilder({ ...XML_OPTIONS, suppressEmptyNode: true });

/** One node of the parser's ordered tree: { name: children, ':@'?: attributes } or a text node. */
type XmlNode = Record<string, unknown>;

function fromXml(body: string, fields: ReadonlySet<string>): Storable {
  // Entity declarations could hide (or multiply) what the scan reads: not an answer to keep.
  if (/<!(?:DOCTYPE|ENTITY)/i.test(body)) return { kind: 'withheld', reason: 'XML with a DOCTYPE' };
  if (XMLValidator.validate(body) !== true) return { kind: 'withheld', reason: 'not well-formed XML' };
  const tree = parser.parse(body) as XmlNode[];
  let changed = false;
  let card = false;
  const textOf = (children: XmlNode[]): string =>
    children.map((c) => (typeof c['#text'] === 'string' ? c['#text'] : Array.isArray(c['#cdata']) ? textOf(c['#cdata'] as XmlNode[]) : '')).join('');
  const visit = (nodes: XmlNode[]): void => {
    for (const node of nodes) {
      for (const [name, value] of Object.entries(node)) {
        if (name === ':@') {
          for (const [attribute, text] of Object.entries(value as Record<string, string>)) {
            if (holdsCardNumber(attribute) || holdsCardNumber(String(text))) card = true;
          }
        } else if (name === '#text' || name === '#comment') {
          if (holdsCardNumber(String(value))) card = true;
        } else if (Array.isArray(value)) {
          if (holdsCardNumber(name)) card = true;
          const field = name.trim().toLowerCase();
          if (fields.has(field) && !keeps(field, textOf(value as XmlNode[]).trim()) ) {
            node[name] = [];
            delete node[':@'];
            changed = true;
          } else {
            visit(value as XmlNode[]);
          }
        }
      }
    }
  };
  visit(tree);
  if (card) return { kind: 'withheld', reason: 'a card number outside the PCI fields' };
  return { kind: 'response', body: changed ? (builder.build(tree) as string) : body };
}
