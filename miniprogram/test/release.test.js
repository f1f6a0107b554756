// The release page, opened from a print point's QR code: a signed-out user is sent to sign in
// first (keeping the scan); a signed-in one sees the print point, their ready jobs all chosen and
// the total, can leave some out, and starting WeChat Pay asks for the subscription messages and
// hands WeChat the server's JSAPI parameters (cancelled here: the walks pay and print).
const path = require('node:path')
const { explained, press, signUp, world, page, until, lastNav, queryOf, text, el, script, record } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call, upload } = require(path.join(dist, 'lib/api.js'))
const { yuan } = require(path.join(dist, 'lib/i18n.js'))

const job = (id) => call('get', '/api/v1/jobs/{id}', { path: { id } })
const opened = { q: encodeURIComponent(world.print_point_url) }

let comp
afterEach(() => {
  comp?.instance.onHide()
  comp?.detach()
  comp = undefined
})

test('a signed-out user is sent to sign in, keeping the scanned print point', explained(async () => {
  wx.clearStorageSync()
  record.nav.length = 0
  comp = page('release', opened)
  const nav = lastNav()
  expect(nav.kind).toBe('reLaunch')
  expect(nav.url.split('?')[0]).toBe('/pages/index/index')
  expect(queryOf(nav.url).q).toBe(world.print_point_url)
}))

test('the ready jobs are listed, all chosen, with the total; one can be left out', explained(async () => {
  await signUp('放行君')
  const uploaded = await upload(path.join(world.fixtures, 'letter.pdf'), '放行.pdf', () => {})
  await until(async () => (await job(uploaded.id)).state === 'ready', 45000, 'the job ready')
  const view = await call('get', '/api/v1/release/{code}', { path: { code: world.print_point_code } })
  expect(view.jobs.map((j) => j.job.id)).toEqual([uploaded.id])

  comp = page('release', opened)
  await until(() => text(comp).includes(view.print_point.name), 20000, 'the print point')
  expect(text(comp)).toContain('放行.pdf')
  expect(view.available).toBe(true)
  expect(text(el(comp, '#total'))).toBe(yuan(view.total_fen))
  expect(text(el(comp, '#pay-wallet'))).toContain(yuan(view.balance_fen))

  // Leave it out: nothing to pay; put it back.
  const pick = () => el(comp, `#pick-${uploaded.id}`).querySelector('.van-checkbox__icon-wrap').dispatchEvent('tap')
  pick()
  await until(() => text(el(comp, '#total')) === yuan(0), 5000, 'a zero total')
  expect(comp.data.chosen).toEqual([])
  pick()
  await until(() => text(el(comp, '#total')) === yuan(view.total_fen), 5000, 'the total again')

  // Nothing was released or charged by looking.
  expect((await job(uploaded.id)).state).toBe('ready')
}), 90000)

test('WeChat Pay asks for the messages first and hands WeChat the JSAPI parameters', explained(async () => {
  const view = await call('get', '/api/v1/release/{code}', { path: { code: world.print_point_code } })
  // The world's print point is online and priced: there is something to pay.
  expect(view.available).toBe(true)
  expect(view.total_fen).toBeGreaterThan(0)
  const { templates } = await call('get', '/api/v1/subscribe-templates')
  script.cancelPayment = true
  script.subscribe = 'reject'
  try {
    comp = page('release', opened)
    await until(() => comp.data.loaded && comp.data.tmplIds.length === templates.length, 20000, 'the page')
    await press(comp, '#pay-wechat')
    await until(() => record.toasts.includes('已取消支付'), 20000, 'the cancellation')
  } finally {
    script.cancelPayment = false
    script.subscribe = 'accept'
  }
  // The world's mini-program has both templates: both were asked for before paying.
  expect(templates.map((t) => t.event).sort()).toEqual(['failed', 'printed'])
  expect(record.subscriptions).toEqual([templates.map((t) => t.template_id)])
  expect(record.payments).toHaveLength(1)
  expect(record.payments[0].package).toMatch(/^prepay_id=/)
  expect(record.payments[0].paySign).toBeTruthy()
  // Cancelled: the job waits, unpaid.
  expect((await job(view.jobs[0].job.id)).state).toBe('ready')
  expect(comp.data.watched).toEqual([])
}))
