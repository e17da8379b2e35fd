// Keeps README.md and deploy/config.example.json true to the binary: the key list comes from what the binary
// accepts (`happy-server --print-config-schema`, which includes the module settings defined in C++ and the
// environment variable of each key), and is compared both ways with the README's tables.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, SERVER_BIN, cleanEnv } from './harness.mjs';

const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

function printedSchema() {
    const r = spawnSync(SERVER_BIN, ['--print-config-schema'], { env: cleanEnv(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
}
const schema = printedSchema();

/** Every leaf key of the schema: [{key, node}], e.g. {key: 'modules.push.expo_url', node: {type, default, ...}}. */
function leaves(node, prefix = '') {
    const out = [];
    for (const [k, v] of Object.entries(node.properties ?? {})) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (v.type === 'object' && v.properties) out.push(...leaves(v, key));
        else out.push({ key, node: v });
    }
    return out;
}
const schemaLeaves = leaves(schema);
const moduleNames = Object.keys(schema.properties.modules.properties);
const jobNames = Object.keys(schema.properties.jobs.properties);

/** The README table whose header row starts with `| <first> |`: its body rows as arrays of trimmed cells. */
function table(first) {
    const lines = readme.split('\n');
    const start = lines.findIndex((l) => l.startsWith(`| ${first} |`));
    assert.ok(start >= 0, `README table "${first}"`);
    const rows = [];
    for (const l of lines.slice(start + 2)) {
        if (!l.startsWith('|')) break;
        rows.push(l.split('|').slice(1, -1).map((c) => c.trim()));
    }
    return rows;
}
const ticks = (cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/** The README's generic rows stand for every module or job: `modules.<name>.enabled`, `jobs.<name>.schedule`. */
const generic = (key) => key.replace(/^modules\.[^.]+\.enabled$/, 'modules.<name>.enabled')
    .replace(/^jobs\.[^.]+\.(schedule|enabled)$/, 'jobs.<name>.$1');

const configRows = table('Key').map((cells) => ({ key: ticks(cells[0])[0], cells }));

test('README documents every key the binary accepts (module settings defined in C++ included)', () => {
    const documented = new Set(configRows.map((r) => r.key));
    const missing = schemaLeaves.map((l) => generic(l.key)).filter((k) => !documented.has(k));
    assert.deepEqual([...new Set(missing)], []);
});

test('every key of the README table is one the binary accepts, with the default the binary uses', () => {
    const byKey = new Map(schemaLeaves.map((l) => [l.key, l.node]));
    const generics = new Set(schemaLeaves.map((l) => generic(l.key)));
    for (const { key, cells } of configRows) {
        if (key.includes('<name>')) {
            assert.ok(generics.has(key), `README key ${key} matches no key of the binary`);
            continue;
        }
        assert.ok(byKey.has(key), `README key ${key} is not accepted by the binary`);
        const documentedDefault = JSON.parse(ticks(cells[2])[0]);
        assert.deepEqual(documentedDefault, byKey.get(key).default, `default of ${key}`);
    }
    // `modules.<name>.enabled`: true unless the row names the exceptions, e.g. "`true` (`dev`: `false`)".
    const row = configRows.find((r) => r.key === 'modules.<name>.enabled');
    const exceptions = Object.fromEntries([...row.cells[2].matchAll(/`(\w+)`: `(true|false)`/g)].map((m) => [m[1], m[2] === 'true']));
    for (const m of moduleNames) {
        assert.equal(schema.properties.modules.properties[m].properties.enabled.default, exceptions[m] ?? true, `modules.${m}.enabled`);
    }
});

test('the environment-variable table lists exactly the variables the binary reads', () => {
    // One variable may set several keys (DATABASE_URL: storage.kind and storage.postgres.url): listed once.
    const fromSchema = [...new Set(schemaLeaves.filter((l) => l.node.env).map((l) => l.node.env))].sort();
    const documented = table('Environment variable').flatMap((cells) => ticks(cells[0]))
        .filter((t) => /^[A-Z][A-Z0-9_]+$/.test(t)).sort();
    assert.deepEqual(documented, fromSchema);
    assert.ok(fromSchema.includes('METRICS_ENABLED') && fromSchema.includes('METRICS_PORT'));
});

test('the scheduled-jobs table lists exactly the binary\'s jobs with their default schedules', () => {
    const documented = Object.fromEntries(table('Job').map((cells) => [ticks(cells[0])[0], ticks(cells[1])[0]]));
    const actual = Object.fromEntries(jobNames.map((j) => [j, schema.properties.jobs.properties[j].properties.schedule.default]));
    assert.deepEqual(documented, actual);
});

test('the module list and every module count in the README match the binary and HAPPY_ALL_MODULES', () => {
    const cmake = fs.readFileSync(path.join(REPO_ROOT, 'CMakeLists.txt'), 'utf8');
    const all = /set\(HAPPY_ALL_MODULES([^)]*)\)/.exec(cmake)[1].trim().split(/\s+/);
    assert.deepEqual(moduleNames, all, 'the binary under test is built with every module, in start order');
    const paragraph = readme.slice(readme.indexOf('Modules compiled in:'));
    const listed = [...paragraph.slice(0, paragraph.indexOf("\n\n")).matchAll(/`([a-z_]+)`\s+\(/g)].map((m) => m[1]);
    assert.deepEqual(listed, all);
    const counts = [...readme.matchAll(/\ball (\d+) modules\b/g)].map((m) => Number(m[1]));
    assert.ok(counts.length > 0, 'the README states the module count somewhere');
    for (const n of counts) assert.equal(n, all.length, `"all ${n} modules"`);
});

test('deploy/config.example.json: accepted by --check-config, and every value in it is the default', () => {
    const file = path.join(REPO_ROOT, 'deploy/config.example.json');
    const r = spawnSync(SERVER_BIN, ['--check-config', '--config', file], { env: cleanEnv(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // The file uses whole-line comments and trailing commas (both accepted by the server's parser).
    const text = fs.readFileSync(file, 'utf8').split('\n').filter((l) => !l.trim().startsWith('//')).join('\n')
        .replace(/,(\s*[}\]])/g, '$1');
    const example = JSON.parse(text);
    const byKey = new Map(schemaLeaves.map((l) => [l.key, l.node]));
    const walk = (obj, prefix) => {
        for (const [k, v] of Object.entries(obj)) {
            const key = prefix ? `${prefix}.${k}` : k;
            if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, key);
            else assert.deepEqual(v, byKey.get(key)?.default, `${key} in config.example.json`);
        }
    };
    walk(example, '');
});

test('every row of the benchmark table names the committed results it is read from', () => {
    const rows = table('What');
    assert.ok(rows.length > 10);
    const resolve = (obj, key) => key.split(/\.|(?=\[)/).reduce((v, part) => {
        const index = /^\[(\d+)\]$/.exec(part);
        return v === undefined ? undefined : index ? v[Number(index[1])] : v[part];
    }, obj);
    for (const cells of rows) {
        // A cell names one or more results files, each followed by the keys read from it.
        const [first, ...rest] = ticks(cells[2]);
        assert.match(first ?? '', /\.json$/, `row "${cells[0]}" names no results file`);
        const groups = [{ file: first, keys: [] }];
        for (const tick of rest) {
            if (/\.json$/.test(tick)) groups.push({ file: tick, keys: [] });
            else groups.at(-1).keys.push(tick);
        }
        for (const { file, keys } of groups) {
            const results = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'bench/results', file), 'utf8'));
            assert.ok(keys.length > 0, `row "${cells[0]}" names no key of ${file}`);
            for (const key of keys) assert.notEqual(resolve(results, key), undefined, `${file} has no ${key}`);
            // Measured from a commit (the file says which), not a hand-edited figure.
            assert.match(results.source?.commit ?? '', /^[0-9a-f]{40}$/, `${file} records no source commit`);
        }
    }
});
