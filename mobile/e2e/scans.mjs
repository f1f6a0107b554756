// Scan to cloud, web submit and the computer-printing page walked in headless Chromium against a real server, started by
// `tests/tests/scan_browser.rs`. The script plays the MFP's gateway too: it uploads scans with
// the gateway's credential while the user's scan session page is open. Environment:
//   YY_BASE                       the server, e.g. http://127.0.0.1:40123
//   YY_ENTERPRISE, YY_ENTERPRISE_ID  the enterprise's code and id
//   YY_ADMIN, YY_ADMIN_PASSWORD   an enterprise super admin (password already set)
//   YY_PLATFORM_TOKEN             a platform admin's token (to credit the user's wallet)
//   YY_USER, YY_USER_PASSWORD     the user
//   YY_GATEWAY                    the gateway's credential
//   YY_POINT_ID, YY_POINT_CODE, YY_POINT_NAME  the print point (an MFP) and its QR code
//   YY_PDF (2 pages), YY_JPEG     files to scan and to drop
//   YY_SHOTS                      where the screenshots go
// Prints "SCANS OK" and exits 0 when every step passed.
import { readFileSync } from 'node:fs'
import { chromium } from 'playwright-core'

const env = process.env
const base = env.YY_BASE
let n = 0
const step = (name) => console.log(`step ${++n}: ${name}`)
const PHONE = { width: 360, height: 640 }
const DESK = { width: 1280, height: 800 }
const pdf = readFileSync(env.YY_PDF)
const jpeg = readFileSync(env.YY_JPEG)

const browser = await chromium.launch({
  executablePath: env.YY_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
})

let shots = 0
let page
/** A screenshot from the top of the page, once transitions (dialogs, tabs, toasts) are done. */
const shot = async (name, p = page) => {
  await p.evaluate(() => window.scrollTo(0, 0))
  await p.waitForTimeout(400)
  return p.screenshot({ path: `${env.YY_SHOTS}/${String(++shots).padStart(2, '0')}-${name}.png`, fullPage: true })
}

function check(ok, what) {
  if (!ok) throw new Error(`expected: ${what}`)
}

async function newPage(viewport, storageState) {
  const context = await browser.newContext({
    viewport, locale: 'zh-CN', storageState, permissions: ['clipboard-read', 'clipboard-write'],
  })
  const p = await context.newPage()
  p.setDefaultTimeout(30_000)
  p.on('pageerror', (e) => console.error(`page error: ${e.message}`))
  return p
}

/** An API call as whoever's token is given; the parsed body (or null) and the status. */
async function call(method, path, token, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await r.text()
  return { status: r.status, body: text ? JSON.parse(text) : null }
}

/** The gateway uploads a scan the MFP sent it. */
async function gatewayScan(scanId, fileName, bytes) {
  const q = new URLSearchParams({ print_point_id: env.YY_POINT_ID, scan_id: scanId, file_name: fileName, scanned_at: String(Date.now()) })
  const r = await fetch(`${base}/api/v1/gateway/scans?${q}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.YY_GATEWAY}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  })
  const body = await r.json()
  check(r.status === 201, `the scan upload is taken (${r.status} ${JSON.stringify(body)})`)
  return body
}

/** An IPP request (RFC 8010) with only the operation attributes every request carries. */
function ippRequest(operation, printerUri) {
  const parts = [Buffer.from([2, 0, operation >> 8, operation & 0xff, 0, 0, 0, 1, 0x01])]
  for (const [tag, name, value] of [[0x47, 'attributes-charset', 'utf-8'], [0x48, 'attributes-natural-language', 'en'], [0x45, 'printer-uri', printerUri]]) {
    const n = Buffer.from(name)
    const v = Buffer.from(value)
    const len = (b) => Buffer.from([b.length >> 8, b.length & 0xff])
    parts.push(Buffer.from([tag]), len(n), n, len(v), v)
  }
  parts.push(Buffer.from([0x03]))
  return Buffer.concat(parts)
}

const tokenIn = (p, key) => p.evaluate((k) => JSON.parse(localStorage.getItem(k) ?? '{}').accessToken, key)
/** The Vant dialog open now. */
const dialog = (p) => p.locator('.van-dialog:visible').last()

try {
  // ---- the admin: scan rate, scan account, scan retention, unclaimed scans ----
  page = await newPage(DESK)
  step('the enterprise admin signs in')
  await page.goto(`${base}/m/admin/`)
  await page.waitForURL(/\/m\/admin\/signin/)
  await page.getByLabel('登录名').fill(env.YY_ADMIN)
  await page.getByLabel('密码', { exact: true }).fill(env.YY_ADMIN_PASSWORD)
  await page.getByRole('button', { name: '登录' }).click()
  await page.waitForURL((u) => u.pathname === '/m/admin' || u.pathname === '/m/admin/')
  const adminToken = await tokenIn(page, 'yunyin.admin')

  step('the scan rate is set in the rate plan')
  await page.locator('nav.side').getByRole('link', { name: /计费标准$/ }).click()
  const rate = page.getByTestId('scan-rate')
  await rate.waitFor()
  check((await rate.inputValue()) === '0.00', 'scanning is free until a rate is set')
  await rate.fill('0.05')
  await page.getByRole('button', { name: '保存计费标准' }).click()
  await page.getByText('计费标准已保存').first().waitFor()
  await shot('admin-scan-rate')
  const plan = await call('GET', `/api/v1/enterprises/${env.YY_ENTERPRISE_ID}/rate-plan`, adminToken)
  check(plan.body.scan_fen_per_page === 5, `the plan has 5 fen per scanned page: ${JSON.stringify(plan.body)}`)

  step("the print point's scan account")
  await page.goto(`${base}/m/admin/print-points/${env.YY_POINT_ID}`)
  const card = page.getByTestId('scan-account')
  await card.getByTestId('scan-user').waitFor()
  const account = (await call('GET', `/api/v1/print-points/${env.YY_POINT_ID}/scan-account`, adminToken)).body
  check((await card.getByTestId('scan-user').innerText()).trim() === account.user, 'the page shows the FTP user')
  check(!(await card.innerText()).includes(account.password), 'the password is hidden until asked for')
  await card.getByRole('button', { name: '显示' }).click()
  check((await card.getByTestId('scan-password').innerText()).trim() === account.password, 'the page shows the password')
  check((await card.getByTestId('scan-port').innerText()).trim() === '2121', 'the FTP port is given')
  await shot('admin-scan-account')

  step('scan retention and the unclaimed scan')
  await page.goto(`${base}/m/admin/enterprises/${env.YY_ENTERPRISE_ID}`)
  await page.getByLabel('扫描记录保留（天）').fill('45')
  await page.getByLabel('无人认领的扫描件保留（小时）').fill('24')
  await page.getByRole('button', { name: '保存基本信息' }).click()
  await page.getByText('已保存').first().waitFor()
  const enterprise = (await call('GET', `/api/v1/enterprises/${env.YY_ENTERPRISE_ID}`, adminToken)).body
  check(enterprise.scan_retention_days === 45 && enterprise.unclaimed_scan_hours === 24, `retention saved: ${JSON.stringify(enterprise)}`)
  await page.getByRole('tab', { name: '扫描', exact: true }).click()
  const counts = page.getByTestId('scan-counts')
  await counts.getByRole('link', { name: env.YY_POINT_NAME }).waitFor()
  const unclaimed = page.getByTestId('unclaimed-scans')
  await unclaimed.getByText('SCAN0001.pdf').waitFor()
  await shot('admin-unclaimed')
  const [saved] = await Promise.all([page.waitForEvent('download'), unclaimed.getByRole('button', { name: '下载' }).click()])
  check(saved.suggestedFilename() === 'SCAN0001.pdf', `the unclaimed scan downloads by its name: ${saved.suggestedFilename()}`)
  await unclaimed.getByRole('button', { name: '删除' }).click()
  await dialog(page).getByRole('button', { name: '确定' }).click()
  await unclaimed.getByText('SCAN0001.pdf').waitFor({ state: 'detached' })
  const left = await call('GET', `/api/v1/enterprises/${env.YY_ENTERPRISE_ID}/scans?unclaimed=true`, adminToken)
  check(left.body.length === 0, 'the unclaimed scan is deleted on the server')
  await page.context().close()

  // ---- the user: scan at the print point, the scans arrive, scan records ----
  page = await newPage(PHONE)
  step('the user opens the print point and signs in')
  await page.goto(`${base}/m/release/${env.YY_POINT_CODE}`)
  await page.waitForURL(/\/m\/enterprise/)
  await page.getByLabel('企业标识').fill(env.YY_ENTERPRISE)
  await page.getByRole('button', { name: '下一步' }).click()
  await page.waitForURL(/\/m\/signin/)
  await page.getByLabel('用户名或手机号').fill(env.YY_USER)
  await page.getByLabel('密码').first().fill(env.YY_USER_PASSWORD)
  await page.locator('.van-tab__panel').first().getByRole('button', { name: '登录' }).click()
  await page.waitForURL(/\/m\/release\//)
  const userToken = await tokenIn(page, 'yunyin.session')
  const releaseUrl = page.url()

  step('no scan records yet: the page says how to scan')
  await page.goto(`${base}/m/scans`)
  await page.getByTestId('no-scans').waitFor()
  await shot('scan-records-empty')
  await page.goto(releaseUrl)

  step('Scan opens a scan session')
  const offer = page.getByTestId('scan-offer')
  await offer.waitFor()
  await shot('release-with-scan')
  await offer.getByRole('button').click()
  await page.waitForURL(/\/m\/scan\/[^/?]+\?code=/)
  const sessionId = new URL(page.url()).pathname.split('/').pop()
  await page.locator('[data-testid="scan-status"][data-open="true"]').waitFor()
  check((await page.getByTestId('scan-point').innerText()).includes(env.YY_POINT_NAME), 'the session names the print point')
  check((await page.getByTestId('scan-rate').innerText()).includes('¥0.05'), 'the scan rate is shown')
  const countdown = await page.getByTestId('countdown').innerText()
  check(/^[45]:\d\d$/.test(countdown), `a countdown of about five minutes: ${countdown}`)
  await shot('scan-session-waiting')

  step('a scan sent while the page is open appears within seconds, charged')
  const expiresBefore = (await call('GET', `/api/v1/scan-sessions/${sessionId}`, userToken)).body.expires_at
  const t0 = Date.now()
  const first = await gatewayScan('gw-browser-0001', 'SCAN0002.PDF', pdf)
  await page.locator(`[data-scan="${first.id}"][data-charge="paid"]`).waitFor({ timeout: 10_000 })
  console.log(`the scan appeared after ${Date.now() - t0} ms`)
  await page.locator(`[data-scan="${first.id}"] img.thumb`).waitFor()
  const session = (await call('GET', `/api/v1/scan-sessions/${sessionId}`, userToken)).body
  check(session.expires_at >= expiresBefore, 'the session is kept open by the scan')
  check(first.price_fen === 10 && first.charge === 'paid', `2 pages at 5 fen, paid: ${JSON.stringify(first)}`)

  step('a scan the wallet cannot cover is kept, unpaid')
  const second = await gatewayScan('gw-browser-0002', 'IMG_0003.JPG', jpeg)
  await page.locator(`[data-scan="${second.id}"][data-charge="unpaid"]`).waitFor({ timeout: 10_000 })
  await page.locator(`[data-scan="${second.id}"] img.thumb`).waitFor()
  await shot('scan-session-arrived')

  step('keep scanning, then end the session')
  await page.getByRole('button', { name: '继续扫描' }).click()
  await page.locator('[data-testid="scan-status"][data-open="true"]').waitFor()
  check(!(await page.locator('.error').count()), 'keeping on scanning works')
  await page.getByRole('button', { name: '结束扫描' }).click()
  await page.locator('[data-testid="scan-status"][data-open="false"]').waitFor()
  check((await call('GET', `/api/v1/scan-sessions/${sessionId}`, userToken)).body.open === false, 'the session ended on the server')
  await shot('scan-session-ended')

  step('scan records')
  await page.getByRole('button', { name: '我的扫描记录' }).click()
  await page.waitForURL(/\/m\/scans$/)
  const record = (id) => page.locator(`li[data-scan="${id}"]`)
  await record(first.id).waitFor()
  await record(second.id).waitFor()
  await record(first.id).locator('img.thumb').waitFor()
  await shot('scan-records')

  step('paying for the unpaid scan offers a top-up first')
  await record(second.id).getByRole('button', { name: /支付/ }).click()
  await dialog(page).getByText('余额不足').first().waitFor()
  console.log(`insufficient balance: ${await dialog(page).innerText()}`)
  await shot('scan-pay-insufficient')
  await dialog(page).getByRole('button', { name: '取消' }).click()
  const me = (await call('GET', '/api/v1/me', userToken)).body
  const credit = await call('POST', `/api/v1/enterprises/${env.YY_ENTERPRISE_ID}/users/${me.id}/wallet/adjustments`, env.YY_PLATFORM_TOKEN,
    { amount_fen: 100, reason: '扫描测试充值', idempotency_key: 'scan-browser-credit' })
  check(credit.status === 200, `credited: ${credit.status}`)
  await record(second.id).getByRole('button', { name: /支付/ }).click()
  await page.locator(`li[data-scan="${second.id}"][data-charge="paid"]`).waitFor()

  step('view the image scan in the app')
  await record(second.id).getByRole('button', { name: '查看' }).click()
  const image = page.getByTestId('viewer-image')
  await image.waitFor()
  await page.waitForFunction(() => document.querySelector('[data-testid="viewer-image"]')?.naturalWidth > 0)
  await shot('scan-viewer')
  await page.locator('.viewer').getByRole('button', { name: '关闭' }).click()

  step('view the PDF scan in a new tab')
  const [tab] = await Promise.all([page.context().waitForEvent('page'), record(first.id).getByRole('button', { name: '查看' }).click()])
  await tab.waitForURL(/^blob:/)
  await tab.close()

  step('rename')
  await record(first.id).getByRole('button', { name: '重命名' }).click()
  const rename = dialog(page)
  await rename.getByLabel('新名称').fill('合同扫描')
  await shot('scan-rename')
  await rename.getByRole('button', { name: '重命名' }).click()
  await record(first.id).getByText('合同扫描.pdf').waitFor()
  check((await call('GET', `/api/v1/scans/${first.id}`, userToken)).body.name === '合同扫描.pdf', 'renamed on the server')
  const [got] = await Promise.all([page.waitForEvent('download'), record(first.id).getByRole('button', { name: '下载' }).click()])
  check(got.suggestedFilename() === '合同扫描.pdf', `the download has the new name: ${got.suggestedFilename()}`)
  check(readFileSync(await got.path()).equals(pdf), 'the download is the scanned file')

  step('share, fetch the link, revoke it')
  await record(first.id).getByRole('button', { name: '分享' }).click()
  const share = dialog(page)
  await share.getByText('1 天', { exact: true }).click()
  await share.getByRole('button', { name: '生成链接' }).click()
  const url = (await share.getByTestId('share-url').innerText()).trim()
  const shared = await fetch(url)
  check(shared.status === 200 && shared.headers.get('content-type') === 'application/pdf', `the link serves the PDF: ${shared.status}`)
  check(Buffer.from(await shared.arrayBuffer()).equals(pdf), 'the shared file is the scanned bytes')
  const expiry = (await call('GET', `/api/v1/scans/${first.id}`, userToken)).body.shared_until
  check(Math.abs(expiry - Date.now() - 24 * 3600_000) < 120_000, 'the link works for a day')
  await share.getByRole('button', { name: '复制' }).click()
  await page.getByText('已复制').first().waitFor()
  check((await page.evaluate(() => navigator.clipboard.readText())) === url, 'the link is on the clipboard')
  await shot('scan-share')
  await share.getByRole('button', { name: '取消分享' }).click()
  await page.getByText('已取消分享').first().waitFor()
  check((await fetch(url)).status === 404, 'a revoked link no longer works')
  await share.getByRole('button', { name: '关闭' }).click()

  step('print this')
  await record(first.id).getByRole('button', { name: '打印' }).click()
  await page.waitForURL(/\/m\/jobs$/)
  await page.locator('[data-state="ready"]').filter({ hasText: '合同扫描.pdf' }).waitFor({ timeout: 90_000 })
  await shot('scan-printed-as-job')

  step('delete')
  await page.goto(`${base}/m/scans`)
  await record(first.id).getByRole('button', { name: '删除' }).click()
  await dialog(page).getByRole('button', { name: '删除' }).click()
  await record(first.id).waitFor({ state: 'detached' })
  check((await call('GET', `/api/v1/scans/${first.id}`, userToken)).status === 404, 'deleted on the server')
  await shot('scan-deleted')

  step('the wallet names the scan charges')
  await page.goto(`${base}/m/wallet`)
  await page.locator('[data-kind="scan_charge"]').first().waitFor()
  check((await page.locator('[data-kind="scan_charge"]').count()) === 2, 'two scan charges')
  check((await page.locator('[data-kind="scan_charge"]').first().innerText()).includes('扫描扣费'), 'labelled as scan charges')
  await shot('wallet-scan-charges')
  const state = await page.context().storageState()
  await page.context().close()

  // ---- web submit: files dropped on the documents page of a desktop browser ----
  page = await newPage(DESK, state)
  step('drag three files onto the documents page')
  await page.goto(`${base}/m/jobs`)
  await page.locator('.drop-hint').waitFor()
  check(await page.locator('input[type=file]').evaluate((i) => i.multiple), 'the file input takes several files')
  const files = [
    { name: '拖放-一.pdf', type: 'application/pdf', b64: pdf.toString('base64') },
    { name: '拖放-二.jpg', type: 'image/jpeg', b64: jpeg.toString('base64') },
    { name: 'noise.bin', type: 'application/octet-stream', b64: Buffer.from([0, 159, 146, 150, 0, 1, 2, 255]).toString('base64') },
  ]
  const transfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer()
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))
      dt.items.add(new File([bytes], f.name, { type: f.type }))
    }
    return dt
  }, files)
  const target = page.locator('main')
  await target.dispatchEvent('dragenter', { dataTransfer: transfer })
  await target.dispatchEvent('dragover', { dataTransfer: transfer })
  await page.getByTestId('drop-overlay').waitFor()
  await shot('drop-overlay')
  await target.dispatchEvent('drop', { dataTransfer: transfer })
  await page.getByTestId('drop-overlay').waitFor({ state: 'detached' })
  await page.locator('[data-state="ready"]').filter({ hasText: '拖放-一.pdf' }).waitFor({ timeout: 90_000 })
  await page.locator('[data-state="ready"]').filter({ hasText: '拖放-二.jpg' }).waitFor({ timeout: 90_000 })
  const refused = page.locator('[data-upload="noise.bin"][data-failed="true"]')
  await refused.locator('[role=alert]').waitFor()
  check((await refused.innerText()).length > 'noise.bin'.length, 'the refused file says why')
  await shot('dropped-files')

  // ---- printing from a computer: the printer's address and a printing token ----
  step('a printing token is made in the app, works at the IPP printer, and is revoked')
  await page.goto(`${base}/m/wallet`)
  await page.getByTestId('computers').click()
  await page.waitForURL(/\/m\/computers/)
  const ippUrl = (await page.getByTestId('ipp-url').innerText()).trim()
  check(ippUrl.endsWith(`/ipp/print/${env.YY_ENTERPRISE}`) && ippUrl.includes('ipp://'), `the printer's address: ${ippUrl}`)
  // The user name to give, once the page has read the account.
  await page.getByTestId('printer-user').getByText(env.YY_USER).waitFor()
  await page.getByTestId('token-name').locator('input').fill('办公室电脑')
  await page.getByTestId('token-create').click()
  const secret = (await page.getByTestId('token-secret').innerText()).trim()
  check(secret.length >= 20, 'the secret is shown once')
  await page.getByTestId('token').filter({ hasText: '办公室电脑' }).waitFor()
  await shot('printing-token')
  const printer = `${base}/ipp/print/${env.YY_ENTERPRISE}`
  const getJobs = async (password) => {
    const r = await fetch(printer, {
      method: 'POST',
      headers: {
        'content-type': 'application/ipp',
        authorization: `Basic ${Buffer.from(`${env.YY_USER}:${password}`).toString('base64')}`,
      },
      body: ippRequest(0x000a, ippUrl),
    })
    const body = Buffer.from(await r.arrayBuffer())
    return { status: r.status, ipp: body.length >= 4 ? body.readUInt16BE(2) : -1 }
  }
  const signedIn = await getJobs(secret)
  check(signedIn.status === 200 && signedIn.ipp === 0, `the token signs in at the printer: ${JSON.stringify(signedIn)}`)
  await page.getByRole('button', { name: '吊销 办公室电脑' }).click()
  await dialog(page).getByRole('button', { name: '吊销' }).click()
  await page.getByTestId('token').filter({ hasText: '办公室电脑' }).waitFor({ state: 'detached' })
  check((await call('GET', '/api/v1/me/printing-tokens', userToken)).body.length === 0, 'revoked on the server')
  const revokedTry = await getJobs(secret)
  check(revokedTry.status === 401, `a revoked token is refused: ${JSON.stringify(revokedTry)}`)

  console.log('SCANS OK')
  await browser.close()
} catch (e) {
  await shot('failure').catch(() => undefined)
  console.error(`scan walk failed at step ${n}: ${e?.stack ?? e}`)
  await browser.close()
  process.exit(1)
}
