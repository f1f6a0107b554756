// Cold load of the release page (bench-mobile starts the server and passes):
//   YY_BASE, YY_CODE (a print point), YY_SESSION (the signed-in user's session JSON),
//   YY_ROUNDS (default 20); optionally YY_BASE_BEFORE (a server of the same database serving
//   the build from before the admin console, measured round by round beside the current one)
//   and YY_ADMIN_SESSION (a signed-in admin: the console's dashboard is timed too).
// Each round opens a fresh browser context (empty cache) and times, from navigation start,
// until the release page is interactive (its pay button enabled); beside it, round by round,
// the same page asking for uncompressed files (`Accept-Encoding: identity`, so the server's
// Brotli/gzip copies are not used) and a blank page from the same server (`/healthz`).
// Then both again on an emulated phone network (Chrome DevTools' "Fast 3G": 150 ms latency,
// 1.6 Mbit/s down, 750 kbit/s up), where the bytes matter. Prints one JSON line.
import { chromium } from 'playwright-core'

const env = process.env
const rounds = Number(env.YY_ROUNDS || 20)
const browser = await chromium.launch({
  executablePath: env.YY_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
})

const FAST_3G = { offline: false, latency: 150, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8 }

async function once(url, ready, headers = {}, network = null, stored = ['yunyin.session', env.YY_SESSION]) {
  const context = await browser.newContext({ viewport: { width: 360, height: 640 }, extraHTTPHeaders: headers })
  await context.addInitScript(([k, v]) => localStorage.setItem(k, v), stored)
  const page = await context.newPage()
  if (network) {
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', network)
  }
  const started = Date.now()
  await page.goto(url)
  await ready(page)
  const ms = Date.now() - started
  const bytes = await page.evaluate(() =>
    performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
      .reduce((sum, e) => sum + (e.transferSize || 0), 0),
  )
  await context.close()
  return { ms, bytes }
}

const release = []
const identity = []
const blank = []
const before = []
const dashboard = []
const interactive = (p) => p.locator('.pay button:not([disabled])').first().waitFor({ timeout: 30_000 })
// The console's dashboard is ready when its numbers are in.
const dashboardReady = (p) => p.getByTestId('dash-online').waitFor({ timeout: 30_000 })
for (let i = 0; i < rounds; i++) {
  release.push(await once(`${env.YY_BASE}/m/release/${env.YY_CODE}`, interactive))
  identity.push(await once(`${env.YY_BASE}/m/release/${env.YY_CODE}`, interactive, { 'accept-encoding': 'identity' }))
  blank.push(await once(`${env.YY_BASE}/healthz`, (p) => p.waitForLoadState('load')))
  // The same page from the build before the admin console (YY_BASE_BEFORE serves it).
  if (env.YY_BASE_BEFORE) before.push(await once(`${env.YY_BASE_BEFORE}/m/release/${env.YY_CODE}`, interactive))
  if (env.YY_ADMIN_SESSION) {
    dashboard.push(await once(`${env.YY_BASE}/m/admin`, dashboardReady, {}, null, ['yunyin.admin', env.YY_ADMIN_SESSION]))
  }
}
const phone = []
const phoneIdentity = []
for (let i = 0; i < Math.max(1, Math.floor(rounds / 2)); i++) {
  phone.push(await once(`${env.YY_BASE}/m/release/${env.YY_CODE}`, interactive, {}, FAST_3G))
  phoneIdentity.push(
    await once(`${env.YY_BASE}/m/release/${env.YY_CODE}`, interactive, { 'accept-encoding': 'identity' }, FAST_3G))
}
await browser.close()
const pct = (xs, p) => {
  const s = xs.map((x) => x.ms).sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))]
}
console.log(JSON.stringify({
  rounds,
  release_p50_ms: pct(release, 0.5),
  release_p95_ms: pct(release, 0.95),
  identity_p50_ms: pct(identity, 0.5),
  identity_p95_ms: pct(identity, 0.95),
  phone_p50_ms: pct(phone, 0.5),
  phone_identity_p50_ms: pct(phoneIdentity, 0.5),
  blank_p50_ms: pct(blank, 0.5),
  before_p50_ms: before.length ? pct(before, 0.5) : null,
  before_p95_ms: before.length ? pct(before, 0.95) : null,
  dashboard_p50_ms: dashboard.length ? pct(dashboard, 0.5) : null,
  dashboard_p95_ms: dashboard.length ? pct(dashboard, 0.95) : null,
  dashboard_transfer_bytes: dashboard.length ? dashboard[0].bytes : null,
  blank_p95_ms: pct(blank, 0.95),
  release_transfer_bytes: release[0].bytes,
  identity_transfer_bytes: identity[0].bytes,
}))
