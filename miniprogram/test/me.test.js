// The me tab: who is signed in and where; the language switch changes the words at once; signing
// out ends the session at the server too and goes back to the start.
const path = require('node:path')
const { explained, press, signUp, world, page, until, lastNav, text, el, record, simulate } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call, send } = require(path.join(dist, 'lib/api.js'))
const { lang } = require(path.join(dist, 'lib/i18n.js'))
const { session } = require(path.join(dist, 'lib/session.js'))
const enterprise = { code: world.enterprise_code, name: world.enterprise_name }

test('shows who is signed in, switches language, and signs out at the server too', explained(async () => {
  await signUp('我自己')
  const comp = page('me')
  comp.instance.onShow()
  await until(() => text(el(comp, '#name')) === '我自己', 20000, 'the name')
  expect(text(comp)).toContain(enterprise.name)
  expect(text(comp)).toContain('退出登录')

  // English, then back.
  const language = () => el(comp, '#language').querySelector('.van-cell').dispatchEvent('tap')
  language()
  await until(() => text(comp).includes('Sign out'), 5000, 'English')
  expect(lang()).toBe('en')
  expect(text(comp)).toContain('Language')
  // Another page shown after it speaks English too.
  const other = page('wallet', {}, { load: false })
  other.instance.onShow()
  await simulate.sleep(0)
  expect(text(other)).toContain('Balance')
  other.detach()
  language()
  await until(() => text(comp).includes('退出登录'), 5000, 'Chinese again')
  expect(lang()).toBe('zh-CN')

  // Sign out: the refresh token no longer works at the server.
  const old = session().refreshToken
  record.nav.length = 0
  await press(comp, '#sign-out')
  const nav = await until(() => lastNav(), 20000, 'a navigation')
  expect(nav).toEqual({ kind: 'reLaunch', url: '/pages/index/index' })
  expect(record.modals).toContain('确定退出登录？')
  expect(session().accessToken).toBeUndefined()
  expect(session().enterpriseCode).toBe(enterprise.code)
  const refused = await call('post', '/api/v1/sessions/refresh', { body: { refresh_token: old } }).then(() => undefined, (e) => e)
  expect(refused).toBeTruthy()
  expect([400, 401]).toContain(refused.status)
}))

test('offers only what the edition includes: no scan records without scan to cloud', explained(async () => {
  // The platform puts the enterprise on an edition without scan to cloud, and back after.
  const admin = async (method, p, body) => {
    const r = await send(method, `${world.api_base}${p}`, body, world.admin_token)
    return { status: r.status, body: r.data }
  }
  const made = await admin('POST', '/api/v1/editions', { name: `无扫描版 ${Date.now()}`, modules: ['cloud_print', 'mini_program', 'wechat_payment'] })
  expect(made.status).toBe(201)
  const onEdition = (id) => admin('PUT', `/api/v1/enterprises/${world.enterprise_id}/edition`, { edition_id: id })
  expect((await onEdition(made.body.id)).status).toBe(200)
  try {
    await signUp('版本用户')
    const comp = page('me')
    comp.instance.onShow()
    await until(() => text(el(comp, '#name')) === '版本用户', 20000, 'the name')
    expect(comp.querySelector('#scans')).toBeFalsy()
    expect(text(comp)).not.toContain('扫描记录')
  } finally {
    expect((await onEdition(null)).status).toBe(200)
  }
}))
