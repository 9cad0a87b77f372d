/**
 * Finding card numbers and SSNs in text a caller (or Galileo) controls, however they are written.
 * The text is normalised first: NFKC (full-width and other compatibility digits become ASCII) and
 * every other decimal digit (Arabic-Indic, Devanagari, ...) becomes its ASCII digit. A number is
 * then a group of digits joined by any run of characters that are neither letters nor digits:
 * `4111111111111111`, `4111-1111-1111-1111`, `4111 -- 1111 -- 1111 -- 1111`, `123.45.6789`. A
 * letter ends the group, which is why an ordinary UUID is left alone (its hex letters cut its
 * digits short). A card number may sit anywhere inside a longer group (`4111111111111111-01`).
 */

export interface DigitGroup {
  /** Offsets in the normalised text: the group is normalised.slice(start, end). */
  start: number;
  end: number;
  /** Its digits, separators removed. */
  digits: string;
}

const GROUP = /[0-9](?:[^0-9\p{L}]*[0-9])*/gu;
const NON_ASCII = /[\u0080-\uffff]/;
const UNICODE_DIGIT = /\p{Nd}/gu;
const DECIMAL_DIGIT = /^\p{Nd}$/u;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A UUID's hex digits often line up across its dashes into nine or more (one random UUID in six):
 * an id of exactly this shape is an id, not a number someone typed.
 */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/**
 * The text with every decimal digit as an ASCII digit. Unicode's decimal digits come in runs of
 * ten code points, zero first (a few runs sit back to back), so a digit's value is its distance
 * from the start of its run, modulo ten.
 */
function normalised(text: string): string {
  if (!NON_ASCII.test(text)) return text;
  return text.normalize('NFKC').replace(UNICODE_DIGIT, (digit) => {
    const code = digit.codePointAt(0)!;
    if (code <= 57) return digit;
    let zero = code;
    while (DECIMAL_DIGIT.test(String.fromCodePoint(zero - 1))) zero--;
    return String((code - zero) % 10);
  });
}

/** How many decimal digits (any script) the text holds: fewer than a number has means no group can be one. */
export function digitCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) count++;
    else if (c > 127) return [...normalised(text).matchAll(/[0-9]/g)].length;
  }
  return count;
}

/** The digit groups of the (normalised) text. */
export function digitGroups(text: string): DigitGroup[] {
  return [...normalised(text).matchAll(GROUP)].map((m) => ({ start: m.index, end: m.index + m[0].length, digits: m[0].replace(/[^0-9]/g, '') }));
}

function isLuhnValid(digits: string): boolean {
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

/** A PAN anywhere inside the digits: some run of 13 to 19 of them passes the Luhn check. */
export function holdsPan(digits: string): boolean {
  for (let length = 13; length <= 19; length++) {
    for (let start = 0; start + length <= digits.length; start++) {
      if (isLuhnValid(digits.slice(start, start + length))) return true;
    }
  }
  return false;
}

/** True when some digit group of the text has at least `minDigits` digits (a UUID never has). */
export function holdsLongNumber(text: string, minDigits: number): boolean {
  if (digitCount(text) < minDigits || isUuid(text)) return false;
  return digitGroups(text).some((g) => g.digits.length >= minDigits);
}

/**
 * The text with each group of at least `minDigits` digits replaced by `******` and its last four
 * digits. A text with non-ASCII digits comes back normalised; a UUID comes back as it is.
 */
export function maskNumbers(text: string, minDigits: number): string {
  if (digitCount(text) < minDigits || isUuid(text)) return text;
  const plain = normalised(text);
  let masked = '';
  let at = 0;
  for (const group of digitGroups(plain)) {
    if (group.digits.length < minDigits) continue;
    masked += `${plain.slice(at, group.start)}******${group.digits.slice(-4)}`;
    at = group.end;
  }
  return at === 0 ? text : masked + plain.slice(at);
}
