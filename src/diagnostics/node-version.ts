/**
 * The runtime the gateway is built and tested on: Node 24 LTS, 24.11 or later (package.json
 * `engines`). `npm start` and `npx node` run the project's pinned node_modules/.bin/node; a bare
 * `node dist/src/main.js` runs whatever Node the shell finds, so start-up says when it is older.
 */
export const REQUIRED_NODE = { major: 24, minor: 11 };

/** The warning to log when `version` (as in process.versions.node) is older than REQUIRED_NODE. */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const { major: requiredMajor, minor: requiredMinor } = REQUIRED_NODE;
  if (major > requiredMajor || (major === requiredMajor && minor >= requiredMinor)) return undefined;
  return (
    `running on Node ${version}, but Node ${requiredMajor} LTS (${requiredMajor}.${requiredMinor} or later) is required: ` +
    'start it with npm start or npx node, which run the pinned Node of the project'
  );
}
