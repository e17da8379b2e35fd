// Happy Server admin console. No framework, no CDN: this file, console.css and index.html are embedded in the
// server binary. The admin token stays in sessionStorage (gone when the tab closes) and travels as a Bearer header.
'use strict';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'happy-admin-token';
let token = sessionStorage.getItem(TOKEN_KEY) || '';
let stream = null;        // AbortController of the live stream
let lastCounts = '';      // accounts/registrations are refetched when these change
let registrationMode = '';

// --- formatting -----------------------------------------------------------------------------------------------
function bytes(n) {
  if (n == null || n < 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
function ago(ms, now) {
  if (!ms) return 'never';
  const d = Math.max(0, now - ms);
  return d < 1000 ? 'just now' : `${duration(d)} ago`;
}
const num = (x, digits = 0) => (x == null ? '–' : Number(x).toFixed(digits));
const ms = (x) => (x == null ? '–' : x < 10 ? `${x.toFixed(2)} ms` : `${x.toFixed(0)} ms`);
const short = (id) => (id && id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id || '');

/** A table row from cells; a cell is text, a Node, or {text, cls, title}. */
function row(cells, attrs = {}) {
  const tr = document.createElement('tr');
  for (const [k, v] of Object.entries(attrs)) tr.setAttribute(k, v);
  for (const c of cells) {
    const td = document.createElement('td');
    if (c instanceof Node) td.append(c);
    else if (c && typeof c === 'object') {
      td.textContent = c.text ?? '';
      if (c.cls) td.className = c.cls;
      if (c.title) td.title = c.title;
    } else td.textContent = c ?? '';
    tr.append(td);
  }
  return tr;
}
function pill(text, kind) {
  const s = document.createElement('span');
  s.className = `pill ${kind}`;
  s.textContent = text;
  return s;
}
function fill(tbody, rows, cols, emptyText) {
  tbody.replaceChildren(...rows);
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = cols;
    td.className = 'empty';
    td.textContent = emptyText;
    tr.append(td);
    tbody.append(tr);
  }
}
function button(text, cls, onClick, testid) {
  const b = document.createElement('button');
  b.textContent = text;
  b.className = `small ${cls}`;
  if (testid) b.dataset.testid = testid;
  b.addEventListener('click', onClick);
  return b;
}

// --- API ------------------------------------------------------------------------------------------------------
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    cache: 'no-store',
  });
  let data = null;
  try { data = await res.json(); } catch { /* empty */ }
  if (res.status === 401) { signOut('The admin token was refused.'); throw new Error('unauthorized'); }
  if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
  return data;
}

// --- live status ----------------------------------------------------------------------------------------------
function render(s) {
  $('version').textContent = s.version;
  $('uptime').textContent = duration(s.uptimeMs);
  registrationMode = s.accounts.registrationMode;
  $('registration-mode').textContent = registrationMode;
  $('rss').textContent = bytes(s.process.rssBytes);
  $('cpu').textContent = `${num(s.process.cpuPercent, 1)}%`;
  $('cpu-total').textContent = `${num(s.process.cpuSeconds, 1)} s in total`;
  $('http-connections').textContent = s.connections.http;
  $('engineio').textContent = s.connections.engineio;
  $('sockets').textContent = s.connections.sockets;
  $('socket-types').textContent = Object.entries(s.clients.byType).map(([k, v]) => `${v} ${k}`).join(' · ') || 'none';
  $('accounts-total').textContent = s.accounts.total;
  $('accounts-disabled').textContent = s.accounts.disabled;
  $('accounts-pending').textContent = s.accounts.pendingRegistrations;
  $('sessions-active').textContent = s.sessions.active;
  $('sessions-total').textContent = s.sessions.total;
  $('machines-active').textContent = s.machines.active;
  $('machines-total').textContent = s.machines.total;
  $('rps').textContent = num(s.requests.perSecond, 1);
  $('errors').textContent = num(s.requests.errorsPerSecond, 2);
  $('p50').textContent = ms(s.requests.p50Ms);
  $('p95').textContent = ms(s.requests.p95Ms);
  $('p99').textContent = ms(s.requests.p99Ms);
  $('db-bytes').textContent = bytes(s.storage.databaseBytes);
  $('storage-kind').textContent = s.storage.kind;
  $('dir-bytes').textContent = bytes(s.storage.dataDirBytes);

  fill($('machines'), s.machines.recent.map((m) => row([
    { text: short(m.id), title: m.id },
    { text: short(m.accountId), title: m.accountId },
    pill(m.connected ? 'connected' : m.active ? 'online' : 'offline', m.connected || m.active ? 'ok' : 'idle'),
    ago(m.lastActiveAt, s.now),
    m.client || '–',
  ], { 'data-machine': m.id })), 5, 'No machines yet.');

  fill($('clients'), Object.entries(s.clients.byClient).map(([k, v]) => row([k, String(v)])), 2, 'No sockets connected.');

  fill($('jobs'), s.jobs.map((j) => row([
    j.name,
    { text: j.schedule, cls: 'muted' },
    j.lastStartAt ? ago(j.lastStartAt, s.now) : 'not yet',
    j.running ? pill('running', 'warn') : !j.lastStartAt ? '–' :
      j.lastOk ? pill(`ok · ${j.lastDurationMs} ms`, 'ok') : pill('failed', 'bad'),
    { text: `${j.runs}${j.failures ? ` (${j.failures} failed)` : ''}`, title: j.lastError || '' },
  ])), 5, 'No jobs.');

  const warnings = $('warnings');
  warnings.replaceChildren(...s.warnings.slice().reverse().map((w) => {
    const li = document.createElement('li');
    const lvl = document.createElement('span');
    lvl.className = `lvl-${w.level}`;
    lvl.textContent = w.level;
    const when = document.createElement('span');
    when.className = 'muted';
    when.textContent = ` ${new Date(w.at).toLocaleString()} `;
    const fields = document.createElement('code');
    fields.textContent = w.fields && Object.keys(w.fields).length ? ` ${JSON.stringify(w.fields)}` : '';
    li.append(lvl, when, document.createTextNode(w.message), fields);
    return li;
  }));
  if (!s.warnings.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'No warnings since the server started.';
    warnings.append(li);
  }

  // Accounts and registrations change rarely: refetched when their counts move (and every 30 s).
  const counts = JSON.stringify([s.accounts, s.clients.sockets, s.sessions.total, s.machines.total]);
  if (counts !== lastCounts) {
    lastCounts = counts;
    refreshLists();
  }
}

async function refreshLists() {
  try {
    const [acc, reg] = await Promise.all([api('GET', '/admin/api/accounts?limit=200'), api('GET', '/admin/api/registrations')]);
    renderAccounts(acc);
    renderRegistrations(reg);
  } catch (e) { console.warn(e); }
}

function renderAccounts(data) {
  fill($('accounts'), data.accounts.map((a) => {
    const disabled = a.disabledAt != null;
    const actions = document.createElement('div');
    actions.className = 'actions';
    actions.append(
      disabled
        ? button('Enable', 'secondary', () => accountAction(a.id, 'enable'), 'enable')
        : button('Disable', 'secondary', () => accountAction(a.id, 'disable'), 'disable'),
      button('Delete', 'danger', () => askDelete(a.id), 'delete'));
    return row([
      { text: short(a.id), title: a.id },
      { text: `${a.publicKey.slice(0, 12)}…`, title: a.publicKey },
      new Date(a.createdAt).toLocaleString(),
      String(a.sessions), String(a.machines), String(a.sockets),
      disabled ? pill('disabled', 'bad') : pill('active', 'ok'),
      actions,
    ], { 'data-account': a.id });
  }), 8, 'No accounts yet.');
}

function renderRegistrations(data) {
  $('registrations-note').textContent = data.mode === 'approval'
    ? 'New public keys wait here until approved; the key\'s next sign-in then creates its account.'
    : `Registration mode is "${data.mode}": keys are recorded here only in "approval" mode.`;
  fill($('registrations'), data.requests.map((r) => {
    const actions = document.createElement('div');
    actions.className = 'actions';
    if (r.approvedAt == null) actions.append(button('Approve', '', () => registrationAction(r.publicKey, true), 'approve'));
    actions.append(button('Reject', 'secondary', () => registrationAction(r.publicKey, false), 'reject'));
    return row([
      { text: `${r.publicKey.slice(0, 16)}…`, title: r.publicKey },
      new Date(r.createdAt).toLocaleString(),
      new Date(r.updatedAt).toLocaleString(),
      String(r.attempts),
      r.approvedAt == null ? pill('pending', 'warn') : pill('approved', 'ok'),
      actions,
    ], { 'data-registration': r.publicKey });
  }), 6, 'Nothing pending.');
}

async function accountAction(id, what) {
  try {
    await api('POST', `/admin/api/accounts/${encodeURIComponent(id)}/${what}`);
  } catch (e) { alert(`${what} failed: ${e.message}`); }
  refreshLists();
}

async function registrationAction(key, approve) {
  try {
    await api(approve ? 'POST' : 'DELETE', `/admin/api/registrations/${key}${approve ? '/approve' : ''}`);
  } catch (e) { alert(`${approve ? 'approve' : 'reject'} failed: ${e.message}`); }
  refreshLists();
}

function askDelete(id) {
  const dialog = $('confirm-delete');
  $('delete-id').textContent = id;
  $('delete-input').value = '';
  $('delete-error').textContent = '';
  $('delete-confirm').disabled = true;
  dialog.dataset.account = id;
  dialog.showModal();
  $('delete-input').focus();
}

async function confirmDelete(ev) {
  ev.preventDefault();
  const dialog = $('confirm-delete');
  const id = dialog.dataset.account;
  const typed = $('delete-input').value.trim();
  if (typed !== id) { $('delete-error').textContent = 'The id does not match.'; return; }
  try {
    await api('DELETE', `/admin/api/accounts/${encodeURIComponent(id)}`, { confirm: typed });
    dialog.close();
    refreshLists();
  } catch (e) { $('delete-error').textContent = e.message; }
}

/** Reads the Server-Sent Events stream with fetch (EventSource cannot send the Authorization header). */
async function live() {
  stream?.abort();
  const ctl = new AbortController();
  stream = ctl;
  let delay = 1000;
  while (!ctl.signal.aborted) {
    try {
      const res = await fetch('/admin/api/events', {
        headers: { authorization: `Bearer ${token}` }, signal: ctl.signal, cache: 'no-store',
      });
      if (res.status === 401) { signOut('The admin token was refused.'); return; }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      $('live').className = 'live on';
      delay = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) render(JSON.parse(data));
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
      console.warn('live stream:', e.message);
    }
    $('live').className = 'live off';
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

// --- sign-in --------------------------------------------------------------------------------------------------
function signOut(message) {
  stream?.abort();
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  $('console').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token').focus();
}

async function signIn(candidate) {
  const res = await fetch('/admin/api/status', { headers: { authorization: `Bearer ${candidate}` }, cache: 'no-store' });
  if (!res.ok) {
    let msg = `HTTP ${res.status}`;
    try { msg = (await res.json()).error || msg; } catch { /* empty */ }
    throw new Error(msg);
  }
  token = candidate;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('login').hidden = true;
  $('console').hidden = false;
  render(await res.json());
  live();
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('login-error').textContent = '';
    try { await signIn($('token').value.trim()); } catch (e) { $('login-error').textContent = e.message; }
  });
  $('logout').addEventListener('click', () => signOut());
  $('delete-input').addEventListener('input', () => {
    $('delete-confirm').disabled = $('delete-input').value.trim() !== $('confirm-delete').dataset.account;
  });
  $('delete-form').addEventListener('submit', (ev) => {
    if (ev.submitter && ev.submitter.value === 'cancel') { $('confirm-delete').close(); ev.preventDefault(); return; }
    confirmDelete(ev);
  });
  setInterval(() => { if (token) refreshLists(); }, 30000);
  if (token) signIn(token).catch(() => signOut()); else signOut();
});
