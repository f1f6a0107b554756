// What page tests share: the world the Rust test built (YUNYIN_WORLD), loading a built page
// with miniprogram-simulate, waiting on the real server, and the phone's script and record.
const fs = require('node:fs')
const path = require('node:path')
const simulate = require('miniprogram-simulate')
const { script, record, device, exchange } = require('./wx')

/**
 * The world (tests/tests/miniprogram.rs): `api_base`, `app_id`, `enterprise_code`,
 * `enterprise_name`, `print_point_url` (what its QR code says), `print_point_code`,
 * `print_point_id`, `gateway_credential` (the site's gateway, to upload scans as it does),
 * `scan_fen_per_page` (the print point's scan rate), `fixtures` (a folder of documents), and
 * whatever else a walk needs.
 */
const world = JSON.parse(process.env.YUNYIN_WORLD || '{}')
const dist = path.join(__dirname, '..', 'dist')

// The built config talks to the server under test.
require(path.join(dist, 'config.js')).config.apiBase = world.api_base
require(path.join(dist, 'config.js')).config.appId = world.app_id

/**
 * Wraps a test body so a failure says what it was: errors made in the pages' realm (ApiError
 * and friends) otherwise reach jest's report as an empty message.
 */
function explained(body) {
  return async () => {
    try {
      await body()
    } catch (e) {
      const detail = e && typeof e === 'object' ? `${e.name || 'Error'}: ${e.message} ${e.code ? `(${e.code}, HTTP ${e.status})` : ''}\n${e.stack || ''}` : String(e)
      throw new Error(detail)
    }
  }
}

const loaded = {}

/** Loads and renders a page (`documents` → dist/pages/documents/documents), attached to a document. */
function page(name, query = {}, { load = true } = {}) {
  // Loaded once per page and test file, each in its own module registry: jest keeps modules it
  // has run (simulate's cache-busting does not reach jest's registry), so a second page using
  // the same Vant components would otherwise find no definition. Pages then hold their own
  // copies of lib/ (state lives in wx storage), each pointed at the server under test.
  if (!loaded[name]) {
    jest.isolateModules(() => {
      const { config } = require(path.join(dist, 'config.js'))
      config.apiBase = world.api_base
      config.appId = world.app_id
      loaded[name] = simulate.load(path.join(dist, 'pages', name, name), { rootPath: dist })
    })
  }
  const id = loaded[name]
  const comp = simulate.render(id)
  const parent = document.createElement('parent-wrapper')
  comp.attach(parent)
  if (load && comp.instance.onLoad) comp.instance.onLoad(query)
  return comp
}

/** Waits until `check()` is truthy (it may be async), up to `ms`. */
async function until(check, ms = 20000, what = 'condition') {
  const end = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The last navigation a page asked for. */
const lastNav = () => record.nav[record.nav.length - 1]

/** The query of a page URL as an object (`/pages/x/x?a=1` → { a: '1' }). */
function queryOf(url) {
  const q = {}
  for (const [k, v] of new URLSearchParams(url.split('?')[1] || '')) q[k] = v
  return q
}

/** The text the page shows (for assertions on what a user would read). */
const text = (comp) => comp.dom.textContent.replace(/\s+/g, ' ').trim()

/** Finds a rendered element by CSS selector within the page; throws when absent. */
function el(comp, selector) {
  const found = comp.querySelector(selector)
  if (!found) throw new Error(`no ${selector} on the page`)
  return found
}

/** The phone switches WeChat user (a fresh openid: a new WeChat user). */
const useWechatUser = (openid) => device('/user', { openid })

/** Taps a Vant button as a finger does: on the native button inside it (a disabled one ignores it). */
async function press(comp, selector) {
  el(comp, selector).querySelector('.van-button').dispatchEvent('tap')
  await simulate.sleep(0)
}

/** Types into a Vant field: its input reports what the user typed. */
async function type(comp, selector, value) {
  el(comp, selector).querySelector('.input-class').dispatchEvent('input', { detail: { value } })
  await simulate.sleep(0)
}

/** A module of the built mini-program's lib/ (`api`, `i18n`, `session`, `sign_in`, …). */
const lib = (name) => require(path.join(dist, 'lib', `${name}.js`))

let users = 0
/**
 * A new WeChat user registers under the world's enterprise, as the enterprise and register pages
 * do, and is signed in on this phone; the user.
 */
async function signUp(displayName) {
  users += 1
  const file = path.basename(expect.getState().testPath || 'test', '.test.js')
  await useWechatUser(`mp-${file}-${Date.now()}-${users}`)
  const enterprise = { code: world.enterprise_code, name: world.enterprise_name }
  const first = await lib('sign_in').signInWithWechat(enterprise)
  const s = await lib('api').call('post', '/api/v1/users', {
    body: { enterprise_code: enterprise.code, display_name: displayName, wechat_registration_token: first.registrationToken },
  })
  lib('api').remember(s, enterprise)
  return s.user
}

let scans = 0
/**
 * The gateway uploads a scan that the print point's MFP sent it (as its FTP server does), with
 * the gateway's own credential: `fixture` from the world's fixtures, named `fileName` by the MFP,
 * reaching the gateway at `scannedAt`. The server's record of it.
 */
async function gatewayScan(fixture, fileName, scannedAt = Date.now()) {
  scans += 1
  const body = fs.readFileSync(path.join(world.fixtures, fixture))
  const query = new URLSearchParams({
    print_point_id: world.print_point_id, scan_id: `mp-scan-${Date.now()}-${scans}`, file_name: fileName,
    scanned_at: String(scannedAt),
  })
  const r = await exchange('POST', `${world.api_base}/api/v1/gateway/scans?${query}`, {
    authorization: `Bearer ${world.gateway_credential}`, 'content-type': 'application/octet-stream', 'content-length': body.length,
  }, body)
  const answer = JSON.parse(r.body.toString('utf8') || '{}')
  if (r.status !== 201) throw new Error(`the gateway's upload: HTTP ${r.status} ${JSON.stringify(answer)}`)
  return answer
}

/** An unauthenticated GET (a share link, as whoever it was sent to opens it): status and bytes. */
async function fetchPublic(url) {
  const r = await exchange('GET', url, {})
  return { status: r.status, body: r.body }
}

module.exports = { gatewayScan, fetchPublic, explained, press, type, lib, signUp, world, page, until, lastNav, queryOf, text, el, script, record, device, useWechatUser, simulate }
