// The walk: a new WeChat user signs in, registers under the enterprise, sends a document from a
// chat, sets its options, scans the print point's QR code and pays with WeChat Pay; the job
// prints (the Rust test checks ippeveprinter got it). Also counts the requests from the scan
// to "printing" for BENCHMARKS.md.
const fs = require('node:fs')
const path = require('node:path')
const { explained, world, page, press, until, text, el, record } = require('./harness')
const { next, newUserRegisters, uploadFromChat, scanThePrintPoint } = require('./walk')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))

test('sign in, register, upload a chat file, set options, scan, pay with WeChat Pay: it prints', explained(async () => {
  await newUserRegisters(`mp-walk-pay-${Date.now()}`, '走查员')
  const { id } = await uploadFromChat('report.pdf', '季度报告.pdf')

  // Options: two copies, saved, priced.
  const options = page('options', { id })
  await until(() => text(options).includes('季度报告.pdf'), 20000, 'the options page')
  el(options, '#copies').querySelector('.van-stepper__plus').dispatchEvent('tap')
  await until(async () => (await call('get', '/api/v1/jobs/{id}', { path: { id } })).options.copies === 2, 20000, 'two copies')
  await press(options, '#save')
  await next('navigateBack')
  const priced = await call('get', '/api/v1/jobs/{id}', { path: { id } })

  // At the printer: scan, see the job and its total, pay with WeChat Pay.
  const scanFrom = record.requests.length
  const release = await scanThePrintPoint()
  expect(text(release)).toContain('季度报告.pdf')
  expect(release.data.chosen).toEqual([id])
  expect(release.data.totalFen).toBeGreaterThan(0)
  expect(release.data.totalFen).toBe(priced.quote_fen)
  await press(release, '#pay-wechat')
  // Asked to allow the messages before paying, then WeChat paid the server's JSAPI parameters.
  await until(() => record.payments.length === 1, 20000, 'the payment sheet')
  expect(record.subscriptions).toEqual([release.data.tmplIds])
  expect(record.payments[0].package).toMatch(/^prepay_id=/)
  const printing = await until(() => release.data.watched.find((w) => w.id === id), 60000, 'the job on its way')
  const scanToPrinting = record.requests.slice(scanFrom)

  // Followed to the end on the page.
  await until(() => release.data.watched.find((w) => w.id === id)?.state === 'completed', 90000, 'printed')
  expect(text(release)).toContain('打印完成')
  const done = await call('get', '/api/v1/jobs/{id}', { path: { id } })
  expect(done.state).toBe('completed')
  expect(done.charged_fen).toBe(priced.quote_fen)
  expect(printing.id).toBe(id)

  fs.mkdirSync(world.report, { recursive: true })
  fs.writeFileSync(path.join(world.report, 'scan-to-printing.json'), JSON.stringify({
    requests: scanToPrinting.length, list: scanToPrinting,
  }, null, 2))
  release.instance.onHide()
}), 240000)
