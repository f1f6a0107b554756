// Bills and commissions in the admin console (issue 17), walked in headless Chromium against a
// real server, started by `tests/tests/bills_browser.rs` (which runs the fake WeChat Pay and
// answers on stdin what the walk asks on stdout, a line each). Environment:
//   YY_BASE                          the server
//   YY_PERIOD                        the billed month, YYYY-MM
//   YY_PAYER, YY_PAYER_PASSWORD      the leasing enterprise's super admin (password set)
//   YY_LESSOR, YY_LESSOR_PASSWORD    the lessor provider's super admin (password set)
//   YY_SHOTS                         where the screenshots go
// Prints "BILLS OK" and exits 0 when every step passed.
import readline from 'node:readline'
import { chromium } from 'playwright-core'

const env = process.env
const base = env.YY_BASE
let n = 0
const step = (name) => console.error(`step ${++n}: ${name}`)
const DESK = { width: 1280, height: 800 }
const PHONE = { width: 360, height: 640 }

const replies = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]()
async function ask(verb, arg) {
  console.log(`${verb} ${JSON.stringify(arg)}`)
  const { value, done } = await replies.next()
  if (done) throw new Error(`no answer to ${verb}`)
  return value
}

const browser = await chromium.launch({
  executablePath: env.YY_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
})
let shots = 0
const shot = async (p, name) => {
  await p.waitForTimeout(400)
  const { width, height } = p.viewportSize()
  return p.screenshot({ path: `${env.YY_SHOTS}/${String(++shots).padStart(2, '0')}-${name}-${width}x${height}.png`, fullPage: true })
}
function check(ok, what) {
  if (!ok) throw new Error(`expected: ${what}`)
}

async function signedIn(viewport, username, password) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' })
  const p = await context.newPage()
  p.setDefaultTimeout(30_000)
  p.on('pageerror', (e) => console.error(`page error: ${e.message}`))
  await p.goto(`${base}/m/admin/`)
  await p.waitForURL(/\/m\/admin\/signin/)
  await p.getByLabel('登录名').fill(username)
  await p.getByLabel('密码', { exact: true }).fill(password)
  await p.getByRole('button', { name: '登录' }).click()
  await p.waitForURL((u) => u.pathname === '/m/admin' || u.pathname === '/m/admin/')
  return p
}

try {
  step('the enterprise admin opens last month\'s bills from the menu')
  const payer = await signedIn(DESK, env.YY_PAYER, env.YY_PAYER_PASSWORD)
  await payer.getByRole('link', { name: '账单与分润' }).click()
  await payer.waitForURL(/\/m\/admin\/bills/)
  await payer.getByTestId('bill-period').fill(env.YY_PERIOD)
  const row = payer.locator('tr.clickable', { hasText: '租赁' })
  await row.waitFor()
  check((await row.textContent()).includes('500.00'), 'the lease bill of 500.00 is listed')
  await row.click()
  const bill = payer.getByTestId('bill')
  await bill.waitFor()
  check((await bill.textContent()).includes('月租'), 'its lines show the monthly fee')
  await shot(payer, 'bill')

  step('pays it with WeChat Pay: a QR code, then paid by itself')
  await payer.getByRole('button', { name: '微信支付' }).click()
  await payer.getByTestId('pay-qr').waitFor()
  await shot(payer, 'pay-qr')
  const paid = await ask('PAY', { period: env.YY_PERIOD })
  check(paid === 'PAID', 'the test paid the order')
  await payer.getByTestId('bill-state').filter({ hasText: /^已支付$/ }).waitFor({ timeout: 20_000 })
  await shot(payer, 'paid')
  check(await payer.getByRole('button', { name: '微信支付' }).count() === 0, 'a paid bill offers no payment')

  step('the lessor sees it paid and credits part of it, on a phone')
  const lessor = await signedIn(PHONE, env.YY_LESSOR, env.YY_LESSOR_PASSWORD)
  await lessor.goto(`${base}/m/admin/bills?period=${env.YY_PERIOD}`)
  const lessorRow = lessor.locator('tr.clickable', { hasText: '租赁' })
  await lessorRow.waitFor()
  check((await lessorRow.textContent()).includes('已支付'), 'the lessor sees the bill paid')
  await lessorRow.click()
  await lessor.getByTestId('bill').waitFor()
  await lessor.locator('input[name=reason]').fill('停机一天')
  await lessor.locator('input[name=credit]').fill('16.67')
  await lessor.getByRole('button', { name: '开红字（冲减）' }).click()
  await lessor.getByTestId('bill').filter({ hasText: /^红字 · / }).waitFor()
  const statement = lessor.getByTestId('statement')
  await statement.waitFor()
  await shot(lessor, 'credit-note')

  step('the lessor sets a commission rule and leases the machine again for next year')
  await lessor.goto(`${base}/m/admin/leasing`)
  const ruleForm = lessor.getByTestId('rule-form')
  await ruleForm.waitFor()
  await ruleForm.locator('select[name=kind]').selectOption('top_up')
  await ruleForm.locator('input[name=rate]').fill('5')
  await lessor.getByRole('button', { name: '设置规则' }).click()
  await lessor.getByText('5.00%').waitFor()
  const next = new Date().getFullYear() + 1
  const leaseForm = lessor.getByTestId('lease-form')
  await leaseForm.locator('select[name=point]').selectOption({ index: 0 })
  await leaseForm.locator('input[name=fee]').fill('300')
  await leaseForm.locator('input[name=mono]').fill('2000')
  await leaseForm.locator('input[name=mono-over]').fill('0.05')
  await leaseForm.locator('input[name=starts]').fill(`${next}-01-01`)
  await leaseForm.locator('input[name=ends]').fill(`${next}-12-31`)
  await lessor.getByRole('button', { name: '签订合同' }).click()
  await lessor.getByText('¥300.00').waitFor()
  await shot(lessor, 'leasing')
  console.log('BILLS OK')
  await browser.close()
  // stdin (the test's answers) would keep the process alive.
  process.exit(0)
} catch (e) {
  console.error(`walk failed at step ${n}: ${e.stack || e}`)
  await browser.close()
  process.exit(1)
}
