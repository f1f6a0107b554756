// The app inside WeChat's browser (its user agent), against the real server and the fake
// WeChat server (started by `tests/tests/mobile_browser.rs`):
//   YY_BASE, YY_ENTERPRISE, YY_APP_ID (the official account), YY_QR_TEXT (what WeChat's scanner
//   reads), YY_SHOTS.
// WeChat's JS-SDK script is replaced by a stand-in that records `wx.config` and answers
// `wx.scanQRCode` with YY_QR_TEXT. Prints "WECHAT OK" when every step passed.
import { chromium } from 'playwright-core'

const env = process.env
const browser = await chromium.launch({
  executablePath: env.YY_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
})
const context = await browser.newContext({
  viewport: { width: 360, height: 640 },
  locale: 'zh-CN',
  userAgent: 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Mobile Safari/537.36 MicroMessenger/8.0.50',
})
await context.route('https://res.wx.qq.com/**', (route) =>
  route.fulfill({
    contentType: 'application/javascript',
    body: `window.wx = {
      config(c) { window.__wxConfig = c },
      ready(f) { setTimeout(f, 0) },
      error() {},
      scanQRCode(o) { setTimeout(() => o.success({ resultStr: ${JSON.stringify(env.YY_QR_TEXT)} }), 0) },
    }`,
  }),
)
const page = await context.newPage()
page.setDefaultTimeout(30_000)
let shots = 0
const shot = (name) => page.screenshot({ path: `${env.YY_SHOTS}/wechat-${String(++shots).padStart(2, '0')}-${name}.png`, fullPage: true })

try {
  await page.goto(`${env.YY_BASE}/m/`)
  await page.waitForURL(/\/m\/enterprise/)
  await page.getByLabel('企业标识').fill(env.YY_ENTERPRISE)
  await page.getByRole('button', { name: '下一步' }).click()
  await page.waitForURL(/\/m\/signin/)
  await shot('signin')
  // WeChat's authorisation page sends us back with a code; WeChat vouches, so only a name is asked.
  await page.getByRole('button', { name: '微信登录' }).click()
  await page.waitForURL(/\/m\/signin\?.*code=/)
  await page.getByLabel('昵称').fill('微信用户')
  await shot('wechat-register')
  await page.getByRole('button', { name: '注册' }).click()
  await page.waitForURL(/\/m\/jobs/)

  await page.locator('.van-tabbar-item', { hasText: '扫码打印' }).click()
  await page.waitForURL(/\/m\/release$/)
  await page.getByRole('button', { name: '微信扫一扫' }).click()
  await page.waitForURL(/\/m\/release\/[A-Za-z0-9]+/)
  // (Its gateway is not connected in this test: the page says so before anyone pays.)
  await page.getByText('打印机离线').waitFor()
  await shot('release')
  const config = await page.evaluate(() => window.__wxConfig)
  if (config?.appId !== env.YY_APP_ID || !/^[0-9a-f]{40}$/.test(config?.signature ?? '')) {
    throw new Error(`unexpected wx.config: ${JSON.stringify(config)}`)
  }
  console.log('WECHAT OK')
  await browser.close()
} catch (e) {
  await shot('failure').catch(() => undefined)
  console.error(`wechat walk failed: ${e?.stack ?? e}`)
  await browser.close()
  process.exit(1)
}
