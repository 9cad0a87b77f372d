/**
 * A real OTLP/HTTP receiver for the tracing tests: a node http server on a free port that keeps
 * every export request's raw bytes (for the leak scan) and decodes it, protobuf with the OTLP
 * trace schema (protobufjs, the messages the exporter sends) or JSON, into one span shape.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const OTLP_TRACE_PROTO = `
syntax = "proto3";
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10; repeated Event events = 11;
  uint32 dropped_events_count = 12; repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15;
}
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
`;
const ExportRequest = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root.lookupType('ExportTraceServiceRequest');

/** OTLP's SpanKind numbers. */
export const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
export const STATUS_ERROR = 2;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status: { code: number; message: string };
  events: string[];
  resource: Record<string, string | number | boolean>;
}

interface ReceivedExport {
  contentType: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
}

export interface OtlpReceiver {
  url: string;
  exports: ReceivedExport[];
  spans(): ReceivedSpan[];
  /** Resolves once spans matching `match` have arrived (polls), with all spans so far. */
  waitFor(match: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

type Json = Record<string, any>;

const hex = (value: unknown): string => (value instanceof Uint8Array ? Buffer.from(value).toString('hex') : typeof value === 'string' ? value : '');

function anyValue(value: Json | undefined): string | number | boolean {
  if (value === undefined || value === null) return '';
  if ('stringValue' in value) return String(value.stringValue);
  if ('boolValue' in value) return Boolean(value.boolValue);
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return Number(value.doubleValue);
  return JSON.stringify(value);
}

function attributesOf(list: Json[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key as string, anyValue(kv.value as Json | undefined)]));
}

/** Both encodings decoded to the same plain object (camelCase fields, as OTLP/JSON has them). */
function decodeExport(contentType: string, raw: Buffer): ReceivedSpan[] {
  const message: Json = contentType.includes('json')
    ? (JSON.parse(raw.toString('utf8')) as Json)
    : ExportRequest.toObject(ExportRequest.decode(raw), { longs: String, defaults: false, oneofs: false });
  const spans: ReceivedSpan[] = [];
  for (const rs of (message.resourceSpans ?? []) as Json[]) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of (rs.scopeSpans ?? []) as Json[]) {
      for (const s of (ss.spans ?? []) as Json[]) {
        spans.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          traceState: String(s.traceState ?? ''),
          name: String(s.name),
          kind: Number(s.kind ?? 0),
          attributes: attributesOf(s.attributes),
          status: { code: Number(s.status?.code ?? 0), message: String(s.status?.message ?? '') },
          events: ((s.events ?? []) as Json[]).map((e) => String(e.name)),
          resource,
        });
      }
    }
  }
  return spans;
}

export async function startOtlpReceiver(options: { status?: number } = {}): Promise<OtlpReceiver> {
  const exports: ReceivedExport[] = [];
  const received: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const contentType = String(req.headers['content-type'] ?? '');
      exports.push({ contentType, path: req.url ?? '', headers: req.headers, raw });
      try {
        received.push(...decodeExport(contentType, raw));
      } catch (err) {
        received.push({ name: `undecodable: ${(err as Error).message}` } as ReceivedSpan);
      }
      const json = contentType.includes('json');
      res.writeHead(options.status ?? 200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    spans: () => [...received],
    async waitFor(match, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (!match(received)) {
        if (Date.now() > until) throw new Error(`spans not received in ${timeoutMs} ms; got: ${received.map((s) => s.name).join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return [...received];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
