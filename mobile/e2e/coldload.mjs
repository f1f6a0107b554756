// Cold load of the release page (bench-mobile starts the server and passes):
//   YY_BASE, YY_CODE (a print point), YY_SESSION (the signed-in user's session JSON),
//   YY_ROUNDS (default 20).
// Each round opens a fresh browser context (empty cache) and times, from navigation start,
// until the release page is interactive (its pay button enabled); beside it, the same for a
// blank page from the same server (`/healthz`). Prints one JSON line.
import { chromium } from 'playwright-core'

const env = process.env
const rounds = Number(env.YY_ROUNDS || 20)
const browser = await chromium.launch({
  executablePath: env.YY_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
})

async function once(url, ready) {
  const context = await browser.newContext({ viewport: { width: 360, height: 640 } })
  await context.addInitScript((s) => localStorage.setItem('yunyin.session', s), env.YY_SESSION)
  const page = await context.newPage()
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
const blank = []
for (let i = 0; i < rounds; i++) {
  release.push(await once(`${env.YY_BASE}/m/release/${env.YY_CODE}`, (p) =>
    p.locator('.pay button:not([disabled])').first().waitFor({ timeout: 30_000 })))
  blank.push(await once(`${env.YY_BASE}/healthz`, (p) => p.waitForLoadState('load')))
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
  blank_p50_ms: pct(blank, 0.5),
  blank_p95_ms: pct(blank, 0.95),
  release_transfer_bytes: release[0].bytes,
}))
