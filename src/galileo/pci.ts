/**
 * What of Galileo's answer may be kept for replay (docs/contract.md, Idempotency): PCI data never
 * is. The spec's x-pci fields come back as null, except a card number already masked as Galileo
 * masks it (487093XXXXXX1264). JSON and XML alike, XML read with a real parser (attributes, CDATA,
 * character references, whitespace and case in tag names included). As the last line, the bytes
 * that would be kept are scanned once more, token by token: an answer that still holds a card
 * number anywhere (13 to 19 digits passing the Luhn check, in any script, whatever separates them,
 * also inside a longer number) is not kept at all: it is withheld, and a retry gets a problem.
 * So is an answer the scan cannot vouch for: too large or too deep, a duplicated JSON member (the
 * parsed copy would not be what is stored), XML comments, processing instructions, a DOCTYPE or
 * mixed content. A scan that fails for any reason withholds too, never lets the call be repeated.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { isXml } from '../media-type.js';
import { digitCount, digitGroups, holdsPan, isUuid } from '../sensitive-numbers.js';

export type Storable = { kind: 'response'; body: string } | { kind: 'withheld'; reason: string };

/** Galileo's answers to these operations are a few KiB: anything far larger is not scanned. */
const MAX_SCANNED_CHARS = 256 * 1024;
const MAX_DEPTH = 64;

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
  return (contentType, body) => {
    if (body.length > MAX_SCANNED_CHARS) return withheld(`larger than ${MAX_SCANNED_CHARS} characters, not scanned`);
    try {
      return isXml(contentType) ? fromXml(body, fields) : fromJson(body, fields);
    } catch (err) {
      return withheld(`the scan failed (${(err as Error)?.name ?? 'error'})`);
    }
  };
}

function withheld(reason: string): Storable {
  return { kind: 'withheld', reason };
}

/** A value that may stay in a PCI field: null, or (card_number only) an already masked PAN. */
function keeps(field: string, value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  return field === 'card_number' && typeof value === 'string' && value.length <= 19 && MASKED_PAN.test(value.trim());
}

function holdsCardNumber(value: string): boolean {
  if (digitCount(value) < 13) return false; // most values: too few digits to be a card number
  if (DATE_TIME.test(value.trim()) || isUuid(value.trim())) return false;
  return digitGroups(value).some(({ digits }) => digits.length >= 13 && holdsPan(digits));
}

const CARD_OUTSIDE = 'a card number outside the PCI fields';

function fromJson(body: string, fields: ReadonlySet<string>): Storable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return withheld('not JSON');
  }
  const shape = scanJson(body, () => false);
  if (shape) return withheld(shape);
  let changed = false;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const field = key.trim().toLowerCase();
      if (fields.has(field) && !keeps(field, record[key])) {
        record[key] = null;
        changed = true;
      } else {
        visit(record[key]);
      }
    }
  };
  visit(parsed);
  const kept = changed ? JSON.stringify(parsed) : body;
  // The last line reads the bytes that are kept, numbers as written (a 19-digit number is not a double).
  return scanJson(kept, holdsCardNumber) ? withheld(CARD_OUTSIDE) : { kind: 'response', body: kept };
}

/**
 * One pass over valid JSON text: every member name and string (decoded) and every number (as
 * written) goes through `refuses`. Returns why the text cannot be kept, or undefined.
 */
function scanJson(text: string, refuses: (token: string) => boolean): string | undefined {
  const stack: Array<Set<string> | undefined> = []; // an object's member names so far; undefined: an array
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const value = JSON.parse(text.slice(i, end + 1)) as string;
      if (expectName) {
        const names = stack.at(-1)!;
        if (names.has(value)) return 'a duplicated JSON member';
        names.add(value);
        expectName = false;
      }
      if (refuses(value)) return CARD_OUTSIDE;
      i = end;
    } else if (c === '{' || c === '[') {
      if (stack.length >= MAX_DEPTH) return `nested deeper than ${MAX_DEPTH}`;
      stack.push(c === '{' ? new Set() : undefined);
      expectName = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectName = stack.at(-1) !== undefined;
    } else if (c === '-' || (c! >= '0' && c! <= '9')) {
      let end = i + 1;
      while (end < text.length && /[0-9eE+\-.]/.test(text[end]!)) end++;
      if (refuses(text.slice(i, end))) return CARD_OUTSIDE;
      i = end - 1;
    }
  }
  return undefined;
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

/** Markup that hides text from a reader of elements: comments, DOCTYPE/ENTITY, any <? but the declaration. */
const HIDDEN_MARKUP = /<!--|<!(?!\[CDATA\[)|<\?(?!xml[\s?])|(?<!^\s*)<\?xml/i;

/** The tree of the text, or why it cannot be kept. */
function xmlTree(text: string): XmlNode[] | string {
  if (HIDDEN_MARKUP.test(text)) return 'XML with comments, processing instructions or a DOCTYPE';
  if (XMLValidator.validate(text) !== true) return 'not well-formed XML';
  return parser.parse(text) as XmlNode[];
}

/** An element's text: its text and CDATA children joined (a number split across them is one number). */
function textOf(children: XmlNode[]): string {
  return children.map((c) => (typeof c['#text'] === 'string' ? c['#text'] : Array.isArray(c['#cdata']) ? textOf(c['#cdata'] as XmlNode[]) : '')).join('');
}

function isElement(node: XmlNode): boolean {
  return Object.keys(node).some((name) => name !== ':@' && name !== '#text' && name !== '#cdata');
}

/** Every name, attribute and element text of the tree through `refuses`; why it cannot be kept, or undefined. */
function scanXml(nodes: XmlNode[], refuses: (token: string) => boolean, depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH}`;
  const elements = nodes.filter(isElement);
  if (depth > 0 && elements.length > 0 && textOf(nodes).trim() !== '') return 'XML with mixed content';
  if (refuses(textOf(nodes))) return CARD_OUTSIDE;
  for (const node of elements) {
    for (const [name, value] of Object.entries(node)) {
      if (name === ':@') {
        for (const [attribute, text] of Object.entries(value as Record<string, string>)) {
          if (refuses(attribute) || refuses(String(text))) return CARD_OUTSIDE;
        }
      } else if (Array.isArray(value)) {
        if (refuses(name)) return CARD_OUTSIDE;
        const found = scanXml(value as XmlNode[], refuses, depth + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function fromXml(body: string, fields: ReadonlySet<string>): Storable {
  const tree = xmlTree(body);
  if (typeof tree === 'string') return withheld(tree);
  const shape = scanXml(tree, () => false);
  if (shape) return withheld(shape);
  let changed = false;
  const visit = (nodes: XmlNode[]): void => {
    for (const node of nodes) {
      for (const [name, value] of Object.entries(node)) {
        if (name === ':@' || !Array.isArray(value)) continue;
        const field = name.trim().toLowerCase();
        if (fields.has(field) && !keeps(field, textOf(value as XmlNode[]).trim())) {
          node[name] = [];
          delete node[':@'];
          changed = true;
        } else {
          visit(value as XmlNode[]);
        }
      }
    }
  };
  visit(tree);
  if (!changed) return scanXml(tree, holdsCardNumber) ? withheld(CARD_OUTSIDE) : { kind: 'response', body };
  // The last line reads what is kept: the rebuilt text, parsed again.
  const kept = builder.build(tree) as string;
  const keptTree = xmlTree(kept);
  if (typeof keptTree === 'string') return withheld(keptTree);
  return scanXml(keptTree, holdsCardNumber) ? withheld(CARD_OUTSIDE) : { kind: 'response', body: kept };
}
