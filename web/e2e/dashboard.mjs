// End-to-end check of the dashboard in headless Chromium, run by
// internal/dashboard's Go test against a gateway with traffic flowing.
// It loads the page, checks the expected virtual service, route and
// function are drawn, and that the route's request count and the header's
// total grow while traffic flows. Screenshots go to ARTIFACTS_DIR.
//
// Environment: DASHBOARD_URL (required), ARTIFACTS_DIR (required),
// CHROMIUM (default /usr/bin/chromium), EXPECT_VS, EXPECT_ROUTE,
// EXPECT_FUNCTION.
import { chromium } from 'playwright-core'
import path from 'node:path'

const url = process.env.DASHBOARD_URL
const out = process.env.ARTIFACTS_DIR
const exe = process.env.CHROMIUM || '/usr/bin/chromium'
const wantVS = process.env.EXPECT_VS || 'gloo-system/aws-route'
const wantRoute = process.env.EXPECT_ROUTE || 'routes[0]'
const wantFn = process.env.EXPECT_FUNCTION || 'echo'
// EXPECT_ANSWER: a route the gateway answers itself, drawn as its answer.
const wantAnswer = process.env.EXPECT_ANSWER || ''

function fail(msg) {
  console.error(`dashboard e2e: ${msg}`)
  process.exit(1)
}

if (!url || !out) fail('DASHBOARD_URL and ARTIFACTS_DIR must be set')

const browser = await chromium.launch({
  executablePath: exe,
  headless: true,
  // This machine's network is closed: background and update traffic would
  // only fail, many connections at a time.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  timeout: 60_000,
}).catch((e) => fail(`cannot start ${exe}: ${e.message}`))

const pageErrors = []
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
  page.on('pageerror', (e) => pageErrors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()) })
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 })

  const routeSel = `[data-testid=route][data-vs="${wantVS}"][data-route="${wantRoute}"]`
  await page.waitForSelector(`[data-testid=vs][data-name="${wantVS}"]`, { timeout: 20_000 })
    .catch(() => fail(`virtual service ${wantVS} not drawn`))
  await page.waitForSelector(routeSel, { timeout: 20_000 }).catch(() => fail(`route ${wantRoute} not drawn`))
  await page.waitForSelector(`[data-testid=function][data-function="${wantFn}"]`, { timeout: 20_000 })
  if (wantAnswer) await page.waitForSelector(`[data-testid=answer][data-answer="${wantAnswer}"]`, { timeout: 20_000 })
    .catch(() => fail(`function ${wantFn} not drawn`))
  const ready = await page.textContent('[data-testid=ready]')
  if (ready !== 'ready') fail(`ready badge says ${JSON.stringify(ready)}`)

  const routeTotal = async () => Number(await page.textContent(`${routeSel} [data-testid=route-total]`))
  const headerTotal = async () => Number(await page.textContent('[data-testid=total-requests]'))
  const r1 = await routeTotal()
  const h1 = await headerTotal()
  const first = path.join(out, 'dashboard-1.png')
  await page.screenshot({ path: first, fullPage: true })

  // The numbers must move with the traffic: poll (bounded) until the route
  // has served at least 5 more requests.
  let r2 = r1
  const deadline = Date.now() + 30_000
  while (r2 < r1 + 5 && Date.now() < deadline) {
    await page.waitForTimeout(500)
    r2 = await routeTotal()
  }
  if (r2 < r1 + 5) fail(`route ${wantRoute} total stayed at ${r2} (was ${r1}) while traffic flowed`)
  const h2 = await headerTotal()
  if (h2 <= h1) fail(`header total stayed at ${h2} (was ${h1})`)
  // Wait for the next poll so the rate covers a full second of traffic.
  await page.waitForFunction((sel) => Number(document.querySelector(sel)?.textContent) > 0,
    `${routeSel} [data-testid=route-rate]`, { timeout: 20_000 }).catch(() => fail('route rate stayed 0'))
  const rate = await page.textContent(`${routeSel} [data-testid=route-rate]`)
  const second = path.join(out, 'dashboard-2.png')
  await page.screenshot({ path: second, fullPage: true })
  if (pageErrors.length) fail(`errors in the page: ${pageErrors.join('; ')}`)
  console.log(JSON.stringify({ routeTotalBefore: r1, routeTotalAfter: r2, headerBefore: h1, headerAfter: h2, rate, screenshots: [first, second] }))
} catch (e) {
  fail(e.stack || String(e))
} finally {
  await browser.close()
}
