// A throw-away certificate authority for the TLS tests, made with the openssl tool: a root CA, an intermediate CA
// under it, and leaf certificates for localhost / 127.0.0.1 signed by the intermediate. A server's certificate file
// is the leaf followed by the intermediate (a chain, as certbot's fullchain.pem); clients trust the root only
// (NODE_EXTRA_CA_CERTS=<dir>/root.pem, or `ca` in-process).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

export class TestCa {
    /** Creates the root and intermediate CAs in `dir` (valid for 3 days). */
    constructor(dir) {
        this.dir = dir;
        this.openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', 'root.key', '-out', 'root.pem', '-days', '3', '-subj', '/CN=Happy Test Root CA',
            '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
        this.openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'inter.key',
            '-out', 'inter.csr', '-subj', '/CN=Happy Test Intermediate CA');
        fs.writeFileSync(path.join(dir, 'inter.ext'),
            'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
        this.openssl('x509', '-req', '-in', 'inter.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial',
            '-out', 'inter.pem', '-days', '3', '-extfile', 'inter.ext');
    }

    openssl(...args) {
        const r = spawnSync('openssl', args, { cwd: this.dir, encoding: 'utf8' });
        assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
    }

    /** The root certificate's path (what clients trust). */
    get rootFile() { return path.join(this.dir, 'root.pem'); }
    get rootPem() { return fs.readFileSync(this.rootFile); }

    /**
     * A leaf for localhost and 127.0.0.1 with the subject CN=`name`, valid `days` days from now (-1: expired).
     * Returns {cert, key}: the chain file (leaf + intermediate) and the key file.
     */
    leaf(name, { days = 30 } = {}) {
        this.openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
            '-out', `${name}.csr`, '-subj', `/CN=${name}`);
        fs.writeFileSync(path.join(this.dir, `${name}.ext`),
            'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
        this.openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'inter.pem', '-CAkey', 'inter.key', '-CAcreateserial',
            '-out', `${name}.leaf.pem`, '-days', String(days), '-extfile', `${name}.ext`);
        const chain = fs.readFileSync(path.join(this.dir, `${name}.leaf.pem`), 'utf8') +
            fs.readFileSync(path.join(this.dir, 'inter.pem'), 'utf8');
        fs.writeFileSync(path.join(this.dir, `${name}.pem`), chain);
        return { cert: path.join(this.dir, `${name}.pem`), key: path.join(this.dir, `${name}.key`) };
    }
}
