/** Start-up warns when the gateway runs on a Node older than the one package.json requires. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { nodeVersionProblem, REQUIRED_NODE } from '../../src/diagnostics/node-version.js';

describe('the Node version check at start-up', () => {
  it('warns below 24.11, naming the running version and the one required', () => {
    for (const version of ['20.20.2', '22.21.0', '24.10.0', '18.0.0']) {
      const problem = nodeVersionProblem(version);
      assert.ok(problem !== undefined, version);
      assert.ok(problem.includes(`Node ${version}`), problem);
      assert.ok(problem.includes('Node 24 LTS (24.11 or later)'), problem);
    }
  });

  it('says nothing on 24.11 or later', () => {
    for (const version of ['24.11.0', '24.22.3', '25.0.0', '26.1.0']) assert.equal(nodeVersionProblem(version), undefined, version);
    assert.equal(nodeVersionProblem(process.versions.node), undefined, 'the tests run on the pinned Node');
  });

  it('requires what package.json engines says', () => {
    const engines = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines;
    assert.equal(engines.node, `>=${REQUIRED_NODE.major}.${REQUIRED_NODE.minor}`);
  });
});
