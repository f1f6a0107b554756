// The enterprise page: a new WeChat user finds the enterprise by its code and goes on to
// register (keeping the print point they scanned); a user already bound there finds it by name
// and is signed in; an unknown code is said to be unknown.
const path = require('node:path')
const { explained, type, press, world, page, until, lastNav, queryOf, text, el, record, useWechatUser, simulate } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))
const { session } = require(path.join(dist, 'lib/session.js'))
const { signInWithWechat } = require(path.join(dist, 'lib/sign_in.js'))
const enterprise = { code: world.enterprise_code, name: world.enterprise_name }

beforeEach(() => {
  record.nav.length = 0
})

test('a new WeChat user finds the enterprise by code and goes on to register, keeping the print point', explained(async () => {
  await useWechatUser(`mp-enterprise-new-${Date.now()}`)
  const comp = page('enterprise', { next: world.print_point_code })
  comp.instance.onShow()
  await simulate.sleep(0)
  expect(text(comp)).toContain('选择企业')

  await type(comp, '#code', world.enterprise_code)
  await press(comp, '#by-code')
  const nav = await until(() => lastNav(), 20000, 'a navigation')
  expect(nav.kind).toBe('redirectTo')
  expect(nav.url.split('?')[0]).toBe('/pages/register/register')
  const q = queryOf(nav.url)
  expect(q.code).toBe(enterprise.code)
  expect(q.name).toBe(enterprise.name)
  expect(q.next).toBe(world.print_point_code)
  expect(session().accessToken).toBeUndefined()

  // The token it carries is the server's: registering with it works.
  const s = await call('post', '/api/v1/users', {
    body: { enterprise_code: enterprise.code, display_name: '新来的', wechat_registration_token: q.token },
  })
  expect(s.user.display_name).toBe('新来的')
}))

test('a WeChat user already bound there finds it by name and is signed in', explained(async () => {
  await useWechatUser(`mp-enterprise-back-${Date.now()}`)
  const first = await signInWithWechat(enterprise)
  const s = await call('post', '/api/v1/users', {
    body: { enterprise_code: enterprise.code, display_name: '老朋友', wechat_registration_token: first.registrationToken },
  })
  // A new phone: nothing remembered.
  wx.clearStorageSync()

  const comp = page('enterprise')
  const search = el(comp, '#search').querySelector('.van-search__field').querySelector('.input-class')
  search.dispatchEvent('input', { detail: { value: enterprise.name } })
  await until(() => comp.querySelector('.found'), 20000, 'search results')
  expect(text(comp)).toContain(enterprise.code)

  el(comp, '.found').querySelector('.van-cell').dispatchEvent('tap')
  const nav = await until(() => lastNav(), 20000, 'a navigation')
  expect(nav).toEqual({ kind: 'switchTab', url: '/pages/documents/documents' })
  expect(session().enterpriseCode).toBe(enterprise.code)
  const me = await call('get', '/api/v1/me')
  expect(me.id).toBe(s.user.id)
}))

test('an unknown enterprise code is said to be unknown', explained(async () => {
  await useWechatUser(`mp-enterprise-lost-${Date.now()}`)
  wx.clearStorageSync()
  const unknown = 'NOSUCHCO9'
  const expected = await call('get', '/api/v1/directory/enterprises/by-code/{code}', { path: { code: unknown } })
    .then(() => undefined, (e) => e.message)
  expect(expected).toBeTruthy()

  const comp = page('enterprise')
  await type(comp, '#code', unknown)
  await press(comp, '#by-code')
  await until(() => text(comp).includes(expected), 20000, 'the error')
  expect(record.nav).toEqual([])
}))
