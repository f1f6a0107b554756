// The admin console walked in headless Chromium against a real server, gateway and printer,
// started by `tests/tests/admin_browser.rs`, which passes in the environment:
//   YY_BASE                      the server, e.g. http://127.0.0.1:40123
//   YY_ADMIN, YY_ADMIN_PASSWORD  the platform admin and their one-time password
//   YY_MERCHANT_KEY              a WeChat Pay merchant's private key (PEM file)
//   YY_PLATFORM_KEY, YY_PLATFORM_KEY_ID  the (fake) WeChat Pay platform public key and its id
//   YY_SHOTS                     where a screenshot of every page goes, at 360×640 and 1280×800
// and answers on stdin what the walk asks on stdout, a line each (see admin_browser.rs):
//   ENROL {server, enterprise, token} → ENROLLED; USER {enterprise} → USER_READY {id};
//   PRINT {code} → PRINTED {job_id}.
// Prints "ADMIN WALK OK" and exits 0 when every step passed.
import readline from 'node:readline'
import { chromium } from 'playwright-core'

const env = process.env
const base = env.YY_BASE
let n = 0
const step = (name) => console.error(`step ${++n}: ${name}`)

// The test's answers, a line at a time.
const replies = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]()
async function ask(verb, arg) {
  console.log(`${verb} ${JSON.stringify(arg)}`)
  const { value, done } = await replies.next()
  if (done) throw new Error(`no answer to ${verb}`)
  const [answer, ...rest] = value.split(' ')
  return { answer, data: rest.length ? JSON.parse(rest.join(' ')) : null }
}

const browser = await chromium.launch({
  executablePath: env.YY_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
})
const DESK = { width: 1280, height: 800 }
const PHONE = { width: 360, height: 640 }

let shots = 0
/** A screenshot of the page as it is, on a phone and on a desk. */
async function shot(page, name) {
  const k = String(++shots).padStart(2, '0')
  for (const size of [PHONE, DESK]) {
    await page.setViewportSize(size)
    // From the top: a full-page shot of a scrolled page draws the sticky header mid-page.
    await page.evaluate(() => window.scrollTo(0, 0))
    // Two animation frames: the new size laid out and painted.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))))
    await page.screenshot({ path: `${env.YY_SHOTS}/${k}-${name}-${size.width}x${size.height}.png`, fullPage: true })
  }
}

async function newPage() {
  const context = await browser.newContext({ viewport: DESK, locale: 'zh-CN' })
  const page = await context.newPage()
  page.setDefaultTimeout(30_000)
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`))
  return page
}

/** Opens a console page from the sidebar. */
async function nav(page, label) {
  // The icon's glyph (CSS ::before) is part of the link's accessible name: match the end.
  await page.locator('nav.side').getByRole('link', { name: new RegExp(`${label}$`) }).click()
}

/** Signs in at /m/admin/signin and, with a one-time password, sets `password` first. */
async function signIn(page, username, oneTime, password) {
  await page.goto(`${base}/m/admin/`)
  await page.waitForURL(/\/m\/admin\/signin/)
  await page.getByLabel('登录名').fill(username)
  await page.getByLabel('密码', { exact: true }).fill(oneTime)
  return async (shoot) => {
    await page.getByRole('button', { name: '登录' }).click()
    await page.waitForURL(/\/m\/admin\/password/)
    await page.getByTestId('password-why').waitFor()
    await page.getByLabel('一次性密码').fill(oneTime)
    await page.getByLabel('新密码', { exact: true }).fill(password)
    await page.getByLabel('确认密码').fill(password)
    if (shoot) await shot(page, 'password')
    await page.getByRole('button', { name: '修改密码' }).click()
    await page.getByTestId('dash-online').waitFor()
  }
}

/** Reads the one-time password from its dialog and closes it. */
async function oneTimePassword(page) {
  const otp = (await page.getByTestId('one-time-password').innerText()).trim()
  await page.getByRole('button', { name: '我已记下' }).click()
  return otp
}

// What the O&M and jobs pages call things.
const GATEWAY = { createToken: '生成注册码' }
const POINT = {
  region: '区域',
  qrUrlTestId: 'qr-url',
  async setRates(page) {
    const r = page.getByTestId('print-point-rates')
    await r.getByRole('radio', { name: '本打印点单独计费' }).click()
    if (!(await r.getByTestId('rate-row').count())) await r.getByRole('button', { name: '添加一行' }).click()
    await r.getByLabel('A4 黑白 每面价格（元）').fill('0.20')
    await r.getByRole('button', { name: '保存费率' }).click()
    await page.getByText('费率已保存').first().waitFor()
  },
}
const JOBS = {
  completed: '已完成',
  async filterByUser(page, name) {
    await page.getByLabel('用户', { exact: true }).fill(name)
    await page.getByTestId('user-option').filter({ hasText: name }).first().click()
    await page.getByTestId('chosen-user').waitFor()
  },
}

async function expectText(locator, text) {
  await locator.filter({ hasText: text }).first().waitFor()
}

try {
  // 1. The platform admin: first sign-in, the one-time password changed, the dashboard.
  step('platform admin signs in and changes the one-time password')
  const platform = await newPage()
  const finishPlatform = await signIn(platform, env.YY_ADMIN, env.YY_ADMIN_PASSWORD, 'platform-passw0rd!')
  await shot(platform, 'signin')
  await finishPlatform(true)
  await shot(platform, 'dashboard')

  step('a provider, an enterprise under it, and its super admin')
  await nav(platform, '组织架构')
  await platform.getByRole('button', { name: '新建服务商' }).click()
  await platform.getByLabel('服务商名称').fill('华东代理')
  await platform.getByRole('button', { name: '创建服务商' }).click()
  await expectText(platform.getByTestId('org-tree'), '华东代理')
  await platform.getByRole('button', { name: '新建企业' }).click()
  await platform.getByLabel('企业标识').fill('CONSOLE')
  await platform.getByLabel('企业名称').fill('云印测试公司')
  await platform.getByLabel('联系人').fill('王经理')
  await platform.getByLabel('联系电话').fill('13800138000')
  await platform.getByLabel('所属服务商').selectOption({ label: '华东代理' })
  await shot(platform, 'organisation-new-enterprise')
  await platform.getByRole('button', { name: '创建企业' }).click()
  await platform.waitForURL(/\/m\/admin\/enterprises\//)
  await expectText(platform.getByTestId('enterprise-code'), 'CONSOLE')
  await platform.getByRole('tab', { name: '管理员' }).click()
  await platform.getByLabel('登录名').fill('console-boss')
  await platform.getByLabel('姓名').fill('王经理')
  await platform.getByRole('radio', { name: '超级管理员' }).click()
  await platform.getByRole('button', { name: '创建管理员' }).click()
  await platform.getByTestId('one-time-password').waitFor()
  await shot(platform, 'enterprise-admin-created')
  const bossOtp = await oneTimePassword(platform)

  step('the organisation tree, the provider, the admins and the MAC whitelist')
  await nav(platform, '组织架构')
  await expectText(platform.getByTestId('org-tree'), '云印测试公司')
  await shot(platform, 'organisation')
  await platform.getByTestId('org-tree').getByText('华东代理').first().click()
  await platform.waitForURL(/\/m\/admin\/providers\//)
  await shot(platform, 'provider')
  await nav(platform, '管理员')
  await expectText(platform.locator('main.content'), 'console-boss')
  await shot(platform, 'admins')
  await nav(platform, 'MAC 白名单')
  await shot(platform, 'mac-whitelist')

  // 2. The enterprise's super admin runs their enterprise.
  step('the enterprise admin signs in, creates a region and a region admin')
  const boss = await newPage()
  await (await signIn(boss, 'console-boss', bossOtp, 'boss-passw0rd!'))(false)
  await nav(boss, '组织架构')
  await boss.waitForURL(/\/m\/admin\/enterprises\//)
  await boss.getByRole('tab', { name: '区域' }).click()
  await boss.getByLabel('区域名称').fill('东区')
  await boss.getByRole('button', { name: '创建区域' }).click()
  await expectText(boss.getByTestId('region-name'), '东区')
  await boss.getByRole('tab', { name: '管理员' }).click()
  await boss.getByLabel('登录名').fill('east-admin')
  await boss.getByLabel('姓名').fill('东区管理员')
  await boss.getByRole('radio', { name: '区域管理员' }).click()
  await boss.getByRole('checkbox', { name: '东区' }).click()
  await boss.getByRole('button', { name: '创建管理员' }).click()
  const eastOtp = await oneTimePassword(boss)
  await shot(boss, 'enterprise')

  // 3. The gateway on site enrols with the token the page shows; its printers appear.
  step('a gateway enrols with the token the console shows')
  await nav(boss, '网关')
  await boss.getByRole('button', { name: GATEWAY.createToken }).click()
  const token = (await boss.getByTestId('enrolment-token').innerText()).trim()
  await shot(boss, 'gateways-token')
  const enrolled = await ask('ENROL', { server: base, enterprise: 'CONSOLE', token })
  if (enrolled.answer !== 'ENROLLED') throw new Error(`the gateway did not enrol: ${enrolled.answer}`)
  await boss.getByTestId('gateway-online').first().waitFor({ timeout: 30_000 })
  await shot(boss, 'gateways')

  step('the new print point: region, cloud print, rates')
  await nav(boss, '打印点')
  await expectText(boss.locator('main.content'), '仓库')
  await shot(boss, 'print-points')
  await boss.getByTestId('print-point-name').filter({ hasText: '前台' }).first().click()
  await boss.waitForURL(/\/m\/admin\/print-points\//)
  await boss.getByLabel(POINT.region).selectOption({ label: '东区' })
  const cloud = boss.getByRole('switch', { name: '云打印' })
  if ((await cloud.getAttribute('aria-checked')) !== 'true') await cloud.click()
  await boss.getByRole('button', { name: '保存打印点' }).click()
  await boss.getByText('打印点已保存').first().waitFor()
  await expectText(boss.getByTestId('print-point-region'), '东区')
  await POINT.setRates(boss)
  const qrUrl = (await boss.getByTestId(POINT.qrUrlTestId).innerText()).trim()
  const code = qrUrl.split('/').pop()
  await shot(boss, 'print-point')
  await nav(boss, '计费标准')
  await shot(boss, 'rates')

  // 4. Money: the merchant account, a user's wallet.
  step('the WeChat Pay merchant account')
  await nav(boss, '收款与订单')
  if (await boss.getByRole('button', { name: '配置微信支付' }).isVisible()) {
    await boss.getByRole('button', { name: '配置微信支付' }).click()
  }
  await boss.getByLabel('AppID', { exact: true }).fill('wx1234567890abcdef')
  await boss.getByLabel('商户号').fill('1900000109')
  await boss.getByLabel('APIv3 密钥').fill('0123456789abcdefghijklmnopqrstuv')
  await boss.getByLabel('商户 API 证书序列号').fill('5157F09EFDC096DE15EBE81A47057A7232F1B8E1')
  await boss.getByTestId('pem-file-private_key_pem').setInputFiles(env.YY_MERCHANT_KEY)
  await boss.getByTestId('pem-file-platform_public_key_pem').setInputFiles(env.YY_PLATFORM_KEY)
  await boss.getByLabel('微信支付公钥 ID（或平台证书序列号）').fill(env.YY_PLATFORM_KEY_ID)
  await boss.getByRole('button', { name: '保存微信支付账户' }).click()
  await boss.locator('[data-testid="account-wechat_pay"][data-configured="true"]').waitFor()
  await boss.getByTestId('mask-wechat_pay-api_v3_key').waitFor()
  await shot(boss, 'money')

  step('a user registers; the admin finds them and credits their wallet')
  const user = await ask('USER', { enterprise: 'CONSOLE' })
  await nav(boss, '用户与钱包')
  await boss.getByLabel('搜索用户').fill('console-user')
  await boss.getByRole('button', { name: '搜索', exact: true }).click()
  const userRow = boss.getByTestId('user-name').filter({ hasText: 'console-user' }).first()
  await userRow.waitFor()
  await shot(boss, 'users')
  await userRow.click()
  await boss.waitForURL(/\/m\/admin\/users\//)
  await boss.getByLabel('金额（元）').fill('10')
  await boss.getByLabel('原因').fill('开通赠送')
  await boss.getByRole('button', { name: '调整余额' }).click()
  await expectText(boss.getByTestId('wallet-balance'), '10.00')
  await boss.getByRole('button', { name: '核对账目' }).click()
  await boss.locator('[data-testid="wallet-audit"][data-consistent="true"]').waitFor()
  await shot(boss, 'user-wallet')

  // 5. The user prints; the admin finds the job and its history.
  step('the user prints at the print point')
  const printed = await ask('PRINT', { code })
  if (printed.answer !== 'PRINTED') throw new Error(`the print did not complete: ${printed.answer}`)
  step('the admin finds the job by its user and reads its history')
  await nav(boss, '在线文印查询')
  await JOBS.filterByUser(boss, 'console-user')
  if (!user.data.id) throw new Error('no user id')
  const jobRow = boss.locator('main.content').getByText('季度报告.pdf').first()
  await jobRow.waitFor()
  await shot(boss, 'jobs')
  await jobRow.click()
  await boss.waitForURL(new RegExp(`/m/admin/jobs/${printed.data.job_id}`))
  await expectText(boss.getByTestId('job-state'), JOBS.completed)
  await boss.getByTestId('history-row').nth(2).waitFor()
  await shot(boss, 'job')

  step("alerts, alert levels, and the dashboard after the day's first print")
  await nav(boss, '告警')
  await shot(boss, 'alerts')
  await nav(boss, '告警级别')
  await shot(boss, 'alert-levels')
  await nav(boss, '概览')
  await expectText(boss.getByTestId('dash-jobs'), '1')
  await shot(boss, 'dashboard-enterprise')

  // 6. The region admin sees their region only.
  step('the region admin sees only their region')
  const east = await newPage()
  await (await signIn(east, 'east-admin', eastOtp, 'east-passw0rd!'))(false)
  await nav(east, '打印点')
  await expectText(east.locator('main.content'), '前台')
  if (await east.locator('main.content').getByText('仓库', { exact: true }).count()) {
    throw new Error('the region admin sees a print point outside their region')
  }
  await shot(east, 'region-print-points')

  console.log('ADMIN WALK OK')
  await browser.close()
  process.exit(0)
} catch (e) {
  console.error(`walk failed at step ${n}: ${e.stack || e}`)
  await browser.close()
  process.exit(1)
}
