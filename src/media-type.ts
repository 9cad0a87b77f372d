/**
 * A Content-Type header read with a real parser (the `content-type` package, the one Express and
 * body-parser use, so the gateway and its body parsers read a header the same way): never a
 * regular expression, which a quoted parameter walks around (`x="a;charset=utf-8"; charset=latin1`
 * once passed a regular-expression charset check as UTF-8).
 */
import { parse } from 'content-type';

export interface MediaType {
  /** Lower case, without parameters: `application/json`. */
  type: string;
  /** The charset parameter, lower case, if there is one. */
  charset: string | undefined;
}

/** The header's media type, or undefined when it is absent or not a valid Content-Type. */
export function mediaType(header: string | undefined): MediaType | undefined {
  if (header === undefined) return undefined;
  try {
    const { type, parameters } = parse(header);
    return { type, charset: parameters.charset?.toLowerCase() };
  } catch {
    return undefined;
  }
}

/** XML by its media type: `application/xml`, `text/xml`, or any `+xml` type. */
export function isXml(header: string | undefined): boolean {
  const type = mediaType(header)?.type;
  return type !== undefined && (type.endsWith('/xml') || type.endsWith('+xml'));
}
