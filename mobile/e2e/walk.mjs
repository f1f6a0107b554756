// The mobile app walked in headless Chromium against a real server, gateway and printer,
// started by `tests/tests/mobile_browser.rs`, which passes what it set up in the environment:
//   YY_BASE           the server, e.g. http://127.0.0.1:40123
//   YY_ENTERPRISE     the enterprise code to choose
//   YY_ENTERPRISE_ID  its id, and YY_ADMIN_TOKEN an admin's token (to credit the new user)
//   YY_BAD_POINT      the code of a print point whose printer cannot be reached
//   YY_QR_VIDEO       a Y4M video of the good print point's QR code (the fake camera)
//   YY_PDF, YY_PHOTO  the files to upload
//   YY_SHOTS          where to save a screenshot of every screen
// Prints "WALK OK" and exits 0 when every step passed.
import { chromium } from 'playwright-core'

const env = process.env
const base = env.YY_BASE
let n = 0
const step = (name) => console.log(`step ${++n}: ${name}`)

const browser = await chromium.launch({
  executablePath: env.YY_CHROMIUM || '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${env.YY_QR_VIDEO}`,
  ],
})
const context = await browser.newContext({ viewport: { width: 360, height: 640 }, locale: 'zh-CN', permissions: ['camera'] })
const page = await context.newPage()
page.setDefaultTimeout(30_000)
let shots = 0
const shot = (name) => page.screenshot({ path: `${env.YY_SHOTS}/${String(++shots).padStart(2, '0')}-${name}.png`, fullPage: true })

try {
  step('enterprise')
  await page.goto(`${base}/m/`)
  await page.waitForURL(/\/m\/enterprise/)
  await page.getByLabel('企业标识').fill(env.YY_ENTERPRISE)
  await shot('enterprise')
  await page.getByRole('button', { name: '下一步' }).click()

  step('registration')
  await page.waitForURL(/\/m\/signin/)
  await page.getByRole('tab', { name: '注册' }).click()
  const form = page.locator('.van-tab__panel').nth(1)
  await form.getByLabel('用户名').fill('browser-user')
  await form.getByLabel('昵称').fill('小云')
  await form.getByLabel('密码').fill('passw0rd!browser')
  await shot('register')
  await form.getByRole('button', { name: '注册' }).click()
  await page.waitForURL(/\/m\/jobs/)

  // Credit the new user (as an admin would), so the release is a real wallet payment.
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('yunyin.session')).accessToken)
  const me = await (await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json()
  const credit = await fetch(`${base}/api/v1/enterprises/${env.YY_ENTERPRISE_ID}/users/${me.id}/wallet/adjustments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.YY_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amount_fen: 1000, reason: '浏览器测试充值', idempotency_key: 'browser-credit-1' }),
  })
  if (!credit.ok) throw new Error(`credit failed: ${credit.status}`)

  step('upload a PDF and a photo')
  await page.locator('input[type=file]').setInputFiles([env.YY_PDF, env.YY_PHOTO])
  await page.locator('[data-state="ready"]').nth(1).waitFor({ timeout: 90_000 })
  await page.locator('img.thumb').first().waitFor()
  await shot('documents')

  step('options and price')
  await page.locator('[data-state="ready"]').first().click()
  await page.waitForURL(/\/m\/jobs\//)
  const price = page.locator('.van-submit-bar__price')
  await price.waitFor()
  const before = await price.innerText()
  await page.locator('.van-stepper__plus').click()
  await page.waitForFunction((b) => document.querySelector('.van-submit-bar__price')?.textContent !== b, before)
  await shot('options')

  step('scan the print point with the camera')
  await page.getByRole('button', { name: '扫码打印' }).click()
  await page.waitForURL(/\/m\/release\//, { timeout: 60_000 })
  await shot('release')

  step('pay from the wallet; the job prints')
  await page.locator('[data-testid="total"]').waitFor()
  await page.getByRole('button', { name: '余额支付' }).click()
  await page.locator('.watch [data-state="completed"]').first().waitFor({ timeout: 90_000 })
  await shot('printed')

  step('a printer failure and its refund')
  await page.locator('input[type=file]').count() // (no upload on this page)
  await page.goto(`${base}/m/jobs`)
  await page.locator('input[type=file]').setInputFiles([env.YY_PDF])
  await page.locator('[data-state="ready"]').first().waitFor({ timeout: 90_000 })
  await page.goto(`${base}/p/${env.YY_BAD_POINT}`)
  await page.waitForURL(/\/m\/release\//)
  await page.getByRole('button', { name: '余额支付' }).click()
  await page.locator('.watch [data-state="failed"]').first().waitFor({ timeout: 90_000 })
  await page.getByText('已退款').first().waitFor({ timeout: 30_000 })
  await page.getByText('打印机未能完成打印').first().waitFor()
  await shot('failed-and-refunded')

  step('wallet')
  await page.goto(`${base}/m/wallet`)
  await page.locator('[data-kind="refund"]').first().waitFor()
  await shot('wallet')

  console.log('WALK OK')
  await browser.close()
} catch (e) {
  await shot('failure').catch(() => undefined)
  console.error(`walk failed at step ${n}: ${e?.stack ?? e}`)
  await browser.close()
  process.exit(1)
}
