// Keeps the README true: every configuration key of the embedded schema is documented.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './harness.mjs';

test('README documents every config key of schemas/config/server.json', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/config/server.json'), 'utf8'));
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const missing = [];
    const walk = (node, prefix) => {
        for (const [k, v] of Object.entries(node.properties ?? {})) {
            const key = prefix ? `${prefix}.${k}` : k;
            if (v.type === 'object' && v.properties) walk(v, key);
            else if (key !== 'modules' && !readme.includes(`\`${key}\``)) missing.push(key);
        }
    };
    walk(schema, '');
    assert.deepEqual(missing, []);
});
