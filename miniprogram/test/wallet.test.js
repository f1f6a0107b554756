// The wallet tab: the balance and statement; topping up ¥10 with WeChat Pay (the scripted phone
// pays the JSAPI order) credits the wallet once the server has the payment; a bad amount and a
// cancelled payment change nothing.
const path = require('node:path')
const { explained, type, press, signUp, page, until, text, el, script, record } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))

const balance = (comp) => text(el(comp, '#balance'))
const wallet = () => call('get', '/api/v1/wallet')

test('topping up ¥10 with WeChat Pay credits the wallet', explained(async () => {
  await signUp('钱包君')
  const comp = page('wallet')
  comp.instance.onShow()
  await until(() => balance(comp) === '¥0.00', 20000, 'the balance')
  expect(text(comp)).toContain('暂无账单')

  await press(comp, '#top-up-10')
  await until(() => record.payments.length === 1, 20000, 'the payment sheet')
  expect(record.payments[0].package).toMatch(/^prepay_id=/)
  expect(record.payments[0].signType).toBe('RSA')
  await until(() => balance(comp) === '¥10.00', 45000, 'the new balance')
  expect(record.toasts).toContain('充值成功')

  // The server holds it: the order paid, the wallet credited once.
  const polled = record.requests.find((r) => r.startsWith('GET /api/v1/payment-orders/'))
  const order = await call('get', '/api/v1/payment-orders/{id}', { path: { id: polled.split('/').pop() } })
  expect(order).toMatchObject({ state: 'paid', amount_fen: 1000, provider: 'wechat_pay', method: 'jsapi', purpose: 'top_up' })
  const w = await wallet()
  expect(w.balance_fen).toBe(1000)
  expect(w.entries.map((e) => [e.kind, e.amount_fen])).toEqual([['top_up', 1000]])
  expect(text(comp)).toContain('+¥10.00')
  comp.detach()
}), 90000)

test('a bad amount and a cancelled payment change nothing', explained(async () => {
  const comp = page('wallet')
  comp.instance.onShow()
  await until(() => balance(comp) === '¥10.00', 20000, 'the balance')
  const paymentsBefore = record.payments.length

  await type(comp, '#other', '0.5')
  await press(comp, '#top-up-other')
  await until(() => text(comp).includes('请输入 1 到 50000 元的金额'), 5000, 'the hint')
  expect(record.payments).toHaveLength(paymentsBefore)

  script.cancelPayment = true
  try {
    await press(comp, '#top-up-20')
    await until(() => record.toasts.includes('已取消支付'), 20000, 'the cancellation')
  } finally {
    script.cancelPayment = false
  }
  expect(record.payments).toHaveLength(paymentsBefore + 1)
  expect((await wallet()).balance_fen).toBe(1000)
  expect(balance(comp)).toBe('¥10.00')
  comp.detach()
}), 60000)
