/**
 * Finding card numbers and SSNs in text a caller (or Galileo) controls, whatever separates their
 * digits: `4111111111111111`, `4111-1111-1111-1111`, `4111.1111.1111.1111`, `4111:1111...`,
 * `4111_1111...`, `4111/1111/...`, `123 45 6789`. A number is a group of digits in which each
 * run is joined to the next by at most three characters that are neither letters nor digits; a letter ends
 * the group, which is why an ordinary UUID is left alone (its hex letters cut its digits short).
 */

export interface DigitGroup {
  /** Offsets in the text: the group is text.slice(start, end). */
  start: number;
  end: number;
  /** Its digits, separators removed. */
  digits: string;
}

const GROUP = /[0-9](?:[^0-9A-Za-z\p{L}]{0,3}[0-9])*/gu;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A UUID's hex digits often line up across its dashes into nine or more (one random UUID in six):
 * an id of exactly this shape is an id, not a number someone typed.
 */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/** How many ASCII digits the text holds: fewer than a number has means no group can be one. */
export function digitCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) count++;
  }
  return count;
}

export function digitGroups(text: string): DigitGroup[] {
  return [...text.matchAll(GROUP)].map((m) => ({ start: m.index, end: m.index + m[0].length, digits: m[0].replace(/[^0-9]/g, '') }));
}

export function isLuhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** A PAN (13 to 19 digits passing the Luhn check) or an SSN (exactly 9 digits). */
export function isCardOrSsn(digits: string): boolean {
  return digits.length === 9 || (digits.length >= 13 && digits.length <= 19 && isLuhnValid(digits));
}

/** The text with each group that `sensitive` picks replaced by `******` and its last four digits. */
export function maskGroups(text: string, sensitive: (digits: string) => boolean): string {
  let masked = '';
  let at = 0;
  for (const group of digitGroups(text)) {
    if (!sensitive(group.digits)) continue;
    masked += `${text.slice(at, group.start)}******${group.digits.slice(-4)}`;
    at = group.end;
  }
  return at === 0 ? text : masked + text.slice(at);
}
