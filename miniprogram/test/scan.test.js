// The scan tab: scanning a print point's QR code (or typing its code) opens its release page;
// a QR code that is not a print point's says so.
const path = require('node:path')
const { explained, type, press, signUp, world, page, until, lastNav, queryOf, text, el, script, record } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))

beforeAll(explained(() => signUp('扫码君')))
beforeEach(() => {
  record.nav.length = 0
})

test('scanning the print point opens its release page', explained(async () => {
  const comp = page('scan')
  comp.instance.onShow()
  expect(record.nav).toEqual([])
  script.scans.push(world.print_point_url)
  el(comp, '#scan').dispatchEvent('tap')
  const nav = await until(() => lastNav(), 5000, 'a navigation')
  expect(nav.kind).toBe('navigateTo')
  expect(nav.url.split('?')[0]).toBe('/pages/release/release')
  expect(queryOf(nav.url).code).toBe(world.print_point_code)
  // The page it opens knows the print point.
  const view = await call('get', '/api/v1/release/{code}', { path: { code: queryOf(nav.url).code } })
  expect(view.print_point.name).toBeTruthy()
}))

test('a QR code that is not a print point says so; cancelling does nothing', explained(async () => {
  const comp = page('scan')
  comp.instance.onShow()
  script.scans.push('https://example.com/hello?x=1')
  el(comp, '#scan').dispatchEvent('tap')
  await until(() => text(comp).includes('这不是云印打印点的二维码'), 5000, 'the message')
  expect(record.nav).toEqual([])

  // No scan scripted: the user closed the scanner. Waited on the handler itself: nothing opens
  // and nothing is said.
  comp.setData({ error: '' })
  await comp.instance.scan()
  expect(record.nav).toEqual([])
  expect(comp.data.error).toBe('')
}))

test('typing the print point code opens its release page', explained(async () => {
  const comp = page('scan')
  comp.instance.onShow()
  await type(comp, '#code', world.print_point_code)
  await press(comp, '#go')
  const nav = await until(() => lastNav(), 5000, 'a navigation')
  expect(nav).toEqual({ kind: 'navigateTo', url: `/pages/release/release?code=${world.print_point_code}` })
}))

test('a signed-out user is sent to sign in', explained(async () => {
  wx.clearStorageSync()
  const comp = page('scan')
  comp.instance.onShow()
  expect(lastNav()).toEqual({ kind: 'reLaunch', url: '/pages/index/index' })
}))
