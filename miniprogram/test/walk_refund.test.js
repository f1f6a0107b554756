// The second walk: the printer is dead (the Rust test stopped it). The user pays with WeChat
// Pay, the gateway cannot print, and the page shows the job failed and refunded at once; the
// enterprise refunds to the wallet, so the wallet tab shows the money back. The subscription
// message is checked by the Rust test at the fake WeChat.
const path = require('node:path')
const { explained, page, press, until, text, record } = require('./harness')
const { newUserRegisters, uploadFromChat, scanThePrintPoint } = require('./walk')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))
const { yuan } = require(path.join(dist, 'lib/i18n.js'))

test('a paid job the printer cannot print is refunded to the wallet at once', explained(async () => {
  await newUserRegisters(`mp-walk-refund-${Date.now()}`, '退款君')
  const { id } = await uploadFromChat('letter.pdf', '通知.pdf')

  const release = await scanThePrintPoint()
  const total = release.data.totalFen
  expect(total).toBeGreaterThan(0)
  await press(release, '#pay-wechat')
  await until(() => record.payments.length === 1, 20000, 'the payment sheet')
  expect(record.subscriptions).toEqual([release.data.tmplIds])

  await until(() => release.data.watched.find((w) => w.id === id)?.state === 'failed', 120000, 'the failure')
  const shown = text(release)
  expect(shown).toContain('打印失败')
  expect(shown).toContain(`已退款 ${yuan(total)}`)
  const job = await call('get', '/api/v1/jobs/{id}', { path: { id } })
  expect([job.state, job.refunded_fen]).toEqual(['failed', total])
  release.instance.onHide()

  // The wallet tab: the refund is there.
  const wallet = page('wallet')
  wallet.instance.onShow()
  await until(() => text(wallet).includes(yuan(total)), 20000, 'the refund in the wallet')
  const server = await call('get', '/api/v1/wallet')
  expect(server.balance_fen).toBe(total)
}), 240000)
