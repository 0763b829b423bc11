/** The status page's style sheet (`<path>/assets/status.css`). */
export const STATUS_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
h2 { font-size: 1.1em; margin: 1.2em 0 .3em; }
h2 small { font-weight: normal; color: #666; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; font-weight: 600; }
td[data-f=inflight], td[data-f=requests], td[data-f=bytes], td[data-f=errors], td[data-f=retries],
td[data-f=failovers], td[data-f=repins], td[data-f=weight] { text-align: right; font-variant-numeric: tabular-nums; }
td.actions { white-space: nowrap; }
.muted { color: #666; }
.msg { padding: .3em .6em; border-radius: 3px; }
.msg.ok { background: #e3f6e3; }
.msg.error { background: #fbe3e3; }
.state-active, .health-ok, .good { background: #d8f5d8; }
.state-draining, .health-ejected, .warn { background: #fff0c2; }
.state-disabled { background: #f3e6c6; }
.state-standby { background: #dce9fb; }
.state-stopped, .health-stopped { background: #e2e2e2; }
.health-down, .bad { background: #f9d3d3; }
fieldset.token { border: 0; padding: 0; margin: .5em 0; }
#live.on { color: #176317; }
#live.off { color: #9b1c1c; }
`;

/**
 * The status page's script (`<path>/assets/status.js`): follows `<path>/ws` (a new snapshot on
 * every change and at least once a second) and sets the cells the server computed; fetches the
 * page again when members come or go; turns the form's buttons into JSON API calls with the
 * token typed in the form. Without it the page is a plain table and a plain form.
 */
export const STATUS_JS = `'use strict';
(function () {
  var prefix = document.body.getAttribute('data-prefix');
  var live = document.getElementById('live');
  var message = document.getElementById('message');
  var form = document.getElementById('manage');
  var refreshing = false;

  function say(kind, text) {
    message.hidden = false;
    message.className = 'msg ' + kind;
    message.textContent = text;
  }

  function rowKeys() {
    var keys = [];
    document.querySelectorAll('tr[data-key]').forEach(function (tr) { keys.push(tr.getAttribute('data-key')); });
    return keys;
  }

  function sameKeys(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function refreshStructure() {
    if (refreshing) return;
    refreshing = true;
    fetch(prefix, { cache: 'no-store' }).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var fresh = doc.getElementById('balancers');
      var old = document.getElementById('balancers');
      if (fresh && old) old.replaceWith(document.importNode(fresh, true));
    }).catch(function () {}).then(function () { refreshing = false; });
  }

  function apply(update) {
    document.getElementById('summary').textContent = update.summary;
    var wanted = [];
    update.status.balancers.forEach(function (b) {
      b.members.forEach(function (m) { wanted.push(b.name + '/' + m.route); });
    });
    if (!sameKeys(rowKeys(), wanted)) { refreshStructure(); return; }
    document.querySelectorAll('tr[data-key]').forEach(function (tr) {
      var cells = update.rows[tr.getAttribute('data-key')];
      if (!cells) return;
      var health = update.status.balancers.flatMap(function (b) { return b.members; })
        .find(function (m) { return m.balancer + '/' + m.route === tr.getAttribute('data-key'); });
      if (health) {
        tr.className = 'row-' + health.health;
        // The weight box follows the member's weight unless someone is typing in it.
        var box = form.elements.namedItem('weight|' + health.balancer + '|' + health.route);
        if (box && box !== document.activeElement && box.getAttribute('data-shown') !== String(health.weight)) {
          box.value = String(health.weight);
          box.setAttribute('data-shown', String(health.weight));
        }
      }
      var tds = tr.querySelectorAll('td[data-f]');
      for (var i = 0; i < tds.length && i < cells.length; i++) {
        var td = tds[i], c = cells[i];
        if (td.textContent !== c.text) td.textContent = c.text;
        var cls = c.cls || '';
        if (td.className !== cls) td.className = cls;
        if (c.title) td.title = c.title; else td.removeAttribute('title');
      }
    });
  }

  var delay = 500;
  function connect() {
    var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + prefix + '/ws');
    ws.onopen = function () {
      delay = 500;
      live.className = 'on';
      live.textContent = 'Live: updated as it changes (and every second).';
    };
    ws.onmessage = function (e) {
      try { apply(JSON.parse(e.data)); } catch (err) { /* a bad frame: wait for the next */ }
    };
    ws.onclose = function () {
      live.className = 'off';
      live.textContent = 'Disconnected: reconnecting…';
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  function call(method, url, body) {
    var token = (document.getElementById('token') || {}).value || '';
    var init = { method: method, headers: { Authorization: 'Bearer ' + token } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(prefix + url, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || ('HTTP ' + r.status));
        return j;
      });
    });
  }

  function field(name) {
    var el = form.elements.namedItem(name);
    return el ? el.value.trim() : '';
  }

  form.addEventListener('submit', function (e) {
    var op = e.submitter && e.submitter.value;
    if (!op || op === 'refresh') return;
    e.preventDefault();
    var parts = op.split('|');
    var action = parts[0], b = parts[1], route = parts[2];
    var member = '/api/balancers/' + encodeURIComponent(b) + '/members';
    var done;
    if (action === 'add') {
      var added = { url: field('add-url|' + b), route: field('add-route|' + b) };
      var w = field('add-weight|' + b);
      if (w !== '') added.weight = Number(w);
      done = call('POST', member, added).then(function () { return b + '/' + added.route + ' added'; });
    } else if (action === 'remove') {
      done = call('DELETE', member + '/' + encodeURIComponent(route)).then(function () { return b + '/' + route + ' removed'; });
    } else if (action === 'weight') {
      var weight = Number(field('weight|' + b + '|' + route));
      done = call('PATCH', member + '/' + encodeURIComponent(route), { weight: weight }).then(function () { return b + '/' + route + ': weight ' + weight; });
    } else {
      done = call('PATCH', member + '/' + encodeURIComponent(route), { state: action }).then(function () { return b + '/' + route + ': ' + action; });
    }
    done.then(function (text) { say('ok', text); }, function (err) { say('error', err.message); });
  });

  connect();
})();
`;
