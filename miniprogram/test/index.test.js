// The landing page: a new WeChat user is sent to choose the enterprise; a user bound on another
// phone (storage empty) is signed in by the wx.login code alone; a scanned QR URL carries on to
// the print point.
const path = require('node:path')
const { explained, world, page, until, lastNav, queryOf, record, useWechatUser } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))
const { session } = require(path.join(dist, 'lib/session.js'))
const { signInWithWechat } = require(path.join(dist, 'lib/sign_in.js'))

test('a new WeChat user is asked for the enterprise, keeping the scanned print point', explained(async () => {
  await useWechatUser(`mp-index-new-${Date.now()}`)
  page('index', { q: encodeURIComponent(world.print_point_url) })
  const nav = await until(() => lastNav(), 20000, 'a navigation')
  expect(nav.kind).toBe('redirectTo')
  expect(nav.url.split('?')[0]).toBe('/pages/enterprise/enterprise')
  expect(queryOf(nav.url).next).toBe(world.print_point_code)
  expect(session().accessToken).toBeUndefined()
}))

test('a returning WeChat user is signed in at once, without choosing', explained(async () => {
  const openid = `mp-index-back-${Date.now()}`
  await useWechatUser(openid)
  // First visit (another phone): choose the enterprise, register.
  const first = await signInWithWechat({ code: world.enterprise_code, name: world.enterprise_name })
  expect(first.kind).toBe('registration_required')
  const registered = await call('post', '/api/v1/users', {
    body: { enterprise_code: world.enterprise_code, display_name: '回头客', wechat_registration_token: first.registrationToken },
  })
  expect(registered.user.display_name).toBe('回头客')
  wx.clearStorageSync()

  record.nav.length = 0
  page('index')
  const nav = await until(() => lastNav(), 20000, 'a navigation')
  expect(nav).toEqual({ kind: 'switchTab', url: '/pages/documents/documents' })
  const me = await call('get', '/api/v1/me')
  expect(me.id).toBe(registered.user.id)
  // This phone learnt the enterprise too (the "me" page names it).
  expect([session().enterpriseCode, session().enterpriseName]).toEqual([world.enterprise_code, world.enterprise_name])
}))
