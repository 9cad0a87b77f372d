/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went during the load window:
 * self time by area (a package, a src/ or generated/ file, node internals, GC) and by function,
 * and inclusive time of the gateway's own functions and the packages they call.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  windowMs: number;
  /** Share of the window per area, busy time only ((idle) excluded from the percentages' base). */
  busyMs: number;
  idleMs: number;
  areas: Array<{ area: string; selfMs: number; pctOfBusy: number }>;
  /** The areas rolled up: our own code, the generated client, libraries, Node itself, the engine. */
  kinds: Array<{ kind: string; selfMs: number; pctOfBusy: number }>;
  topSelf: Array<{ fn: string; area: string; selfMs: number; pctOfBusy: number }>;
  inclusive: Array<{ fn: string; area: string; totalMs: number; pctOfBusy: number }>;
}

function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (idle), (program)
    return 'native';
  }
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const local = /\/(src|generated|scripts)\/(.*)$/.exec(url);
  if (local) return `${local[1]}/${local[2]}`;
  return url;
}

function kindOf(area: string): string {
  if (area.startsWith('src/')) return 'ours (src/)';
  if (area.startsWith('generated/')) return 'generated client (generated/)';
  if (area.startsWith('node:')) return 'Node.js internals (node:*)';
  if (area.startsWith('(') || area === 'native') return 'engine: native code, GC, (program)';
  if (area.startsWith('scripts/')) return 'ours (scripts/)';
  return 'libraries (node_modules)';
}

function label(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'}:${frame.lineNumber + 1}`;
}

/** `lastMs`: only the samples of the last lastMs of the profile (the load window). */
export function summariseProfile(path: string, lastMs: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Self time per node, for samples inside the window.
  const self = new Map<number, number>();
  let t = profile.startTime;
  const from = profile.endTime - lastMs * 1000;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from) continue;
    const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + delta);
  }

  const areas = new Map<string, number>();
  const fns = new Map<string, { area: string; ms: number }>();
  const inclusive = new Map<string, { area: string; ms: number }>();
  let idleMs = 0;
  let totalMs = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    const a = area(node.callFrame);
    totalMs += ms;
    if (a === '(idle)') {
      idleMs += ms;
      continue;
    }
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const key = `${label(node.callFrame)} [${a}]`;
    const entry = fns.get(key) ?? { area: a, ms: 0 };
    entry.ms += ms;
    fns.set(key, entry);
    // Inclusive: this sample counts once for every distinct function (and package) on its stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      const fa = area(frame);
      if (fa.startsWith('(')) continue;
      for (const k of [`${label(frame)} [${fa}]`, `[${fa}] (whole area)`]) {
        if (seen.has(k)) continue;
        seen.add(k);
        const e = inclusive.get(k) ?? { area: fa, ms: 0 };
        e.ms += ms;
        inclusive.set(k, e);
      }
    }
  }
  const busyMs = totalMs - idleMs;
  const pct = (ms: number) => Math.round((1000 * ms) / busyMs) / 10;
  return {
    windowMs: Math.round(totalMs),
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleMs),
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([a, ms]) => ({ area: a, selfMs: Math.round(ms), pctOfBusy: pct(ms) })),
    kinds: [...[...areas].reduce((kinds, [a, ms]) => kinds.set(kindOf(a), (kinds.get(kindOf(a)) ?? 0) + ms), new Map<string, number>())]
      .sort((a, b) => b[1] - a[1])
      .map(([kind, ms]) => ({ kind, selfMs: Math.round(ms), pctOfBusy: pct(ms) })),
    topSelf: [...fns]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 40)
      .map(([fn, e]) => ({ fn, area: e.area, selfMs: Math.round(e.ms), pctOfBusy: pct(e.ms) })),
    inclusive: [...inclusive]
      .filter(([, e]) => e.ms >= busyMs * 0.01)
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 120)
      .map(([fn, e]) => ({ fn, area: e.area, totalMs: Math.round(e.ms), pctOfBusy: pct(e.ms) })),
  };
}

export function profileMarkdown(title: string, s: ProfileSummary, rps: number, cpuMsPerRequest: number): string {
  // Self time per request in µs: the profile's share of busy time applied to the measured CPU.
  const us = (ms: number) => ((1000 * cpuMsPerRequest * ms) / s.busyMs).toFixed(1);
  const lines = [
    `# ${title}`,
    '',
    `Window ${s.windowMs} ms, busy ${s.busyMs} ms (${Math.round((100 * s.busyMs) / s.windowMs)}% of one core), idle ${s.idleMs} ms; ${Math.round(rps)} req/s, ` +
      `${cpuMsPerRequest.toFixed(3)} ms of CPU per request (/proc, under the profiler). µs/req below: each share of busy time applied to that CPU time.`,
    'The sampling profiler counts time spent blocked in a system call (`writev` below: sending on a socket, often descheduled on a busy 2-core machine) as busy time; /proc counts CPU only.',
    '',
    '## Self time by kind',
    '',
    '| kind | self ms | % | µs/req |',
    '|---|---:|---:|---:|',
    ...s.kinds.map((k) => `| ${k.kind} | ${k.selfMs} | ${k.pctOfBusy} | ${us(k.selfMs)} |`),
    '',
    '## Self time by library and by module (% of busy time)',
    '',
    '| area | self ms | % | µs/req |',
    '|---|---:|---:|---:|',
    ...s.areas.slice(0, 40).map((a) => `| ${a.area} | ${a.selfMs} | ${a.pctOfBusy} | ${us(a.selfMs)} |`),
    '',
    '## Top functions by self time',
    '',
    '| function [area] | self ms | % |',
    '|---|---:|---:|',
    ...s.topSelf.map((f) => `| ${f.fn.replaceAll('|', '\\|')} | ${f.selfMs} | ${f.pctOfBusy} |`),
    '',
    '## Inclusive time (≥ 1% of busy time)',
    '',
    '| function [area] | total ms | % |',
    '|---|---:|---:|',
    ...s.inclusive.map((f) => `| ${f.fn.replaceAll('|', '\\|')} | ${f.totalMs} | ${f.pctOfBusy} |`),
    '',
  ];
  return lines.join('\n');
}
