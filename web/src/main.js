// lambdagate dashboard: polls the admin API's /api/overview once a second
// and draws virtual services → routes → functions with each route's
// traffic. Every value from the configuration is set as text, never as
// HTML, so resource names cannot inject markup.
import './style.css'

const SVG = 'http://www.w3.org/2000/svg'
const POLL_MS = 1000

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  for (const c of children) e.append(c)
  return e
}

function html(tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v
    else e.setAttribute(k, String(v))
  }
  for (const c of children) e.append(c)
  return e
}

function text(x, y, s, attrs = {}) {
  return svg('text', { x, y, ...attrs }, String(s))
}

function clip(s, n) {
  s = String(s ?? '')
  return s.length > n ? s.slice(0, n - 1) + '…' : s
}

const fmt1 = (v) => (Math.round(v * 10) / 10).toFixed(1)
const STATE_COLOR = { Accepted: '#1f8a4c', Warning: '#b7791f', Rejected: '#c53030', Pending: '#718096' }

// sparkline draws values in a w×h box at (x, y).
function sparkline(x, y, w, h, values, color) {
  const g = svg('g', { transform: `translate(${x},${y})` })
  g.append(svg('rect', { width: w, height: h, fill: '#f7f8fa', stroke: '#e3e6ec', rx: 3 }))
  const max = Math.max(...values, 0)
  if (values.length > 1 && max > 0) {
    const step = w / (values.length - 1)
    const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 6)).toFixed(1)}`)
    g.append(svg('polygon', { points: `0,${h} ${pts.join(' ')} ${w},${h}`, fill: color, 'fill-opacity': 0.15 }))
    g.append(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 1.5 }))
  }
  return g
}

const COL = { vsX: 16, vsW: 230, rtX: 300, rtW: 480, fnX: 840, fnW: 250 }
const RH = 112 // route box height
const GAP = 14
const FH = 66 // function box height

function drawTopology(ov) {
  const root = document.getElementById('topology')
  const rows = []
  for (const vs of ov.virtualServices) {
    if (vs.routes.length === 0) rows.push({ vs, route: null })
    for (const r of vs.routes) rows.push({ vs, route: r })
  }
  if (rows.length === 0) {
    root.replaceChildren(html('p', { class: 'empty' }, 'No virtual services yet: lambdagate apply -f virtualservice.yaml'))
    return
  }
  const top = 28
  const rowY = (i) => top + i * (RH + GAP)
  // Functions in order of first use, each as close to its first route as
  // the one above allows.
  const fns = new Map()
  let nextFnY = top
  rows.forEach((row, i) => {
    const r = row.route
    if (!r) return
    // A route the gateway answers itself (direct response, redirect)
    // points at its answer instead of a function.
    const key = r.answer ? `answer\u0000${r.answer}` : `${r.upstream}\u0000${r.function}\u0000${r.qualifier || ''}`
    if (!fns.has(key)) {
      const y = Math.max(nextFnY, rowY(i) + (RH - FH) / 2)
      fns.set(key, { y, r })
      nextFnY = y + FH + GAP
    }
    row.fnKey = key
  })
  const height = Math.max(rowY(rows.length), nextFnY) + 8
  const width = COL.fnX + COL.fnW + 16
  const s = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'virtual services, routes and functions' })
  s.append(text(COL.vsX, 16, 'VIRTUAL SERVICE', { 'font-size': 11, fill: '#6b7385', 'font-weight': 600 }))
  s.append(text(COL.rtX, 16, 'ROUTE', { 'font-size': 11, fill: '#6b7385', 'font-weight': 600 }))
  s.append(text(COL.fnX, 16, 'FUNCTION', { 'font-size': 11, fill: '#6b7385', 'font-weight': 600 }))
  const edges = svg('g')
  s.append(edges)

  // Virtual services: one box spanning their routes' rows.
  let i = 0
  for (const vs of ov.virtualServices) {
    const n = Math.max(vs.routes.length, 1)
    const y0 = rowY(i)
    const h = rowY(i + n - 1) + RH - y0
    const g = svg('g', { 'data-testid': 'vs', 'data-name': vs.name })
    g.append(svg('rect', { x: COL.vsX, y: y0, width: COL.vsW, height: h, rx: 8, fill: '#fff', stroke: STATE_COLOR[vs.state] || '#a0aec0', 'stroke-width': 2 }))
    g.append(text(COL.vsX + 12, y0 + 22, clip(vs.name, 30), { 'font-size': 14, 'font-weight': 600, fill: '#1d2330' }))
    g.append(svg('rect', { x: COL.vsX + 12, y: y0 + 32, width: 78, height: 18, rx: 9, fill: STATE_COLOR[vs.state] || '#718096' }))
    g.append(text(COL.vsX + 51, y0 + 45, vs.state, { 'font-size': 11, 'font-weight': 600, fill: '#fff', 'text-anchor': 'middle' }))
    g.append(text(COL.vsX + 12, y0 + 68, clip((vs.https ? 'https ' : 'http ') + vs.domains.join(', '), 34), { 'font-size': 12, fill: '#6b7385' }))
    if (vs.reason) {
      const t = text(COL.vsX + 12, y0 + 86, clip(vs.reason, 34), { 'font-size': 11, fill: STATE_COLOR[vs.state] || '#6b7385' })
      t.append(svg('title', {}, vs.reason))
      g.append(t)
    }
    s.append(g)
    for (let k = 0; k < n; k++) {
      if (!rows[i + k].route) continue
      const yc = rowY(i + k) + RH / 2
      const x1 = COL.vsX + COL.vsW
      edges.append(svg('path', { d: `M${x1},${Math.min(yc, y0 + h / 2)} C${x1 + 30},${yc} ${COL.rtX - 30},${yc} ${COL.rtX},${yc}`, fill: 'none', stroke: '#a0aec0', 'stroke-width': 2 }))
    }
    i += n
  }

  // Routes with their sparklines.
  rows.forEach((row, idx) => {
    const r = row.route
    if (!r) return
    const y = rowY(idx)
    const st = r.stats
    const recentErr = st.errorRatePerSec > 0 || st.errors.slice(-5).some((v) => v > 0)
    const g = svg('g', { 'data-testid': 'route', 'data-route': r.name, 'data-vs': row.vs.name })
    g.append(svg('rect', { x: COL.rtX, y, width: COL.rtW, height: RH, rx: 8, fill: '#fff', stroke: r.warning ? '#b7791f' : recentErr ? '#c53030' : '#cbd2dc', 'stroke-width': r.warning || recentErr ? 2 : 1 }))
    g.append(text(COL.rtX + 12, y + 20, clip(r.name, 24), { 'font-size': 14, 'font-weight': 600, fill: '#1d2330' }))
    g.append(text(COL.rtX + 200, y + 20, clip(r.match, 40), { 'font-size': 12, fill: '#6b7385', 'font-family': 'ui-monospace, monospace' }))
    const panels = [
      { label: 'req/s', value: fmt1(st.ratePerSec), values: st.requests, color: '#2b6cb0', id: 'rate' },
      { label: 'latency', value: st.meanLatencyMs > 0 ? `${fmt1(st.meanLatencyMs)} ms` : '–', values: st.latencyMs, color: '#805ad5', id: 'latency' },
      { label: 'errors/s', value: fmt1(st.errorRatePerSec), values: st.errors, color: '#c53030', id: 'errors' },
    ]
    panels.forEach((p, k) => {
      const px = COL.rtX + 12 + k * 155
      g.append(text(px, y + 42, p.label, { 'font-size': 11, fill: '#6b7385' }))
      g.append(text(px + 145, y + 42, p.value, { 'font-size': 12, 'font-weight': 600, fill: p.color, 'text-anchor': 'end', 'data-testid': `route-${p.id}` }))
      g.append(sparkline(px, y + 48, 145, 34, p.values, p.color))
    })
    const tot = text(COL.rtX + 12, y + 101, '', { 'font-size': 12, fill: '#1d2330' })
    tot.append(svg('tspan', { 'data-testid': 'route-total' }, String(st.total)), ' requests · ')
    tot.append(svg('tspan', { 'data-testid': 'route-total-errors', fill: st.totalErrors > 0 ? '#c53030' : '#1d2330' }, String(st.totalErrors)), ' errors')
    g.append(tot)
    if (r.warning) {
      const w = text(COL.rtX + 200, y + 101, '⚠ ' + clip(r.warning, 44), { 'font-size': 11, fill: '#b7791f' })
      w.append(svg('title', {}, r.warning))
      g.append(w)
    }
    s.append(g)
    const f = fns.get(row.fnKey)
    const y1 = y + RH / 2
    const y2 = f.y + FH / 2
    const x1 = COL.rtX + COL.rtW
    edges.append(svg('path', { d: `M${x1},${y1} C${x1 + 30},${y1} ${COL.fnX - 30},${y2} ${COL.fnX},${y2}`, fill: 'none', stroke: recentErr ? '#c53030' : '#a0aec0', 'stroke-width': 2 }))
  })

  // Functions.
  for (const { y, r } of fns.values()) {
    if (r.answer) {
      const g = svg('g', { 'data-testid': 'answer', 'data-answer': r.answer })
      g.append(svg('rect', { x: COL.fnX, y, width: COL.fnW, height: FH, rx: 8, fill: '#f7fafc', stroke: '#718096', 'stroke-width': 1.5 }))
      g.append(text(COL.fnX + 12, y + 22, clip(r.answer, 28), { 'font-size': 14, 'font-weight': 600, fill: '#1d2330' }))
      g.append(text(COL.fnX + 12, y + 40, 'answered by the gateway', { 'font-size': 12, fill: '#4a5568' }))
      s.append(g)
      continue
    }
    const g = svg('g', { 'data-testid': 'function', 'data-function': r.function })
    g.append(svg('rect', { x: COL.fnX, y, width: COL.fnW, height: FH, rx: 8, fill: '#fffaf0', stroke: '#dd6b20', 'stroke-width': 1.5 }))
    g.append(text(COL.fnX + 12, y + 22, 'λ ' + clip(r.function, 26), { 'font-size': 14, 'font-weight': 600, fill: '#1d2330' }))
    g.append(text(COL.fnX + 12, y + 40, clip(r.functionName + (r.qualifier ? ':' + r.qualifier : ''), 34), { 'font-size': 12, fill: '#4a5568', 'font-family': 'ui-monospace, monospace' }))
    g.append(text(COL.fnX + 12, y + 57, clip(r.upstream + (r.async ? ' · async' : ''), 36), { 'font-size': 11, fill: '#6b7385' }))
    s.append(g)
  }
  root.replaceChildren(s)
}

function fillTable(id, rows) {
  const body = document.querySelector(`#${id} tbody`)
  body.replaceChildren(...rows)
}

function drawResources(ov) {
  const rows = ov.resources.map((r) =>
    html('tr', {},
      html('td', {}, r.kind),
      html('td', { class: 'mono' }, r.name),
      html('td', {}, html('span', { class: `state state-${r.state}` }, r.state)),
      html('td', { class: 'reason' }, r.reason || '')))
  if (rows.length === 0) rows.push(html('tr', {}, html('td', { colspan: 4, class: 'empty' }, 'No resources.')))
  fillTable('resources', rows)
}

function drawErrors(ov) {
  const rows = ov.recentErrors.slice(0, 20).map((e) =>
    html('tr', {},
      html('td', {}, new Date(e.time).toLocaleTimeString()),
      html('td', {}, String(e.status)),
      html('td', { class: 'mono' }, e.code),
      html('td', { class: 'mono' }, `${e.method} ${e.path}`),
      html('td', {}, e.route ? `${e.virtualService} ${e.route}` : '–'),
      html('td', { class: 'reason' }, e.message || ''),
      html('td', { class: 'mono' }, e.requestId)))
  if (rows.length === 0) rows.push(html('tr', {}, html('td', { colspan: 7, class: 'empty' }, 'No failed requests.')))
  fillTable('errors', rows)
}

function drawHeader(ov) {
  const ready = document.getElementById('ready')
  ready.textContent = ov.ready ? 'ready' : `not ready: ${ov.readyReason}`
  ready.className = `badge ${ov.ready ? 'ok' : 'bad'}`
  document.getElementById('snapshot').textContent = ov.version
    ? `snapshot v${ov.version}, built ${Math.round(ov.ageSeconds)}s ago`
    : 'no configuration yet'
  document.getElementById('total-requests').textContent = String(ov.totals.requests)
  document.getElementById('total-rate').textContent = fmt1(ov.totals.ratePerSec)
  document.getElementById('total-errors').textContent = String(ov.totals.errors)
}

async function refresh() {
  const problem = document.getElementById('problem')
  try {
    const resp = await fetch('api/overview', { cache: 'no-store' })
    if (!resp.ok) throw new Error(`${resp.status} ${await resp.text()}`)
    const ov = await resp.json()
    drawHeader(ov)
    drawTopology(ov)
    drawResources(ov)
    drawErrors(ov)
    problem.hidden = true
  } catch (err) {
    problem.textContent = `Cannot reach the gateway's admin API: ${err.message}`
    problem.hidden = false
  } finally {
    setTimeout(refresh, POLL_MS)
  }
}

refresh()
