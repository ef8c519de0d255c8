// The dashboard's pages: each fetches its figures from /api/ and draws them; Server-Sent Events
// from the daemon's bus refresh them in place (never a full-page reload). No framework, no build
// step, no CDN. Text from the journal is only ever set as textContent (it may hold anything).
(() => {
  'use strict';

  const body = document.body;
  const page = body.dataset.page;
  const readOnly = body.dataset.readOnly === 'true';
  const controlEnabled = body.dataset.controlEnabled === 'true';
  const liveFeed = body.dataset.liveFeed === 'true';
  const TOKEN_KEY = 'dashboard.token';
  const charts = {};
  if (window.Chart) {
    Chart.defaults.animation = false; // redraws in place on every live update
    Chart.defaults.maintainAspectRatio = false;
  }

  // ------------------------------------------------------------------------------ small helpers
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('data-')) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function setText(id, value, cls) {
    const node = $(id);
    if (!node) return;
    node.textContent = value;
    if (cls !== undefined) node.className = node.className.replace(/\b(gain|loss)\b/g, '').trim() + (cls ? ' ' + cls : '');
  }

  function fill(id, rows, empty, columns) {
    const tbody = $(id);
    if (!tbody) return;
    tbody.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colSpan: columns || 12, class: 'text-body-secondary', text: empty }))]));
  }

  const num = (value) => (value === null || value === undefined ? null : Number(value));

  function money(value, signed) {
    const n = num(value);
    if (n === null || Number.isNaN(n)) return '–';
    const text = n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return signed && n > 0 ? '+' + text : text;
  }

  function price(value) {
    const n = num(value);
    if (n === null) return '–';
    return n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 });
  }

  function quantity(value) {
    const n = num(value);
    return n === null ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 8 });
  }

  function percent(value, digits) {
    return value === null || value === undefined ? '–' : (value * 100).toFixed(digits === undefined ? 1 : digits) + ' %';
  }

  function when(iso) {
    if (!iso) return '–';
    const moment = new Date(iso);
    return moment.toLocaleString('en-GB', { day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  const signClass = (value) => (num(value) > 0 ? 'gain' : num(value) < 0 ? 'loss' : '');
  const badge = (text, tone) => el('span', { class: `badge text-bg-${tone}`, text });
  const cell = (content, cls) => el('td', { class: cls }, content);
  const moneyCell = (value) => el('td', { class: `text-end ${signClass(value)}`, text: money(value, true) });

  function flash(tone, message) {
    const box = $('flash');
    if (!box) return;
    box.replaceChildren(el('div', { class: `alert alert-${tone} alert-dismissible py-2`, role: 'alert' },
      el('span', { text: message }),
      el('button', { type: 'button', class: 'btn-close', 'data-bs-dismiss': 'alert', ariaLabel: 'Close' })));
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
    return data;
  }

  function chart(id, config) {
    const canvas = $(id);
    if (!canvas || !window.Chart) return null;
    const existing = charts[id];
    if (existing) {
      existing.data = config.data;
      existing.update('none');
      return existing;
    }
    charts[id] = new Chart(canvas, config);
    return charts[id];
  }

  const lineOptions = (yFormat) => ({
    responsive: true,
    plugins: { legend: { display: false } },
    elements: { point: { radius: 0 } },
    scales: { x: { ticks: { maxTicksLimit: 8, autoSkip: true } }, y: { ticks: { callback: yFormat } } },
  });

  // ------------------------------------------------------------------------------ control (levers)
  function cookie(name) {
    const found = document.cookie.split('; ').find((part) => part.startsWith(name + '='));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : '';
  }

  async function csrfToken() {
    let token = cookie('dashboard_csrf');
    if (!token) token = (await getJson('/api/session')).csrf_token;
    return token;
  }

  async function pull(path, label) {
    const headers = { 'Content-Type': 'application/json', 'X-CSRF-Token': await csrfToken() };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    const response = await fetch(path, {
      method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify({ reason: `${label} from the dashboard` }),
    });
    const data = await response.json().catch(() => ({}));
    if (response.ok) flash('success', data.message || `${label}: done`);
    else flash('danger', `${label} refused (${response.status}): ${data.error || response.statusText}`);
    refresh();
  }

  document.addEventListener('click', (event) => {
    const button = event.target.closest('[data-lever]');
    if (!button || button.disabled) return;
    event.preventDefault();
    pull(button.dataset.lever, button.dataset.label || button.textContent.trim());
  });

  function setupTokenForm() {
    const form = $('token-form');
    if (!form) return;
    const state = () => setText('token-state', sessionStorage.getItem(TOKEN_KEY) ? 'A token is stored for this tab.' : 'No token stored.');
    state();
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('token-input').value.trim();
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      $('token-input').value = '';
      state();
      const modal = window.bootstrap && bootstrap.Modal.getInstance($('token-modal'));
      if (modal) modal.hide();
      flash('info', 'Token stored for this tab.');
    });
    $('token-clear').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); state(); });
  }

  // ------------------------------------------------------------------------------ overview
  async function loadOverview() {
    const data = await getJson('/api/overview');
    const trading = data.trading;
    const tone = trading.state === 'active' ? 'success' : trading.state === 'reducing' ? 'warning' : 'danger';
    $('trading-state').replaceChildren(badge(trading.state, tone));
    setText('trading-detail', `${trading.running_bots} running, ${trading.paused_bots} paused of ${trading.bots}` +
      (trading.reason ? ` · ${trading.reason}` : ''));
    setText('equity', money(data.equity.value));
    setText('equity-at', `${data.source} · ${when(data.equity.at)}`);
    setText('pnl-today', money(data.pnl.today, true), signClass(data.pnl.today));
    setText('pnl-today-detail', `realized ${money(data.pnl.realized_today, true)} · ${data.pnl.trades_today} trades`);
    setText('pnl-total', money(data.pnl.total ?? data.pnl.realized_total, true), signClass(data.pnl.total ?? data.pnl.realized_total));
    setText('pnl-total-detail', `realized ${money(data.pnl.realized_total, true)} · unrealized ${money(data.pnl.unrealized, true)}`);
    setText('open-positions', `${data.positions.open} / ${data.positions.max}`);
    setText('modes', Object.entries(data.modes).map(([mode, count]) => `${count} ${mode}`).join(' · ') || 'no bots');
    setText('exposure', `${money(data.exposure.gross)} / ${money(data.exposure.cap)}`);
    const bar = $('exposure-bar');
    const used = Math.min(1, data.exposure.used || 0);
    bar.style.width = `${(used * 100).toFixed(1)}%`;
    bar.className = `progress-bar ${used >= 1 ? 'bg-danger' : used >= 0.8 ? 'bg-warning' : ''}`;
    const loss = data.daily_loss;
    const lossUsed = Math.min(1, loss.used || 0);
    chart('daily-loss-gauge', {
      type: 'doughnut',
      data: { labels: ['used', 'left'], datasets: [{ data: [lossUsed, 1 - lossUsed], backgroundColor: [lossUsed >= 0.8 ? '#dc3545' : '#fd7e14', '#e9ecef'], borderWidth: 0 }] },
      options: { rotation: -90, circumference: 180, cutout: '70%', plugins: { legend: { display: false }, tooltip: { enabled: false } } },
    });
    setText('daily-loss-text', `${money(loss.pnl_today, true)} of −${money(loss.limit)} limit (${percent(loss.used, 0)})` +
      (loss.halted ? ' · HALTED' : ''));
    const points = data.equity_today;
    chart('equity-today-chart', {
      type: 'line',
      data: { labels: points.map((p) => when(p.time)), datasets: [{ data: points.map((p) => num(p.equity)), borderColor: '#0d6efd', borderWidth: 1.5 }] },
      options: lineOptions((v) => money(v)),
    });
    setText('brokers-source', `${data.brokers.source} · ${when(data.brokers.at)}`);
    fill('brokers', data.brokers.rows.map((row) => {
      const healthy = row.connected && row.reconciled !== false;
      const health = !row.connected ? badge('disconnected', 'danger') : row.reconciled === false ? badge('unreconciled', 'warning') : badge('connected', 'success');
      return el('tr', { class: healthy ? '' : 'table-warning' }, cell(row.venue), cell(row.mode), cell(health),
        cell(row.last_latency_ms === null || row.last_latency_ms === undefined ? '–' : `${Number(row.last_latency_ms).toFixed(1)} ms`, 'text-end'),
        cell(row.last_error || '–', 'small'));
    }), 'no broker health recorded yet', 5);
    fill('breakers', data.circuit_breakers.map((b) => el('tr', { class: b.active ? 'table-danger' : '' },
      cell(b.name), cell(b.bot || '–'), cell(b.active ? badge('active', 'danger') : badge('clear', 'success')),
      cell(when(b.fired_at)), cell(b.reason || '–', 'small'))), 'no circuit breaker has fired', 5);
    fill('risk-events', data.risk_events.map((e) => el('tr', {}, cell(when(e.time)), cell(e.kind),
      cell(badge(e.severity, e.severity === 'critical' || e.severity === 'error' ? 'danger' : e.severity === 'warning' ? 'warning' : 'secondary')),
      cell(e.bot || '–'), cell(e.message, 'small'))), 'no risk events', 5);
  }

  // ------------------------------------------------------------------------------ bots
  async function loadBots() {
    const data = await getJson('/api/bots');
    setText('trading-line', `trading ${data.trading_state}${data.all_paused ? ' · all bots paused' : ''}`);
    fill('bots-table', data.bots.map((bot) => {
      const state = bot.paused ? badge('paused', 'warning') : badge('running', 'success');
      state.title = bot.paused_reason || '';
      const allocation = bot.allocation;
      const row = el('tr', { 'data-bot': bot.name },
        cell(el('div', {}, el('strong', { text: bot.name }), el('div', { class: 'small text-body-secondary', text: bot.bot_class || '' }))),
        cell(el('div', {}, bot.venue || '–', el('div', { class: 'small text-body-secondary', text: bot.asset_class || '' }))),
        cell(bot.mode === 'live' ? badge('live', 'danger') : badge(bot.mode || '–', 'secondary')), cell(bot.schedule || '–', 'small'),
        cell(state, 'bot-state'),
        cell(bot.last_run_at ? `${when(bot.last_run_at)}${bot.last_run_ok === false ? ' ✗' : ''}` : 'never', 'small'),
        cell(bot.last_error ? `${when(bot.last_error_at)}: ${bot.last_error}` : '–', 'small text-danger'),
        cell(String(bot.signals_today), 'text-end'), cell(String(bot.orders_today), 'text-end'),
        moneyCell(bot.net_pnl), cell(`${percent(bot.win_rate, 0)} (${bot.trades})`, 'text-end'),
        cell(el('div', {}, `${percent(allocation.of_equity)} / ${percent(allocation.cap_of_equity, 0)}` +
          (allocation.size_multiplier < 1 ? ` · ×${allocation.size_multiplier}` : ''),
        bot.fleet ? el('div', { class: 'text-body-secondary', text: `fleet ${percent(bot.fleet.weight, 1)} · ×${bot.fleet.size_multiplier.toFixed(2)}` }) : null), 'text-end small'));
      if (!readOnly) {
        const action = bot.paused ? 'resume' : 'pause';
        row.append(cell(el('button', {
          class: `btn btn-sm ${bot.paused ? 'btn-outline-success' : 'btn-outline-warning'}`,
          type: 'button', text: bot.paused ? 'Resume' : 'Pause', disabled: !controlEnabled,
          'data-lever': `/api/bots/${encodeURIComponent(bot.name)}/${action}`, 'data-label': `${action === 'pause' ? 'Pause' : 'Resume'} ${bot.name}`,
        })));
      }
      return row;
    }), 'no bots registered', 15);
  }

  // ------------------------------------------------------------------------------ positions and trades
  const tradeState = { page: 1, pages: 1, filters: {} };

  async function loadPositions() {
    const data = await getJson('/api/positions');
    setText('positions-source', data.source === 'live book' ? 'marked to the live book' : 'from the journal, no live marks');
    fill('positions-table', data.positions.map((p) => {
      const plan = p.exit_plan;
      return el('tr', {}, cell(p.bot), cell(p.instrument_key), cell(p.side === 'buy' ? badge('long', 'success') : badge('short', 'danger')),
        cell(quantity(p.quantity), 'text-end'), cell(price(p.average_entry_price), 'text-end'), cell(price(p.mark), 'text-end'),
        moneyCell(p.unrealized), cell(plan ? plan.stage : 'no exit plan', 'small'),
        cell(plan && plan.r_multiple !== null ? plan.r_multiple.toFixed(2) : '–', 'text-end'),
        cell(plan ? price(plan.stop_price) : '–', 'text-end'),
        cell(plan ? `${plan.first_target_done ? '✓' : price(plan.first_target)} / ${plan.second_target_done ? '✓' : price(plan.second_target)}` : '–', 'text-end small'),
        cell(plan ? percent(plan.remaining_fraction, 0) : '–', 'text-end'));
    }), 'no open positions', 12);
    await loadTrades();
  }

  function tradeParams(extra) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(tradeState.filters)) if (value) params.set(key, value);
    for (const [key, value] of Object.entries(extra || {})) params.set(key, value);
    return params;
  }

  async function loadTrades() {
    const data = await getJson('/api/trades?' + tradeParams({ page: tradeState.page, per_page: 50 }));
    tradeState.pages = data.pages;
    fill('trades-table', data.trades.map((t) => el('tr', {}, cell(when(t.closed_at)), cell(t.bot), cell(t.instrument_key),
      cell(t.side === 'buy' ? 'long' : 'short'), cell(quantity(t.quantity), 'text-end'), cell(price(t.entry_price), 'text-end'),
      cell(price(t.exit_price), 'text-end'), cell(money(t.fees), 'text-end'), moneyCell(t.net_pnl))), 'no closed trades match', 9);
    setText('trades-page', `page ${data.page} of ${data.pages} · ${data.total} trades`);
    $('trades-prev').disabled = data.page <= 1;
    $('trades-next').disabled = data.page >= data.pages;
    $('csv-export').href = '/api/trades.csv?' + tradeParams();
  }

  function setupTrades() {
    const form = $('trade-filters');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      tradeState.filters = Object.fromEntries(new FormData(form).entries());
      tradeState.page = 1;
      loadTrades().catch((error) => flash('danger', error.message));
    });
    $('trades-prev').addEventListener('click', () => { tradeState.page = Math.max(1, tradeState.page - 1); loadTrades(); });
    $('trades-next').addEventListener('click', () => { tradeState.page = Math.min(tradeState.pages, tradeState.page + 1); loadTrades(); });
  }

  // ------------------------------------------------------------------------------ decision trace
  const signalState = { offset: 0, limit: 50, bot: '' };

  const verdictBadge = (d) => {
    const mark = badge(`${d.stage} ${d.verdict === 'pass' ? '✓' : '✗'}`, d.verdict === 'pass' ? 'success' : 'danger');
    mark.classList.add('stage');
    mark.title = `${d.reason_code}: ${d.message}`;
    return mark;
  };

  async function loadSignals() {
    const params = new URLSearchParams({ limit: signalState.limit, offset: signalState.offset });
    if (signalState.bot) params.set('bot', signalState.bot);
    const data = await getJson('/api/signals?' + params);
    fill('signals-table', data.signals.map((s) => el('tr', {},
      cell(el('a', { href: `/signals/${encodeURIComponent(s.id)}`, text: when(s.time) })), cell(s.bot), cell(s.instrument_key),
      cell(`${s.intent} ${s.side}`), cell(el('span', {}, ...s.decisions.map(verdictBadge))),
      cell(s.final ? `${s.final.reason_code}: ${s.final.message}` : 'no decision recorded', 'small'),
      cell(s.order_status ? badge(s.order_status, s.order_status === 'filled' ? 'success' : 'secondary') : '–'))),
    'no signals', 7);
    setText('signals-range', `signals ${signalState.offset + 1}–${signalState.offset + data.signals.length}`);
    $('signals-newer').disabled = signalState.offset === 0;
    $('signals-older').disabled = data.signals.length < signalState.limit;
  }

  function setupSignals() {
    $('signal-filters').addEventListener('submit', (event) => {
      event.preventDefault();
      signalState.bot = $('s-bot').value.trim();
      signalState.offset = 0;
      loadSignals();
    });
    $('signals-newer').addEventListener('click', () => { signalState.offset = Math.max(0, signalState.offset - signalState.limit); loadSignals(); });
    $('signals-older').addEventListener('click', () => { signalState.offset += signalState.limit; loadSignals(); });
  }

  function describe(id, pairs) {
    $(id).replaceChildren(...pairs.flatMap(([term, value]) => [
      el('dt', { class: 'col-sm-4', text: term }), el('dd', { class: 'col-sm-8' }, value === null || value === undefined ? '–' : value)]));
  }

  // The ensemble's per-source votes and the veto's rules as small tables; anything else as JSON.
  function decisionDetails(details) {
    const ensemble = details && details.ensemble;
    const veto = details && details.veto;
    if (ensemble && Array.isArray(ensemble.sources)) {
      const weights = ensemble.weights || {};
      const rows = ensemble.sources.map((v) => el('tr', { 'data-source': v.source }, cell(v.source),
        ...(v.abstained !== undefined
          ? [el('td', { colSpan: 3, class: 'text-body-secondary', text: 'abstained: ' + v.abstained })]
          : [cell(signed(v.vote), 'text-end'), cell(String(v.confidence), 'text-end'),
            cell(weights[v.source] === undefined ? '–' : percent(weights[v.source], 0), 'text-end')])));
      const head = el('tr', {}, el('th', { text: 'source' }), el('th', { class: 'text-end', text: 'vote' }),
        el('th', { class: 'text-end', text: 'conf.' }), el('th', { class: 'text-end', text: 'weight' }));
      return el('table', { class: 'table table-sm small mb-0 ensemble-votes' }, el('thead', {}, head), el('tbody', {}, ...rows));
    }
    if (veto && Array.isArray(veto.fired)) {
      const fired = veto.fired.map((f) => el('li', { text: `${f.rule}: ${f.message}` }));
      const checked = el('div', { class: 'text-body-secondary', text: `checked: ${(veto.rules_checked || []).join(', ')}` });
      return el('div', { class: 'small veto-rules' }, fired.length ? el('ul', { class: 'mb-1' }, ...fired) : el('div', { text: 'no rule fired' }), checked);
    }
    return el('code', { class: 'small', text: JSON.stringify(details) });
  }

  function signed(value) {
    const number = Number(value);
    return Number.isFinite(number) ? (number > 0 ? '+' : '') + number.toFixed(2) : '–';
  }

  async function loadSignal() {
    const data = await getJson('/api/signals/' + encodeURIComponent(body.dataset.signalId));
    const s = data.signal;
    describe('road-signal', [['Bot', s.bot], ['Instrument', s.instrument_key], ['Signal', `${s.intent} ${s.side}`],
      ['Time', when(s.time)], ['Confidence', s.confidence], ['Edge', percent(s.edge, 2)], ['Stop', price(s.stop)], ['Reason', s.reason],
      ['Final verdict', s.final ? `${s.final.stage}: ${s.final.reason_code} (${s.final.message})` : '–']]);
    fill('road-decisions', s.decisions.map((d) => el('tr', { class: d.verdict === 'pass' ? '' : 'table-danger' },
      cell(String(d.seq)), cell(d.stage), cell(verdictBadge(d)), cell(d.reason_code), cell(d.message, 'small'),
      cell(String(d.size_multiplier)), cell(decisionDetails(d.details)))), 'no decisions recorded', 7);
    const order = data.order;
    describe('road-order', order ? [['Client id', el('code', { text: order.client_order_id })], ['Status', order.status],
      ['Side', order.side], ['Quantity', quantity(order.quantity)], ['Filled', quantity(order.filled_quantity)],
      ['Average price', price(order.average_fill_price)], ['Type', order.order_type], ['Reason', order.reason]] : [['Order', 'none: the signal stopped before the router']]);
    fill('road-events', data.order_events.map((e) => el('tr', {}, cell(when(e.time)), cell(e.from_status || '–'), cell(e.to_status), cell(e.reason || '–', 'small'))), 'no order', 4);
    fill('road-fills', data.fills.map((f) => el('tr', {}, cell(when(f.time)), cell(f.side), cell(quantity(f.quantity), 'text-end'),
      cell(price(f.price), 'text-end'), cell(money(f.fee), 'text-end'))), 'no fills', 5);
    $('road-evidence').textContent = JSON.stringify(s.evidence, null, 2);
  }

  // ------------------------------------------------------------------------------ analytics
  async function loadAnalytics() {
    const data = await getJson('/api/analytics');
    const curve = data.equity_curve;
    const labels = curve.map((p) => when(p.time));
    chart('equity-chart', {
      type: 'line',
      data: { labels, datasets: [{ label: 'equity', data: curve.map((p) => num(p.equity)), borderColor: '#0d6efd', borderWidth: 1.5 }] },
      options: lineOptions((v) => money(v)),
    });
    chart('drawdown-chart', {
      type: 'line',
      data: { labels, datasets: [{ label: 'drawdown', data: curve.map((p) => -p.drawdown * 100), borderColor: '#dc3545', backgroundColor: 'rgba(220,53,69,.15)', fill: true, borderWidth: 1 }] },
      options: lineOptions((v) => `${Number(v).toFixed(2)} %`),
    });
    setText('max-drawdown', `max ${percent(data.max_drawdown, 2)}`);
    fill('by-bot', data.by_bot.map((p) => el('tr', {}, cell(p.key), cell(String(p.trades), 'text-end'), cell(percent(p.win_rate, 0), 'text-end'), moneyCell(p.net_pnl))), 'no closed trades', 4);
    fill('by-class', data.by_asset_class.map((p) => el('tr', {}, cell(p.key), cell(String(p.trades), 'text-end'), moneyCell(p.net_pnl))), 'no closed trades', 3);
    chart('daily-pnl-chart', {
      type: 'bar',
      data: { labels: data.daily_pnl.map((d) => d.day.slice(5)), datasets: [{ data: data.daily_pnl.map((d) => num(d.net_pnl)), backgroundColor: data.daily_pnl.map((d) => (num(d.net_pnl) >= 0 ? '#198754' : '#dc3545')) }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { ticks: { callback: (v) => money(v) } } } },
    });
    const gate = data.validation_gate;
    setText('gate-basis', `Go needs ${gate.criteria.min_trades}+ trades, a win rate of ${percent(gate.criteria.min_win_rate, 0)}+ and a Sharpe ratio of ${gate.criteria.min_sharpe}+. Sharpe: ${gate.sharpe_basis}.`);
    if (gate.journal_problems.length) setText('gate-basis', `${document.getElementById('gate-basis').textContent} Not counted: ${gate.journal_problems.join('; ')}.`);
    fill('gate-table', gate.bots.map((b) => el('tr', {}, el('td', {}, b.bot, el('div', { class: 'small text-muted' }, b.record)), cell(String(b.trades), 'text-end'), cell(percent(b.win_rate, 1), 'text-end'),
      cell(b.sharpe === null ? '–' : b.sharpe.toFixed(2), 'text-end'), cell(String(b.days), 'text-end'),
      cell(b.go ? badge('GO', 'success') : badge('NO-GO', 'danger')), cell(b.failures.join('; ') || '–', 'small'))), 'no bot has closed a trade yet', 7);
    renderVetoScorecard(data.veto_scorecard);
    renderEdgeTable(data.edge_table);
  }

  function renderEdgeTable(table) {
    fill('edge-rows', table.rows.map((row) => {
      const domainRow = row.level === 'domain';
      const hitRate = el('span', { title: `${row.hits} of ${row.settled} settled`, text: percent(row.hit_rate, 1) });
      return el('tr', { class: domainRow ? 'fw-bold edge-domain' : 'edge-source', 'data-domain': row.domain, 'data-source': row.source || '' },
        cell(domainRow ? row.domain : ''), cell(domainRow ? el('span', { class: 'fw-normal text-body-secondary', text: 'consensus' }) : row.source),
        cell(String(row.signals), 'text-end'), cell(String(row.settled), 'text-end'), cell(hitRate, 'text-end'),
        cell(decimal(row.brier, 3), 'text-end'), cell(decimal(row.crowd_brier, 3), 'text-end'),
        cell(row.priced === null ? '–' : String(row.priced), 'text-end'), cell(String(row.trades), 'text-end'), moneyCell(row.pnl));
    }), 'No prediction-market edges yet', 10);
    fill('edge-sources', table.sources.map((s) => el('tr', { class: s.ok ? '' : 'table-warning', 'data-source': s.name },
      cell(s.name), cell((s.domains || []).join(', '), 'small'), cell(s.ok ? badge('ok', 'success') : badge('failing', 'danger')),
      cell(when(s.last_success_at), 'small'), cell(s.last_error ? `${when(s.last_error_at)}: ${s.last_error}` : '–', 'small text-danger'),
      cell(`${s.requests_today ?? 0} / ${s.daily_budget === null || s.daily_budget === undefined ? 'no cap' : s.daily_budget}`, 'text-end'))),
    'no prediction source has reported yet', 6);
  }

  function horizonLabel(minutes) {
    return minutes % 1440 === 0 ? `${minutes / 1440} d` : minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
  }

  function signedPercent(value) {
    return value === null || value === undefined ? '–' : (value > 0 ? '+' : '') + (value * 100).toFixed(2) + ' %';
  }

  function renderVetoScorecard(card) {
    setText('veto-basis', card.enabled ? card.basis : 'Veto follow-up is off ([veto.follow_up] enabled = false, or the veto itself is off).');
    const horizons = card.horizons_minutes;
    const head = $('veto-head');
    if (head) {
      head.replaceChildren(el('tr', {}, el('th', { text: 'Cause' }), el('th', { class: 'text-end', text: 'Vetoed' }),
        ...horizons.map((h) => el('th', { class: 'text-end', text: `${horizonLabel(h)}: mean · would win` }))));
    }
    fill('veto-rows', card.rows.map((row) => el('tr', { 'data-cause': row.cause }, cell(row.cause === 'all' ? el('strong', { text: 'all vetoes' }) : row.cause, 'small'),
      cell(`${row.vetoed}${row.priced < row.vetoed ? ` (${row.vetoed - row.priced} unpriced)` : ''}`, 'text-end'),
      ...horizons.map((h) => {
        const stat = row.horizons[String(h)];
        if (!stat || !stat.marked) return cell('–', 'text-end text-body-secondary');
        return el('td', { class: `text-end ${signClass(stat.mean_return)}`, text: `${signedPercent(stat.mean_return)} · ${percent(stat.win_rate, 0)} (${stat.marked})` });
      }))), 'no entry has been vetoed yet', horizons.length + 2);
    fill('veto-recent', card.recent.map((v) => {
      const marks = Object.entries(v.marks).map(([h, m]) => `${horizonLabel(Number(h))} ${signedPercent(m.return)}${m.by === 'stop' ? ' (stop)' : ''}`);
      const outcome = v.status === 'unpriced' ? 'no quote when vetoed' : marks.join(' · ') || 'following';
      return el('tr', { title: v.reason }, cell(when(v.vetoed_at), 'small'), cell(v.bot, 'small'), cell(`${v.side} ${v.instrument_key}`, 'small'),
        cell(v.cause, 'small'), cell(price(v.entry_price), 'text-end small'), cell(outcome, 'small'));
    }), 'no entry has been vetoed yet', 6);
  }

  // ------------------------------------------------------------------------------ risk
  async function loadRisk() {
    const data = await getJson('/api/risk');
    setText('risk-source', `${data.source} · valued at ${data.valued_at}`);
    fill('controls-table', data.controls.map((c) => {
      const used = c.used === null ? null : Math.min(1, c.used);
      const bar = el('div', { class: `progress-bar ${c.status === 'breached' ? 'bg-danger' : c.status === 'warning' ? 'bg-warning' : 'bg-success'}` });
      bar.style.width = used === null ? '0%' : `${(used * 100).toFixed(1)}%`;
      const value = c.unit === 'usd' ? money(c.value) : c.value ?? '–';
      return el('tr', { class: c.status === 'breached' ? 'table-danger' : '' }, cell(c.name), cell(String(value), 'text-end'),
        cell(c.unit === 'usd' ? money(c.limit) : c.limit ?? '–', 'text-end'),
        cell(used === null ? (c.status === 'breached' ? badge(String(c.value), 'danger') : '–') : el('div', { class: 'progress', role: 'progressbar' }, bar)),
        cell(c.note || '', 'small'));
    }), 'no controls', 5);
    const tail = data.tail_risk;
    const box = $('tail-risk');
    if (tail.available) {
      box.replaceChildren(el('div', { class: 'stat-value', text: `VaR ${money(tail.var)} · CVaR ${money(tail.cvar)}` }),
        el('div', { class: 'small text-body-secondary', text: `${percent(tail.confidence, 0)} ${tail.method}, ${tail.horizon_seconds / 3600} h horizon, ${tail.scenarios} scenarios over ${tail.markets} markets` }),
        el('div', { class: 'small', text: `CVaR budget ${money(tail.budget)} (${percent(tail.budget_used, 0)} used)` }),
        ...(tail.binary_worst_case > 0 ? [el('div', { class: 'small text-body-secondary',
          text: `includes ${money(tail.binary_worst_case)} of prediction contracts at their worst settlement` })] : []));
    } else {
      box.replaceChildren(el('div', { class: 'text-body-secondary', text: tail.reason }));
    }
    const stress = data.stress;
    setText('stress-note', stress.available
      ? `valued at ${stress.valued_at}; a scenario breaches when today's P&L plus its loss reaches the ${money(stress.daily_loss_limit)} limit` +
        (stress.reason ? ` (${stress.reason})` : '')
      : stress.reason);
    fill('stress-table', stress.scenarios.map((row) => el('tr', { class: row.breaches_daily_loss_limit ? 'table-danger' : '' },
      cell(row.name), cell(money(row.pnl), 'text-end'), cell(percent(-row.loss_of_equity, 1), 'text-end'),
      cell(row.breaches_daily_loss_limit ? badge('breached', 'danger') : badge('within', 'success')))),
    'no open position', 4);
    const list = $('streaks');
    list.replaceChildren(...(data.loss_streaks.length ? data.loss_streaks.map((s) => el('li', { class: 'list-group-item',
      text: `${s.bot}: trades at ×${s.multiplier} after ${s.losses_to_reduce} losses in a row (back after ${s.wins_to_restore} wins)` }))
      : [el('li', { class: 'list-group-item text-body-secondary', text: 'every bot trades at full size' })]));
  }

  // ------------------------------------------------------------------------------ regimes and models
  const REGIMES = ['bull', 'sideways', 'bear'];
  const regimeTone = { bull: 'success', sideways: 'secondary', bear: 'danger' };
  const decimal = (value, digits) => (value === null || value === undefined ? '–' : Number(value).toFixed(digits));

  function probabilityCell(p, regime) {
    if (p === null || p === undefined) return cell('–', 'text-body-secondary'); // a 2-state model has no sideways
    const bar = el('div', { class: `progress-bar bg-${regimeTone[regime]}` });
    bar.style.width = `${(p * 100).toFixed(1)}%`;
    return cell(el('div', { class: 'd-flex align-items-center gap-2', title: `P(${regime}) = ${p}` },
      el('span', { class: 'small text-end', text: percent(p, 0) }),
      el('div', { class: 'progress flex-grow-1', role: 'progressbar' }, bar)));
  }

  function trainedOn(summary) {
    const trainingWindow = summary.training_window;
    return (trainingWindow ? `trained on ${trainingWindow.rows} rows, ${trainingWindow.start} to ${trainingWindow.end}` : 'training window not recorded') +
      ` · ${summary.features ?? '?'} features · horizon ${summary.horizon ?? '?'} bars`;
  }

  function modelVersion(summary) {
    return summary ? `v${summary.version}` : 'none promoted';
  }

  function llmSpendLine(spend) {
    if (!spend) return el('span', { class: 'text-body-secondary', text: 'LLM (analyst and veto): no call today (without an API key the rules veto decides alone).' });
    return el('span', { text: `LLM analyst and veto (${spend.model}), ${spend.day}: ${spend.calls} calls, ` +
      `${spend.tokens_in} + ${spend.tokens_out} tokens, $${Number(spend.cost_usd).toFixed(4)}` });
  }

  function newsLines(news) {
    if (!news.scorer) return [el('span', { class: 'text-body-secondary', text: `News sentiment: ${news.reason}.` })];
    const head = el('div', {}, 'News sentiment: ', el('strong', { id: 'news-scorer', text: news.scorer }),
      ` · ${news.stories} stories in the window` + (news.refreshed_at ? ` · refreshed ${when(news.refreshed_at)}` : ''));
    const feeds = Object.entries(news.sources).map(([name, health]) => el('li', {}, `${name}: ${health}`));
    return feeds.length ? [head, el('ul', { class: 'mb-0 ps-3' }, ...feeds)] : [head];
  }

  function retrainingLine(run) {
    if (!run) return [el('span', { class: 'text-body-secondary', text: 'Retraining: no retraining run yet.' })];
    const tone = run.state === 'done' ? 'success' : run.state === 'failed' ? 'danger' : 'info';
    const line = el('div', {}, 'Retraining ', badge(run.state, tone),
      ` started ${when(run.started_at)}` + (run.finished_at ? `, finished ${when(run.finished_at)}` : '') +
      (run.source ? ` · ${run.source}` : '') + (run.message ? ` · ${run.message}` : ''));
    const outcomes = run.outcomes.map((o) => el('li', {},
      `${o.asset}: ${o.version === null || o.version === undefined ? 'no new version' : `v${o.version} ${o.promoted ? 'promoted' : 'not promoted'}`}` +
      ` · in use ${o.in_use_version === null || o.in_use_version === undefined ? 'none' : `v${o.in_use_version}`}` +
      (o.reason ? ` · ${o.reason}` : '')));
    return outcomes.length ? [line, el('ul', { class: 'mb-0 ps-3', id: 'retraining-outcomes' }, ...outcomes)] : [line];
  }

  async function loadModels() {
    const [regimes, models] = await Promise.all([getJson('/api/regimes'), getJson('/api/models')]);
    const multipliers = REGIMES.filter((r) => r in regimes.multipliers).map((r) => `${r} ×${regimes.multipliers[r]}`).join(', ');
    setText('regimes-basis', `${regimes.timeframe_seconds / 60}-minute bars, refit every ${regimes.refit_hours} h · size ${multipliers}`);
    fill('regimes-table', regimes.markets.map((m) => el('tr', { 'data-market': m.instrument_key },
      cell(m.instrument_key), cell(badge(m.regime, regimeTone[m.regime] || 'secondary'), 'regime'),
      ...REGIMES.map((r) => probabilityCell(m.probabilities[r], r)),
      cell(m.multiplier === null || m.multiplier === undefined ? '–' : `×${m.multiplier}`, 'text-end'),
      cell(when(m.bar_time), 'small'), cell(`${when(m.fitted_at)} (${m.fit_bars} bars)`, 'small'))),
    'no regime model fitted yet', 8);
    fill('fits-table', regimes.fits.map((f) => el('tr', { class: f.ok ? '' : 'table-warning' },
      cell(when(f.time), 'small'), cell(f.instrument_key), cell(f.ok ? badge('ok', 'success') : badge('failed', 'danger')),
      cell(f.message, 'small'))), 'no regime fit recorded yet', 4);
    setText('models-registry', models.registry);
    $('retraining').replaceChildren(...retrainingLine(models.retraining));
    $('llm-spend').replaceChildren(llmSpendLine(models.llm_spend));
    $('news-status').replaceChildren(...newsLines(models.news));
    fill('models-table', models.assets.map((a) => {
      const latest = a.latest;
      const model = latest.mean_metrics || {};
      const baseline = latest.baseline_metrics || {};
      const inUse = a.in_use ? badge(modelVersion(a.in_use), 'success') : badge('none promoted', 'warning');
      const beaten = model.log_loss !== null && model.log_loss !== undefined && baseline.log_loss !== null && baseline.log_loss !== undefined;
      return el('tr', { 'data-asset': a.asset },
        cell(el('strong', { text: a.asset })), cell(inUse, 'in-use'),
        cell(el('span', { title: latest.promotion_reason || '' }, `v${latest.version} of ${a.versions} · `,
          latest.promoted ? badge('promoted', 'success') : badge('not promoted', 'secondary'),
          latest.comparison_reason ? el('div', { class: 'small text-body-secondary', text: latest.comparison_reason }) : null), 'latest'),
        cell(`${decimal(model.log_loss, 4)} (${decimal(baseline.log_loss, 4)})`,
          `text-end ${beaten ? (model.log_loss < baseline.log_loss ? 'gain' : 'loss') : ''}`),
        cell(decimal(model.auc, 3), 'text-end'), cell(percent(model.accuracy, 1), 'text-end'), cell(decimal(model.brier, 4), 'text-end'),
        cell(latest.data_source || '—', 'small data-source'),
        cell(el('span', { title: trainedOn(latest) }, when(latest.created_at)), 'small'));
    }), models.problem || 'no models trained yet: python -m ml_models.cli train', 9);
  }

  // ------------------------------------------------------------------------------ fleet
  const FLEET_COLOURS = ['#0d6efd', '#198754', '#dc3545', '#fd7e14', '#6f42c1', '#20c997', '#d63384', '#6c757d',
    '#0dcaf0', '#ffc107', '#6610f2', '#adb5bd', '#146c43', '#b02a37', '#984c0c', '#3d8bfd'];

  function posteriorBar(mean, scale, span) {
    // the interval mean ± 2 scales on a shared axis [-span, span], zero marked
    const toPct = (v) => Math.max(0, Math.min(100, 50 + (50 * v) / span));
    const low = toPct(mean - 2 * scale);
    const high = toPct(mean + 2 * scale);
    const box = el('div', { class: 'position-relative bg-body-tertiary', style: 'height: 0.9rem; min-width: 8rem' });
    box.append(el('div', { class: 'position-absolute h-100 border-start border-secondary', style: 'left: 50%' }));
    box.append(el('div', { class: `position-absolute h-100 ${mean >= 0 ? 'bg-success' : 'bg-danger'} opacity-50`,
      style: `left: ${low}%; width: ${Math.max(high - low, 0.5)}%` }));
    box.append(el('div', { class: 'position-absolute h-100 bg-dark', style: `left: ${toPct(mean)}%; width: 2px` }));
    return box;
  }

  async function loadFleet() {
    const data = await getJson('/api/fleet');
    const s = data.settings;
    setText('fleet-basis', `${data.rounds} rounds, every ${s.allocation_minutes} min · discount ${s.discount} · ` +
      `floor ${percent(s.floor, 0)}, cap ${percent(s.cap, 0)} · size at most ×${s.max_size_multiplier}`);
    const span = Math.max(0.5, ...data.bots.map((b) => Math.abs(b.posterior_mean) + 2 * b.posterior_scale));
    fill('fleet-table', data.bots.map((b) => el('tr', {}, cell(b.bot), cell(percent(b.weight, 1), 'text-end'),
      cell(el('div', { class: 'progress', style: 'height: 0.6rem' }, el('div', { class: 'progress-bar', style: `width: ${(100 * b.weight).toFixed(1)}%` }))),
      cell(`×${b.size_multiplier.toFixed(2)}`, 'text-end'), cell(String(b.trades), 'text-end'),
      cell(b.posterior_mean.toFixed(3), 'text-end'), cell(b.posterior_scale.toFixed(3), 'text-end'),
      cell(posteriorBar(b.posterior_mean, b.posterior_scale, span)))),
    'no fleet yet: give registry bots fleet = true', 8);
    const names = Object.keys(data.history.weights);
    setText('fleet-empty', names.length ? '' : 'No allocation round has been journaled.');
    chart('fleet-chart', {
      type: 'line',
      data: {
        labels: data.history.times.map((t) => when(t)),
        datasets: names.map((name, i) => ({
          label: name, data: data.history.weights[name].map((w) => (w === null ? null : 100 * w)), fill: i === 0 ? 'origin' : '-1',
          borderColor: FLEET_COLOURS[i % FLEET_COLOURS.length], backgroundColor: `${FLEET_COLOURS[i % FLEET_COLOURS.length]}55`,
          borderWidth: 1, pointRadius: 0,
        })),
      },
      options: { responsive: true, plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { stacked: true, min: 0, max: 100, ticks: { callback: (v) => `${v} %` } } } },
    });
  }

  // ------------------------------------------------------------------------------ live updates
  const loaders = {
    overview: loadOverview, bots: loadBots, positions: loadPositions, signals: loadSignals, signal: loadSignal,
    analytics: loadAnalytics, risk: loadRisk, fleet: loadFleet, models: loadModels,
  };

  let refreshTimer = null;
  function refresh() {
    const load = loaders[page];
    if (!load) return Promise.resolve();
    return load().catch((error) => flash('warning', `could not load the figures: ${error.message}`));
  }

  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 800);
  }

  let eventCount = 0;
  function showEvent(event) {
    eventCount += 1;
    setText('last-event', `${when(event.time)} ${event.kind}: ${event.message}`);
    const list = $('live-events');
    if (list) {
      list.prepend(el('li', { class: 'list-group-item py-1', 'data-event-id': String(event.id) },
        el('span', { class: 'kind me-2', text: event.kind }), el('span', { text: event.message }),
        el('div', { class: 'small text-body-secondary', text: when(event.time) })));
      while (list.children.length > 50) list.lastChild.remove();
      setText('live-count', `${eventCount} received`);
    }
  }

  function connect() {
    const status = $('live-status');
    if (!liveFeed || !window.EventSource) {
      const list = $('live-events');
      if (list) list.replaceChildren(el('li', { class: 'list-group-item text-body-secondary', text: 'No live feed: the daemon is not running.' }));
      return;
    }
    const source = new EventSource('/api/events');
    source.onopen = () => { status.textContent = 'live'; status.className = 'badge text-bg-success me-3'; };
    source.onerror = () => { status.textContent = 'reconnecting'; status.className = 'badge text-bg-warning me-3'; };
    source.onmessage = (message) => {
      const event = JSON.parse(message.data);
      showEvent(event);
      refreshSoon();
    };
    window.dashboardFeed = source;
  }

  setupTokenForm();
  if (page === 'positions') setupTrades();
  if (page === 'signals') setupSignals();
  refresh();
  connect();
  setInterval(refresh, readOnly ? 30000 : 15000); // marks and equity move between events too
  window.dashboard = { refresh, charts };
})();
