/** PAN/PRN helpers: Luhn check digit, masking as Galileo does for non-PCI providers. */

export function luhnCheckDigit(payload: string): string {
  let sum = 0;
  // Walking from the right, every second digit (starting with the one next to the check digit) doubles.
  for (let i = 0; i < payload.length; i++) {
    let digit = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

export function isLuhnValid(pan: string): boolean {
  return /^\d{2,19}$/.test(pan) && luhnCheckDigit(pan.slice(0, -1)) === pan.slice(-1);
}

/** 487093XXXXXX1264: BIN and last four kept, as in Galileo's masked card_number. */
export function maskPan(pan: string): string {
  return pan.slice(0, 6) + 'X'.repeat(Math.max(0, pan.length - 10)) + pan.slice(-4);
}
