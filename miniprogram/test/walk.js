// Steps the two walks share, taken through the pages as a user's fingers would.
const path = require('node:path')
const { world, page, press, type, until, lastNav, queryOf, el, script, record, useWechatUser } = require('./harness')

/** The next page a navigation asked for: its name and query. */
async function next(kind) {
  const nav = await until(() => lastNav(), 20000, `a ${kind}`)
  expect(nav.kind).toBe(kind)
  record.nav.length = 0
  const name = nav.url.split('?')[0].split('/').pop()
  return { name, query: queryOf(nav.url) }
}

/**
 * A new WeChat user opens the mini-program, chooses the enterprise by its code and registers:
 * landing → enterprise → register → the documents tab.
 */
async function newUserRegisters(openid, displayName) {
  await useWechatUser(openid)
  wx.clearStorageSync()
  record.nav.length = 0
  page('index')
  let to = await next('redirectTo')
  expect(to.name).toBe('enterprise')
  const chooser = page('enterprise', to.query)
  await type(chooser, '#code', world.enterprise_code)
  await press(chooser, '#by-code')
  to = await next('redirectTo')
  expect(to.name).toBe('register')
  const form = page('register', to.query)
  await type(form, '#display-name', displayName)
  await press(form, '#register')
  to = await next('switchTab')
  expect(to.name).toBe('documents')
}

/** Sends a file "from a chat" on the documents tab; waits until it is ready there. */
async function uploadFromChat(fixture, name) {
  const docs = page('documents')
  docs.instance.onShow()
  script.files.push({ path: path.join(world.fixtures, fixture), name })
  await press(docs, '#from-chat')
  const job = await until(() => docs.data.jobs.find((j) => j.name === name || j.file_name === name), 30000, 'the upload listed')
  await until(() => docs.data.jobs.find((j) => j.id === job.id)?.state === 'ready', 60000, 'the upload ready')
  docs.instance.onHide()
  return { docs, id: job.id }
}

/** Scans the print point's QR code on the scan tab; the release page it opens, loaded. */
async function scanThePrintPoint() {
  const scanner = page('scan')
  scanner.instance.onShow()
  script.scans.push(world.print_point_url)
  el(scanner, '#scan').dispatchEvent('tap')
  const to = await next('navigateTo')
  expect(to).toEqual({ name: 'release', query: { code: world.print_point_code } })
  const release = page('release', to.query)
  await until(() => release.data.loaded && release.data.tmplIds.length > 0, 20000, 'the release page')
  return release
}

module.exports = { next, newUserRegisters, uploadFromChat, scanThePrintPoint }
