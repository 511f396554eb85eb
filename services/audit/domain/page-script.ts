/**
 * The auditor page's script (served as `/page/app.js`): small vanilla JavaScript, no build
 * step. It keeps the auditor's token in sessionStorage (this tab only), fetches the
 * server-rendered fragments with it, and wires the real buttons and forms the fragments
 * contain. Nothing is rendered here: the server escapes every value.
 */
export const PAGE_SCRIPT = String.raw`(() => {
  'use strict';
  const KEY = 'infoshare-auditor-token';
  const $ = (id) => document.getElementById(id);
  const token = () => sessionStorage.getItem(KEY) || '';
  let logQuery = '';

  async function get(path) {
    const res = await fetch(path, { headers: { Authorization: 'Bearer ' + token(), Accept: 'text/html, application/fhir+json' } });
    if (res.status === 401 || res.status === 403) {
      signOut(res.status === 401 ? 'The token was not accepted (expired or invalid): sign in again.' : 'This token does not carry the auditor scope (system/AuditEvent.read).');
      throw new Error('refused');
    }
    if (!res.ok) {
      let text = res.status + ' ' + res.statusText;
      try { const o = await res.json(); text = (o.issue && o.issue[0] && (o.issue[0].diagnostics || (o.issue[0].details && o.issue[0].details.text))) || text; } catch (e) { /* not JSON */ }
      throw new Error(text);
    }
    return res;
  }

  async function fill(target, path) {
    try {
      target.innerHTML = await (await get(path)).text();
    } catch (err) {
      if (err.message !== 'refused') target.innerHTML = '<p role="alert"></p>', target.firstChild.textContent = err.message;
    }
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    $('main').hidden = true;
    $('login').hidden = false;
    $('login-message').textContent = message || '';
    $('token').focus();
  }

  function start() {
    $('login').hidden = true;
    $('main').hidden = false;
    fill($('overview'), '/page/overview').then(() => { const first = document.querySelector('#overview [data-cell]'); if (first) first.focus(); });
    fill($('performance'), '/page/performance');
    searchLog('');
  }

  // A page of the log is named by the entry it continues from (the fragment's Older/Newer buttons carry
  // the search's _cursor, after:<id> or before:<id>), never by an offset from the top: the log grows at
  // the top while the auditor reads on, and an offset would show some entries twice and skip none.
  function searchLog(query, cursor) {
    logQuery = query;
    const params = new URLSearchParams(query);
    if (cursor) params.set('_cursor', cursor);
    return fill($('log-results'), '/page/log?' + params.toString());
  }

  function formQuery(form) {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (!value) continue;
      if (name === 'from') params.append('date', 'ge' + value);
      else if (name === 'until') params.append('date', 'le' + value);
      else params.append(name, value);
    }
    return params.toString();
  }

  async function download(path, filename) {
    try {
      const blob = await (await get(path)).blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (err) {
      if (err.message !== 'refused') alert(err.message);
    }
  }

  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $('token').value.trim());
    $('token').value = '';
    start();
  });
  $('sign-out').addEventListener('click', () => signOut('Signed out.'));
  $('refresh').addEventListener('click', start);
  $('log-form').addEventListener('submit', (event) => {
    event.preventDefault();
    searchLog(formQuery(event.target));
  });

  document.addEventListener('click', (event) => {
    const el = event.target.closest('[data-cell],[data-log-cursor],[data-search-criterion],[data-download],[data-export]');
    if (!el) return;
    if (el.dataset.cell) {
      const cell = $('cell');
      fill(cell, '/page/cell/' + encodeURIComponent(el.dataset.cell)).then(() => cell.focus());
    } else if (el.dataset.logCursor) {
      searchLog(logQuery, el.dataset.logCursor).then(() => { const t = $('log-table'); if (t) t.scrollIntoView(); });
    } else if (el.dataset.searchCriterion) {
      const form = $('log-form');
      form.reset();
      form.elements.criterion.value = el.dataset.searchCriterion;
      searchLog(formQuery(form)).then(() => $('log-heading').scrollIntoView());
      form.elements.criterion.focus();
    } else if (el.dataset.download) {
      event.preventDefault();
      const format = el.dataset.download;
      download('/evidence?format=' + format, 'maturity-evidence.' + (format === 'fhir' ? 'json' : format));
    } else if (el.dataset.export !== undefined) {
      event.preventDefault();
      download('/fhir/AuditEvent/$export?' + el.dataset.export, 'audit-events.ndjson');
    }
  });

  if (token()) start(); else $('token').focus();
})();
`;
