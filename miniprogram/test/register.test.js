// The register page: a new WeChat user picks a display name (required) and is registered under
// the enterprise they chose, going on to the print point they scanned; someone who already has
// an account there signs in with it instead, which binds their WeChat to it.
const path = require('node:path')
const { explained, type, press, world, page, until, lastNav, queryOf, text, el, record, useWechatUser, simulate } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))
const { session } = require(path.join(dist, 'lib/session.js'))
const { signInWithWechat } = require(path.join(dist, 'lib/sign_in.js'))
const enterprise = { code: world.enterprise_code, name: world.enterprise_name }

/** The register page as the enterprise page opens it, for a WeChat user new to the server. */
async function registerPage(openid, extra = {}) {
  await useWechatUser(openid)
  wx.clearStorageSync()
  const outcome = await signInWithWechat(enterprise)
  expect(outcome.kind).toBe('registration_required')
  record.nav.length = 0
  return page('register', {
    token: encodeURIComponent(outcome.registrationToken),
    code: encodeURIComponent(enterprise.code),
    name: encodeURIComponent(enterprise.name),
    ...extra,
  })
}

test('a new WeChat user registers with a display name and goes on to the print point', explained(async () => {
  const comp = await registerPage(`mp-register-new-${Date.now()}`, { next: world.print_point_code })
  await simulate.sleep(0)
  expect(text(comp)).toContain(enterprise.name)

  // The display name is required.
  await press(comp, '#register')
  await until(() => text(comp).includes('请填写昵称'), 5000, 'the hint')
  expect(record.nav).toEqual([])

  await type(comp, '#display-name', '小王')
  await press(comp, '#register')
  const nav = await until(() => lastNav(), 20000, 'a navigation')
  expect(nav.kind).toBe('redirectTo')
  expect(nav.url.split('?')[0]).toBe('/pages/release/release')
  expect(queryOf(nav.url).code).toBe(world.print_point_code)

  expect(session().enterpriseCode).toBe(enterprise.code)
  expect(session().enterpriseName).toBe(enterprise.name)
  const me = await call('get', '/api/v1/me')
  expect(me.display_name).toBe('小王')
  // WeChat is bound: the next sign-in needs no registering.
  wx.clearStorageSync()
  expect((await signInWithWechat()).kind).toBe('signed_in')
  expect((await call('get', '/api/v1/me')).id).toBe(me.id)
}))

test('someone with an account signs in with it instead, binding WeChat to it', explained(async () => {
  // The account, made on the web with a password.
  wx.clearStorageSync()
  const username = `mpbind${Date.now()}`
  const account = await call('post', '/api/v1/users', {
    body: { enterprise_code: enterprise.code, username, password: 'Secret123', display_name: '老用户' },
  })

  const comp = await registerPage(`mp-register-bind-${Date.now()}`)
  el(comp, '#toggle').dispatchEvent('tap')
  await until(() => comp.querySelector('#login'), 5000, 'the sign-in fields')
  expect(text(comp)).toContain('登录后，微信将绑定到这个账号')

  await type(comp, '#login', username)
  await type(comp, '#password', 'Secret123')
  await press(comp, '#sign-in')
  const nav = await until(() => lastNav(), 20000, 'a navigation')
  expect(nav).toEqual({ kind: 'switchTab', url: '/pages/documents/documents' })
  expect((await call('get', '/api/v1/me')).id).toBe(account.user.id)

  // From now on WeChat alone signs them in to that account.
  wx.clearStorageSync()
  expect((await signInWithWechat()).kind).toBe('signed_in')
  expect((await call('get', '/api/v1/me')).id).toBe(account.user.id)
}))

test('a wrong password says so and stays', explained(async () => {
  const comp = await registerPage(`mp-register-wrong-${Date.now()}`)
  el(comp, '#toggle').dispatchEvent('tap')
  await until(() => comp.querySelector('#login'), 5000, 'the sign-in fields')
  await type(comp, '#login', `nobody${Date.now()}`)
  await type(comp, '#password', 'Wrong1234')
  await press(comp, '#sign-in')
  await until(() => comp.data.error, 20000, 'an error')
  expect(text(comp)).toContain(comp.data.error)
  expect(record.nav).toEqual([])
  expect(session().accessToken).toBeUndefined()
}))
